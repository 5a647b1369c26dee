"""Concerns on real data, and the speed of an incremental refresh.

    nice .venv/bin/python bench/bench_concerns.py board [--top 20] [--no-author]
    nice .venv/bin/python bench/bench_concerns.py speed --voices 100000 [--backend postgresql]
        [--serve 200]

``board``: imports ``messages_with_likes.csv`` (the message board, June 2017 – January 2020)
into a fresh SQLite city exactly as ``civicpulse import voices`` would, with likes as
supports (``--map supports=点赞数``) and the board's user as the author (``--map
author=留言用户``, so one user counts once; ``--no-author`` leaves it out), checks every
title for personal data (the public titles labels may fall back to), refreshes concerns
(topics first) and prints the top concerns with their reasons. Then it checks the top 10
against the list of problems a careful reader of the file finds (``READER``: how each was
found is in ``bench/README.md``), and writes a sample of 200 member voices of the top 20
concerns to ``/tmp/concerns_purity_sample.csv`` for labelling by hand.

``speed``: builds a synthetic city of ``--voices`` voices directly in the tables (cases,
voices, insights, topics with a long-tailed size distribution, contacts for a third, some
merged duplicates, three years of history), refreshes concerns once from nothing, then adds
1,000 new voices (most in existing topics, as intake and the topic job would place them)
and times the incremental refresh and the listing of the top 20. Topic placement itself is
not part of it (its cost is ``bench_topics.py``'s). ``--serve N`` first imports the demo
catalogue (cases get its departments) and a dispatcher, and at the end starts the real
``civicpulse serve --workers 2`` on that database and reads the public concerns page, concern
pages of the top 20, the public API and the staff board N times each, one request at a time,
printing p50/p95/max.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / ".." / "shared" / "data" / "gov_message_board" / "messages_with_likes.csv"
PG_ADMIN = os.environ.get(
    "CIVICPULSE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SAMPLE = Path("/tmp/concerns_purity_sample.csv")

#: what a careful reader of the board finds: (name, how it shows in titles: every one of the
#: words, in any of the alternatives, why it is on the list). Found by grouping titles on
#: their place and estate names, by reading the most-liked posts and by looking for clusters
#: of similar titles in one period (bench/README.md, "Concerns").
READER: list[tuple[str, list[list[str]], str]] = [
    ("丽发新城 mixing plant noise and dust", [["丽发新城", "搅拌"], ["搅拌站"]],
     "52 residents, Nov 2019 – Jan 2020"),
    ("伊景园滨河苑 parking spaces sold with flats", [["伊景园"], ["滨河苑"]],
     "53 residents, Jul – Sep 2019"),
    ("魅力之城 ground-floor restaurants' fumes and noise", [["魅力之城"]],
     "21 messages by 17 residents, Jul – Sep 2019"),
    ("58车贷 fraud case: no progress", [["58车贷"], ["58车货"]],
     "11 residents, 2,385 likes (821, 790, 733 on three posts), Jan – Feb 2019"),
    ("五矿万境 K9县 building problems", [["五矿万境"], ["K9县"]],
     "13 residents, 2,115 likes (2,097 on one post), 2019"),
    ("金毛湾 school places", [["金毛湾"]], "1 post, 1,762 likes, Apr 2019"),
    ("绿地海外滩 and the high-speed railway 30 m away", [["海外滩"]],
     "5 residents, 700 likes (669 on one post), Aug – Sep 2019"),
    ("月亮岛路 110 kV overhead line", [["月亮岛", "高压"], ["月亮岛", "110"]],
     "5 residents, 201 likes, Mar – Apr 2019"),
    ("凉塘路 old-town redevelopment", [["凉塘"]], "11–18 residents through 2019"),
    ("Talent housing subsidy (人才购房补贴)", [["人才", "补贴"]],
     "25 residents spread over 2019"),
    ("富绿物业 cutting off 丽发新城 water", [["断", "水", "丽发"]], "1 post, 242 likes"),
]


def load_board() -> list[dict[str, str]]:
    with BOARD.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def matches(title: str, alternatives: list[list[str]]) -> bool:
    return any(all(word in title for word in words) for words in alternatives)


def board(top: int, author: bool) -> None:
    from civicpulse.channels.tabular import file_sha256, open_table
    from civicpulse.domain.roles import SYSTEM
    from civicpulse.infra.context import Context
    from civicpulse.services.concerns import refresh_concerns, top_concerns
    from civicpulse.services.import_options import ImportOptions
    from civicpulse.services.imports import import_voices
    from civicpulse.services.redaction_pass import redact_pending
    from civicpulse.services.topics import update_topics
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database
    from civicpulse.storage.migrate import upgrade

    if not BOARD.exists():
        sys.exit(f"real data not present: {BOARD}")
    work = Path(tempfile.mkdtemp(prefix="bench-concerns-"))
    url = f"sqlite:///{work / 'city.db'}"
    db = Database(url)
    upgrade(db.engine)
    ctx = Context(db=db, settings=Settings(data_dir=work, database_url=url,
                                           _env_file=None))  # type: ignore[call-arg]
    mapping = {"title": "留言主题", "text": "留言详情", "occurred_at": "留言时间",
               "external_id": "留言编号", "supports": "点赞数"}
    if author:
        mapping["author"] = "留言用户"
    t0 = time.perf_counter()
    table = open_table(BOARD)
    try:
        report = import_voices(ctx, SYSTEM, table, file_sha256(BOARD),
                               ImportOptions(mapping=mapping, timezone="Asia/Shanghai"))
    finally:
        table.close()
    t1 = time.perf_counter()
    redact_pending(ctx, budget_seconds=float("inf"))
    t2 = time.perf_counter()
    update_topics(ctx)  # the job runs it first too; timed apart, it is not concerns' cost
    t3 = time.perf_counter()
    run = refresh_concerns(ctx, place_topics=False)
    print(f"imported {report.imported:,} messages ({len(report.rejected)} rejected) in "
          f"{t1 - t0:.1f} s; titles checked in {t2 - t1:.1f} s; topics in {t3 - t2:.1f} s; "
          f"concerns from nothing in {run.seconds:.1f} s ({run.recomputed:,} computed)")
    listed = top_concerns(ctx, SYSTEM, top=max(top, 60))
    titles = _titles(ctx)
    print("\n| # | score | residents | supports | voices | label | reasons |")
    print("|---|---|---|---|---|---|---|")
    for c in listed[:top]:
        why = "; ".join(f"{r.name} {r.value:g} → {r.contribution:+g}" for r in c.reasons
                        if r.contribution)
        print(f"| {c.rank} | {c.score:.1f} | {c.residents} | {c.supports:,} | {c.voices} | "
              f"{c.label} | {why} |")
    print("\nThe reader's list against the top 10:")
    held = 0
    for name, words, found in READER:
        ranks = [c.rank for c in listed[:10] if _about(c.voice_ids or [], titles, words)]
        held += bool(ranks)
        where = f"#{', #'.join(map(str, ranks))}" if ranks else "not in the top 10"
        print(f"  {'✓' if ranks else '✗'} {name} ({found}): {where}")
    print(f"{held} of {len(READER)} in the top 10")
    _sample(listed, titles)


def _titles(ctx: Any) -> dict[int, str]:
    from civicpulse.storage.tables import Voice

    with ctx.db.reader() as s:
        return {vid: title or text[:60] for vid, title, text in s.execute(
            select(Voice.id, Voice.title, Voice.text))}


def _about(voice_ids: list[int], titles: dict[int, str], words: list[list[str]]) -> bool:
    """A concern is about a problem when at least half its voices' titles name it."""
    if not voice_ids:
        return False
    hits = sum(matches(titles[v], words) for v in voice_ids)
    return hits * 2 >= len(voice_ids)


def _sample(concerns: list[Any], titles: dict[int, str]) -> None:
    """200 member voices for labelling by hand: of the top 20 concerns, spread over them
    (every one of them when the top 20 hold fewer than 200), then of the next ones."""
    rng = random.Random(11)
    top = concerns[:20]
    pools = {c.key: list(c.voice_ids or []) for c in top}
    chosen: list[tuple[Any, int]] = []
    while len(chosen) < 200 and any(pools.values()):
        for c in top:
            pool = pools[c.key]
            if pool and len(chosen) < 200:
                chosen.append((c, pool.pop(rng.randrange(len(pool)))))
    in_top = len(chosen)
    for c in concerns[20:]:
        for vid in c.voice_ids or []:
            if len(chosen) < 200:
                chosen.append((c, vid))
    with SAMPLE.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["voice_id", "rank", "concern", "label", "title", "belongs (y/n)"])
        for c, vid in sorted(chosen, key=lambda cv: (cv[0].rank, cv[1])):
            out.writerow([vid, c.rank, c.key, c.label, titles[vid], ""])
    print(f"\n{len(chosen)} member voices written to {SAMPLE}: {in_top} of the top 20 "
          f"concerns (all they hold when under 200), {len(chosen) - in_top} of the next ones")


# ---- speed -----------------------------------------------------------------------------------

_WORDS = ("小区 道路 路灯 垃圾站 噪音 施工 停车 物业 学校 公交 绿化 积水 井盖 违建 油烟 漏水 "
          "电梯 供水 停电 拆迁 补贴 学位 地铁 桥梁 污水 扰民 广场 市场 医院 消防")
WORDS = _WORDS.split()
PLACES = [f"{a}{b}" for a in "东南西北中金银星月光明青" for b in ("园", "城", "苑", "湾", "府")]
START = datetime(2023, 1, 1, tzinfo=UTC)


def fresh_database(backend: str, work: Path, name: str = "civicpulse_bench_concerns") -> str:
    if backend == "sqlite":
        for leftover in work.glob("speed.db*"):
            leftover.unlink()
        return f"sqlite:///{work / 'speed.db'}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(False)


class City:
    """A synthetic city written straight into the tables, the way intake, the topic job
    and the same-problem matcher would have left them."""

    def __init__(self, ctx: Any, seed: int = 7) -> None:
        from civicpulse.storage.tables import Topic

        self.ctx = ctx
        self.rng = random.Random(seed)
        self.case_id = 0
        self.topic_sizes: Counter[int] = Counter()
        self.topic_words: dict[int, tuple[str, str, str]] = {}
        self.roots: list[int] = []
        self.placed: list[int] = []  # the topic of every voice so far
        self.Topic = Topic
        self.departments: list[int | None] = [None]  # set when a catalogue is imported

    def add(self, n: int, when: tuple[datetime, datetime], new_topics: float) -> None:
        from civicpulse.storage.bulk_insert import insert_rows, table_of
        from civicpulse.storage.tables import (
            Case,
            CaseEvent,
            ResidentContact,
            Topic,
            Voice,
            VoiceInsight,
            VoiceTopic,
        )

        rng = self.rng
        now = self.ctx.now()
        span = (when[1] - when[0]).total_seconds()
        cases, voices, insights, placed, contacts, events = [], [], [], [], [], []
        topics: list[dict[str, Any]] = []
        existing = list(self.topic_sizes)
        for _ in range(n):
            self.case_id += 1
            cid = self.case_id
            at = when[0] + timedelta(seconds=rng.random() * span)
            if not existing or rng.random() < new_topics:
                topic = cid
                words = (rng.choice(PLACES), rng.choice(WORDS), rng.choice(WORDS))
                self.topic_words[topic] = words
                topics.append({"id": topic, "key": f"t{cid}", "label": " · ".join(words),
                               "phrases": list(words), "size": 0, "first_at": at,
                               "last_at": at, "updated_at": now})
                existing.append(topic)
            else:  # a topic draws new voices in proportion to its size (a long tail: the
                # largest ends near 0.5 % of the city, as the message board's did, 1.2 %)
                topic = self.placed[rng.randrange(len(self.placed))]
            self.topic_sizes[topic] += 1
            self.placed.append(topic)
            place, w1, w2 = self.topic_words[topic]
            lat, lon = (30.5 + rng.random() * 0.3, 114.2 + rng.random() * 0.3) \
                if rng.random() < 0.5 else (None, None)
            merged = self.roots and rng.random() < 0.1
            into = rng.choice(self.roots[-2000:]) if merged else None
            if not merged:
                self.roots.append(cid)
            cases.append({"id": cid, "tracking_code": f"BENCH-{cid:010d}",
                          "status": "merged" if merged else rng.choice(
                              ["assigned", "assigned", "in_progress", "resolved", "confirmed"]),
                          "title": f"{place}{w1}{w2}", "public_title": f"{place}{w1}{w2}",
                          "category_id": None, "area_id": None,
                          "department_id": rng.choice(self.departments),
                          "lat": lat, "lon": lon, "created_at": at, "updated_at": at,
                          "escalation_level": 0, "resolution_count": 0, "reopen_count": 0,
                          "contest_count": 0, "merged_into_id": into, "version": 1})
            text_ = f"{place}的{w1}问题，{w2}影响居民生活，请尽快处理。"
            voices.append({"id": cid, "case_id": cid, "channel": "api", "text": text_,
                           "title": f"{place}{w1}{w2}", "language": "zh", "attributes": {},
                           "occurred_at": at, "received_at": now})
            insights.append({"voice_id": cid, "case_id": cid, "signature": b"", "at": at,
                             "lat": lat, "lon": lon, "urgency": "normal",
                             "urgency_score": 0.0, "urgency_reasons": [],
                             "match_reasons": [], "computed_at": now})
            placed.append({"voice_id": cid, "topic_id": topic})
            events.append({"case_id": cid, "kind": "submitted", "actor": "system:bench",
                           "public": True, "data": {}, "created_at": at})
            if rng.random() < 0.33:
                contacts.append({"voice_id": cid, "email": f"r{rng.randrange(n * 2)}@x.org"})
        with self.ctx.db.transaction() as s:
            for table, rows in ((Case, cases), (Voice, voices), (VoiceInsight, insights),
                                (Topic, topics), (VoiceTopic, placed),
                                (ResidentContact, contacts), (CaseEvent, events)):
                for i in range(0, len(rows), 20_000):
                    chunk = rows[i : i + 20_000]
                    if table is VoiceInsight:  # a binary column: no COPY type for it
                        s.execute(insert(table_of(table)), chunk)
                    else:
                        insert_rows(s, table_of(table), chunk)
            if self.ctx.db.dialect == "postgresql":
                s.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                               "(SELECT max(id) FROM cases))"))
                s.execute(text("SELECT setval(pg_get_serial_sequence('voices', 'id'), "
                               "(SELECT max(id) FROM voices))"))


def _serve_and_measure(url: str, work: Path, keys: list[str], token: str, n: int) -> None:
    """The public concerns page, a concern's page, the public API and the staff board,
    each read ``n`` times one after another through the real ``civicpulse serve``."""
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_pages import percentiles
    from bench_voices import BIN

    sys.path.insert(0, str(ROOT))
    from tests.live import free_port, wait_until_serving

    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(CIVICPULSE_DATABASE_URL=url, CIVICPULSE_DATA_DIR=str(work / "data"),
               CIVICPULSE_RUN_JOBS_IN_PROCESS="false",
               CIVICPULSE_PUBLIC_RATE_LIMIT_PER_MINUTE="100000000")
    port = free_port()
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    pages = {
        "public /concerns": ["/concerns"],
        "public /concerns/{key}": [f"/concerns/{k}" for k in keys],
        "public API /api/v1/concerns?top=20": ["/api/v1/concerns?top=20"],
        "staff board /staff/concerns": ["/staff/concerns"],
    }
    try:
        wait_until_serving(base, server, 60)
        with httpx.Client(base_url=base, timeout=60,
                          cookies={"cp_session": token}) as client:
            for name, paths in pages.items():
                for p in paths[:4] * 4:  # warm both workers
                    client.get(p)
                samples = []
                for i in range(n):
                    started = time.perf_counter()
                    r = client.get(paths[i % len(paths)])
                    samples.append((time.perf_counter() - started) * 1000)
                    if r.status_code != 200:
                        sys.exit(f"GET {paths[i % len(paths)]} answered {r.status_code}")
                if name.startswith("staff") and "/staff/login" in str(r.url):
                    sys.exit("the staff board answered with the login page")
                q = percentiles(samples)
                print(f"  {name}: p50 {q['p50_ms']} ms, p95 {q['p95_ms']} ms, "
                      f"max {q['max_ms']} ms ({q['requests']} requests)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def speed(voices: int, backend: str, serve: int = 0) -> None:
    from civicpulse.infra.context import Context
    from civicpulse.services.concern_refresh import refresh_concerns
    from civicpulse.services.concern_store import analyse
    from civicpulse.services.concerns import top_concerns
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database
    from civicpulse.storage.migrate import upgrade

    work = Path(tempfile.mkdtemp(prefix="bench-concerns-speed-"))
    url = fresh_database(backend, work)
    db = Database(url)
    upgrade(db.engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = [now]
    ctx = Context(db=db, settings=Settings(data_dir=work, database_url=url, _env_file=None),
                  clock=lambda: clock[0])  # type: ignore[call-arg]
    city = City(ctx)
    if serve:
        from civicpulse.demo.seed import demo_catalogue
        from civicpulse.domain.roles import SYSTEM
        from civicpulse.services.catalogue import import_catalogue
        from civicpulse.services.staff import add_user
        from civicpulse.storage.tables import Department

        import_catalogue(ctx, SYSTEM, demo_catalogue())
        with db.reader() as s:
            city.departments = list(s.scalars(select(Department.id)))
        add_user(ctx, SYSTEM, "bench-dispatcher", "dispatcher", "bench-password-1")
    t0 = time.perf_counter()
    for i in range(0, voices, 100_000):
        city.add(min(100_000, voices - i), (START, now - timedelta(days=1)), new_topics=0.45)
    if backend == "postgresql":
        with db.transaction() as s:
            s.execute(text("ANALYZE"))
    t1 = time.perf_counter()
    clock[0] = now + timedelta(minutes=5)
    first = refresh_concerns(ctx, place_topics=False)
    analyse(ctx)
    t2 = time.perf_counter()
    with db.reader() as s:
        from civicpulse.storage.tables import Concern

        stored = s.scalar(select(func.count()).select_from(Concern))
    print(f"{backend}: {voices:,} voices written in {t1 - t0:.0f} s; first refresh "
          f"{t2 - t1:.1f} s ({first.recomputed:,} groups, {stored:,} concerns)")
    for round_ in range(3):
        clock[0] += timedelta(minutes=5)
        city.add(1000, (clock[0] - timedelta(hours=12), clock[0]), new_topics=0.3)
        clock[0] += timedelta(minutes=5)
        run = refresh_concerns(ctx, place_topics=False)
        t = time.perf_counter()
        for _ in range(20):
            top_concerns(ctx, None, top=20)
        listing = (time.perf_counter() - t) / 20
        print(f"  +1,000 voices (round {round_ + 1}): refresh {run.seconds:.2f} s "
              f"({run.dirty_cases:,} cases dirty, {run.recomputed:,} concerns recomputed, "
              f"{run.rescored:,} rescored); top 20 listed in {listing * 1000:.0f} ms")
    if serve:
        from civicpulse.services.staff import login

        keys = [c.key for c in top_concerns(ctx, None, top=20)]
        # the server's clock is the wall clock, not the city's: the session must be today's
        clock[0] = datetime.now(UTC)
        token = login(ctx, "bench-dispatcher", "bench-password-1")
        db.dispose()
        _serve_and_measure(url, work, keys, token, serve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("board", help="Concerns on the message board, checked.")
    b.add_argument("--top", type=int, default=20)
    b.add_argument("--no-author", action="store_true")
    sp = sub.add_parser("speed", help="An incremental refresh in a large synthetic city.")
    sp.add_argument("--voices", type=int, default=100_000)
    sp.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    sp.add_argument("--serve", type=int, default=0, metavar="N",
                    help="then serve the city and read each concerns page N times over HTTP")
    args = parser.parse_args()
    if args.what == "board":
        board(args.top, not args.no_author)
    else:
        speed(args.voices, args.backend, args.serve)


if __name__ == "__main__":
    main()
