"""What the reply check adds to resolving a case, on real messages and replies.

    nice .venv/bin/python bench/bench_reply_check.py [--cases 300] [--backend sqlite|postgresql]

Builds a city (the demo catalogue) in a fresh database, takes ``--cases`` message–reply pairs
of ``../shared/data/gov_message_board/messages_with_replies.csv`` (the first rows), files
each message as a voice and starts its case (twice: twin cases), and builds the reply
reference from all of the file's replies (as the job runner would from the city's own).
Then it resolves every case with its real reply through ``resolve_case`` (the use case the
pages, the API and Open311 share), one after another: one twin as shipped, the other with
the reply check switched off, alternating, so both see the same machine. Prints p50/p95 of
each and of the check alone (``check_reply``). The issue's target: the check adds under 20 ms
to resolving.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_concerns import fresh_database

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gov_message_board"


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    path = DATA / "messages_with_replies.csv"
    if not path.exists():
        sys.exit(f"real data not present: {path}")

    from civicpulse.demo.seed import demo_catalogue
    from civicpulse.domain.roles import SYSTEM, Actor, Role
    from civicpulse.infra.context import Context
    from civicpulse.services import cases as case_service
    from civicpulse.services import reply_checks
    from civicpulse.services.cases import assign_case, resolve_case, start_case
    from civicpulse.services.catalogue import import_catalogue
    from civicpulse.services.voices import VoiceInput, submit_voice
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database
    from civicpulse.storage.migrate import upgrade
    from civicpulse.understanding.replies import ReplyReference

    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["留言详情"].strip() and r["答复意见"].strip()]
    history = [r["答复意见"] for r in rows]  # the reference: every reply in the file
    rows = rows[: args.cases]
    work = Path(tempfile.mkdtemp(prefix="bench-reply-check-"))
    url = fresh_database(args.backend, work, "civicpulse_bench_reply_check")
    db = Database(url)
    upgrade(db.engine)
    settings = Settings(data_dir=work, database_url=url, match_auto_merge=False,
                        _env_file=None)  # type: ignore[call-arg]
    ctx = Context(db=db, settings=settings, clock=lambda: datetime.now(UTC))
    import_catalogue(ctx, SYSTEM, demo_catalogue())
    department = demo_catalogue()["departments"][0]["code"]
    admin = Actor(kind="staff", name="bench-admin", role=Role.ADMIN)
    twins: list[tuple[int, int, str]] = []
    for r in rows:
        ids = []
        for _ in range(2):
            voice = VoiceInput(text=r["留言详情"][:5000], title=r["留言主题"][:200] or None,
                               channel="api")
            case_id = submit_voice(ctx, SYSTEM, voice).case_id
            assign_case(ctx, admin, case_id, department)
            start_case(ctx, admin, case_id)
            ids.append(case_id)
        twins.append((ids[0], ids[1], r["答复意见"][:5000]))
    reference = ReplyReference.build(history)
    reference.save(reply_checks.reference_path(ctx))

    shipped = case_service._assessed
    checked: list[float] = []
    unchecked: list[float] = []
    alone: list[float] = []
    for with_check, without_check, reply in twins:
        t = time.perf_counter()
        reply_checks.check_reply(ctx, with_check, reply)
        alone.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        resolve_case(ctx, admin, with_check, reply)
        checked.append((time.perf_counter() - t) * 1000)
        case_service._assessed = lambda *a, **k: {}  # type: ignore[assignment]
        try:
            t = time.perf_counter()
            resolve_case(ctx, admin, without_check, reply)
            unchecked.append((time.perf_counter() - t) * 1000)
        finally:
            case_service._assessed = shipped
    print(f"{args.backend}, {len(twins)} cases, reply reference of {reference.replies} replies, "
          f"load average {os.getloadavg()[0]:.1f}:")
    for name, samples in (("resolve, as shipped", checked), ("resolve, check off", unchecked),
                          ("check_reply alone", alone)):
        print(f"  {name}: p50 {statistics.median(samples):.1f} ms, "
              f"p95 {_pct(samples, 95):.1f} ms")
    added = [a - b for a, b in zip(checked, unchecked, strict=True)]
    print(f"  added by the check (paired): p50 {statistics.median(added):.1f} ms, "
          f"p95 {_pct(added, 95):.1f} ms")


if __name__ == "__main__":
    main()
