"""How long the leader's brief takes on a busy city: the figures, the HTML and the PDF.

    nice .venv/bin/python bench/bench_brief.py [--voices 100000] [--weeks 12] [--runs 3] [--out DIR]
    nice .venv/bin/python bench/bench_brief.py --backend postgresql

Builds a fresh city (SQLite file, or a PostgreSQL database with ``--backend postgresql``)
with the demo catalogue (11 departments, 25 categories, 4 areas) and writes ``--voices``
voices straight into the tables, spread over ``--weeks`` weeks, the way intake, routing, the
officers and the residents would have left them: one case per voice (a tenth merged into an
earlier one), routed with an "assigned" event, about 60 % resolved with a "resolve" event,
half of those judged by the resident (a fifth "not fixed", with a comment), resolution
deadlines from the category, a place for most cases with three dense streets so that the
hotspot statistic has something to find, and a handful of categories doubling in the last
week so that bursts have something to find. Concerns are refreshed once (not timed:
``bench_concerns.py`` times that).

Then, ``--runs`` times with the city-wide caches emptied, times the brief of the last week:
building the read model (``services/brief.py``: every query, the hotspot statistic, the burst
test), rendering the HTML (Chinese and English) and the PDF (Chinese and English, WeasyPrint).
Prints the medians and one JSON line. The target (issue 11): the brief renders in under 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "src" / "civicpulse" / "demo" / "catalogue.yaml"
PG_ADMIN = os.environ.get(
    "CIVICPULSE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: the brief's week ends here (a Monday): the brief read on that Monday morning
END = datetime(2026, 3, 9, tzinfo=UTC)
#: dense streets (lat, lon) where a share of the cases gathers: what hotspots should find
STREETS = [(42.352, -71.062), (42.331, -71.083), (42.371, -71.038)]
WORDS = ["路面坑洼", "路灯不亮", "垃圾清运", "噪音扰民", "占道经营", "积水", "树木倒伏", "违章停车"]


def fresh_database(backend: str, work: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / 'brief.db'}"
    name = "civicpulse_bench_brief"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(False)


def seed(ctx: Any, voices: int, weeks: int, seed_: int = 11) -> None:
    """``voices`` voices over ``weeks`` weeks up to :data:`END`, written in bulk."""
    from civicpulse.domain.roles import SYSTEM
    from civicpulse.services.catalogue import import_catalogue
    from civicpulse.storage.bulk_insert import insert_rows, table_of
    from civicpulse.storage.tables import (
        Case,
        CaseEvent,
        Category,
        Department,
        Verification,
        Voice,
    )

    import_catalogue(ctx, SYSTEM, yaml.safe_load(CATALOGUE.read_text(encoding="utf-8")))
    with ctx.db.reader() as s:
        categories = [
            (c.id, c.department_id, c.resolution_hours or 240, c.code)
            for c in s.query(Category).all()
            if c.department_id is not None
        ]
        assert s.query(Department).count() > 0
    rng = random.Random(seed_)
    start = END - timedelta(weeks=weeks)
    span = (END - start).total_seconds()
    rising = {c[0] for c in rng.sample(categories, 4)}  # they double in the last week
    last_week = END - timedelta(weeks=1)
    cases: list[dict[str, Any]] = []
    said: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    roots: list[int] = []
    case_id = 0
    while case_id < voices:
        case_id += 1
        at = start + timedelta(seconds=rng.random() * span)
        category_id, department_id, hours, code = rng.choice(categories)
        if category_id in rising and at < last_week and rng.random() < 1 / (weeks - 1):
            at = last_week + timedelta(seconds=rng.random() * 7 * 86400)  # twice as many
        due = at + timedelta(hours=hours)
        if rng.random() < 0.15:
            lat, lon = rng.choice(STREETS)
            lat, lon = lat + rng.gauss(0, 0.002), lon + rng.gauss(0, 0.002)
        elif rng.random() < 0.85:
            lat, lon = 42.24 + rng.random() * 0.16, -71.18 + rng.random() * 0.19
        else:
            lat = lon = None
        merged = bool(roots) and rng.random() < 0.1
        resolved = not merged and rng.random() < 0.6 and at + timedelta(hours=6) < END
        judged = resolved and rng.random() < 0.5
        fixed = judged and rng.random() < 0.8
        status = ("merged" if merged else "assigned" if not resolved else
                  "resolved" if not judged else "confirmed" if fixed else "reopened")
        title = f"{rng.choice(WORDS)}（{code}）第{case_id}号"
        cases.append({
            "id": case_id, "tracking_code": f"BRIEF-{case_id:010d}", "status": status,
            "title": title, "public_title": title, "category_id": category_id,
            "department_id": department_id, "area_id": None, "lat": lat, "lon": lon,
            "created_at": at, "updated_at": at, "resolution_due": due,
            "escalation_level": 0, "resolution_count": 1 if resolved else 0,
            "reopen_count": 0, "contest_count": 0,
            "merged_into_id": rng.choice(roots[-5000:]) if merged else None, "version": 1,
        })
        if not merged:
            roots.append(case_id)
        said.append({"id": case_id, "case_id": case_id, "channel": "web",
                     "text": f"{title}，请尽快处理。", "title": title, "language": "zh",
                     "category_id": category_id, "attributes": {}, "occurred_at": at,
                     "received_at": at})
        events.append(_event(case_id, "assigned", at, to=department_id))
        if resolved:
            done = at + timedelta(hours=rng.uniform(6, hours * 1.3))
            done = min(done, END - timedelta(minutes=1))
            events.append(_event(case_id, "resolve", done, frm=department_id, message="已处理"))
            if judged:
                when = min(done + timedelta(days=rng.uniform(0, 4)), END - timedelta(minutes=1))
                comment = None if fixed else "问题依旧，没有解决"
                verdicts.append({"case_id": case_id, "resolution_number": 1,
                                 "department_id": department_id, "fixed": fixed,
                                 "satisfaction": rng.randint(3, 5) if fixed else rng.randint(1, 2),
                                 "comment": comment, "created_at": when})
                events.append(_event(case_id, "confirm" if fixed else "dispute", when,
                                     message=comment, data={"resolution_number": 1}))
    with ctx.db.transaction() as s:
        for table, rows in ((Case, cases), (Voice, said), (CaseEvent, events),
                            (Verification, verdicts)):
            for i in range(0, len(rows), 20_000):
                insert_rows(s, table_of(table), rows[i : i + 20_000])
        if ctx.db.dialect == "postgresql":
            for table in ("cases", "voices", "case_events", "verifications"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))"))
            s.execute(text("ANALYZE"))


def _event(case_id: int, kind: str, at: datetime, *, to: int | None = None,
           frm: int | None = None, message: str | None = None,
           data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"case_id": case_id, "kind": kind, "actor": "system:bench", "from_status": None,
            "to_status": None, "from_department_id": frm, "to_department_id": to,
            "message": message, "public": True, "public_message": message,
            "data": data or {}, "created_at": at}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", type=Path, help="Also write the last run's HTML and PDF here.")
    args = parser.parse_args()

    from civicpulse.domain.roles import SYSTEM
    from civicpulse.infra.context import Context
    from civicpulse.reports.brief_document import BriefRenderer
    from civicpulse.services.brief import leader_brief
    from civicpulse.services.concerns import refresh_concerns
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database
    from civicpulse.storage.migrate import upgrade

    work = Path(tempfile.mkdtemp(prefix="bench-brief-"))
    url = fresh_database(args.backend, work)
    db = Database(url)
    upgrade(db.engine)
    now = [END + timedelta(hours=7)]
    settings = Settings(data_dir=work, database_url=url, public_aggregate_cache_seconds=0,
                        _env_file=None)  # type: ignore[call-arg]
    ctx = Context(db=db, settings=settings, clock=lambda: now[0])
    t0 = time.perf_counter()
    seed(ctx, args.voices, args.weeks)
    t1 = time.perf_counter()
    refresh_concerns(ctx, place_topics=False)
    t2 = time.perf_counter()
    print(f"{args.backend}: {args.voices:,} voices over {args.weeks} weeks written in "
          f"{t1 - t0:.0f} s; concerns refreshed in {t2 - t1:.0f} s", file=sys.stderr)

    timings: dict[str, list[float]] = {k: [] for k in
                                       ("build", "html_zh", "html_en", "pdf_zh", "pdf_en")}
    sizes: dict[str, int] = {}
    renderer = BriefRenderer()
    renderer.pdf(leader_brief(ctx, SYSTEM), "en")  # WeasyPrint's import and font cache
    brief = None
    for _ in range(args.runs):
        ctx.aggregates.clear()
        t = time.perf_counter()
        brief = leader_brief(ctx, SYSTEM)
        timings["build"].append(time.perf_counter() - t)
        for lang in ("zh", "en"):
            t = time.perf_counter()
            html = renderer.html(brief, lang)
            timings[f"html_{lang}"].append(time.perf_counter() - t)
            t = time.perf_counter()
            pdf = renderer.pdf(brief, lang)
            timings[f"pdf_{lang}"].append(time.perf_counter() - t)
            sizes[f"html_{lang}"], sizes[f"pdf_{lang}"] = len(html), len(pdf)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"brief-{lang}.html").write_text(html, encoding="utf-8")
                (args.out / f"brief-{lang}.pdf").write_bytes(pdf)
    assert brief is not None
    median = {k: round(statistics.median(v), 2) for k, v in timings.items()}
    total_zh = median["build"] + median["html_zh"] + median["pdf_zh"]
    print(f"brief of {brief.week}: {brief.headline.voices:,} voices in the week, "
          f"{len(brief.concerns)} concerns, {len(brief.bursts)} bursts, "
          f"{len(brief.hotspots)} hotspots ({brief.hotspot_cases:,} open cases read), "
          f"{len(brief.departments)} departments, {brief.headline.overdue:,} overdue, "
          f"{brief.headline.not_fixed:,} not fixed", file=sys.stderr)
    print(f"median of {args.runs}: build {median['build']:.2f} s, HTML zh "
          f"{median['html_zh']:.2f} s / en {median['html_en']:.2f} s, PDF zh "
          f"{median['pdf_zh']:.2f} s / en {median['pdf_en']:.2f} s; build + PDF (zh) "
          f"{total_zh:.2f} s", file=sys.stderr)
    print(json.dumps({"backend": args.backend, "voices": args.voices, "weeks": args.weeks,
                      "runs": args.runs, "median_seconds": median,
                      "build_and_pdf_zh_seconds": round(total_zh, 2), "bytes": sizes,
                      "week": str(brief.week), "week_voices": brief.headline.voices,
                      "bursts": len(brief.bursts), "hotspots": len(brief.hotspots)}))
    ctx.close()


if __name__ == "__main__":
    main()
