"""The formalism audit over a large city on PostgreSQL: how long `civicpulse audit formalism`
takes, and how much of it is each part.

    nice .venv/bin/python bench/bench_formalism.py --cases 1000000 [--keep]

Builds a synthetic city straight into the tables with binary COPY (cases, their first
voices, the voices' matching insights with real MinHash signatures, and the timelines),
over the two years before today: 12 departments with 2 categories each, 90 % of cases
located in a box of 40 × 40 km per 300,000 cases (the density stays a large city's as the
city grows), texts drawn from 40 phrasings per category. Then every case
lives a plausible life on its timeline: routed at intake; 8 % transferred once with a
reason, 1.2 % passed back (A → B → A), 0.2 % passed four times; 5 % rejected by the
department (a third of those contested, routed elsewhere and resolved there); 88 %
resolved (1 % minutes before the deadline and then reopened after it), then confirmed,
disputed (and resolved again) or left unanswered until the verification window closes;
two departments rush resolutions due in a month's last five days into its last 20 hours,
and one sees 60 % of its resolutions close unconfirmed (the others 25 %);
4 % of new cases are the same problem at the same spot as a case resolved 1–40 days
before; every resolution carries its reply's recorded assessment, one in seven hollow.
Then it runs ``civicpulse audit formalism --since START --until END --format json``
as a separate process over the whole two years (every case in the period), prints its wall
time, and the in-process time of each part of the audit and the flags found per kind.

The machine is shared: run it with ``nice``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin" / "civicpulse"
PG_ADMIN = os.environ.get(
    "CIVICPULSE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = "civicpulse_bench_formalism"

WORDS = ("路灯", "井盖", "坑洼", "积水", "垃圾", "噪音", "油烟", "违停", "树木", "绿化", "施工",
         "围挡", "漏水", "停水", "停电", "电梯", "公交", "站台", "人行道", "护栏", "下水道",
         "化粪池", "广告牌", "占道", "夜间", "凌晨", "渣土", "扬尘", "堵塞", "破损", "倒伏",
         "缺失", "松动", "异味", "污水", "外溢", "塌陷", "裂缝", "脱落", "歪斜", "闪烁", "熄灭",
         "积雪", "结冰", "野狗", "鼠患", "蚊虫", "摊贩", "乱贴", "涂鸦", "废弃", "单车", "车辆",
         "货车", "噪声", "广场舞", "装修", "工地", "搅拌", "排水", "雨水", "窨井", "路面",
         "台阶", "坡道", "盲道", "栏杆", "座椅", "凉亭", "公厕", "水管", "燃气", "电线", "线缆",
         "信号灯", "标线", "路牌", "监控")
PLACES = [f"{a}{b}" for a in "东南西北中金银星月光明青" for b in ("园", "城", "苑", "湾", "府")]
DEPARTMENTS = [f"d{i:02d}" for i in range(12)]
CATEGORIES = [(f"c{i:02d}", DEPARTMENTS[i // 2], (72, 120, 168)[i % 3]) for i in range(24)]
RUSHING = {"d00", "d01"}
#: a department whose residents are rarely asked, or rarely answer: most closures unconfirmed
SILENT = {"d11"}
PHRASINGS = 40
CHUNK = 50_000


def fresh_database() -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=DB_NAME).render_as_string(False)


def catalogue() -> dict[str, Any]:
    return {
        "departments": [{"code": d, "name_en": f"Department {d}", "name_zh": f"部门{d}"}
                        for d in DEPARTMENTS],
        "categories": [{"code": c, "name_en": f"Category {c}", "name_zh": f"类别{c}",
                        "department": d, "first_response_hours": 24, "resolution_hours": h}
                       for c, d, h in CATEGORIES],
    }


def month_end_after(at: datetime) -> datetime:
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


class Life:
    """Cases and their timelines, written in chunks as COPY rows."""

    def __init__(self, n: int, start: datetime, end: datetime, ids: dict[str, int],
                 seed: int = 12) -> None:
        from civicpulse.understanding.matching import signature, signature_bytes

        self.n = n
        self.start, self.end = start, end
        #: a larger city covers more ground: the box grows so the density of cases stays
        #: that of 300,000 cases in 40 × 40 km over two years
        self.spread = (n / 300_000) ** 0.5
        self.rng = random.Random(seed)
        self.dept_id = {code: ids[f"d:{code}"] for code in DEPARTMENTS}
        self.cat_id = {code: ids[f"c:{code}"] for code, _, _ in CATEGORIES}
        self.texts: dict[str, list[tuple[str, bytes]]] = {}
        for code, _, _ in CATEGORIES:
            phrasings = []
            for _ in range(PHRASINGS):
                words = self.rng.sample(WORDS, 5)
                sentence = (f"{self.rng.choice(PLACES)}{words[0]}{words[1]}，"
                            f"{words[2]}旁{words[3]}{words[4]}")
                phrasings.append((sentence, signature_bytes(signature(sentence))))
            self.texts[code] = phrasings
        #: recently resolved located cases a repeat can come back to
        self.recent: deque[tuple[datetime, str, float, float, int]] = deque(maxlen=20_000)
        self.event_id = 0
        self.made: Counter[str] = Counter()

    def staff(self, dept: str) -> str:
        return f"staff:{dept}-o{self.rng.randrange(8)}"

    def chunks(self) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
        span = (self.end - self.start).total_seconds()
        for first in range(0, self.n, CHUNK):
            cases: list[tuple[Any, ...]] = []
            voices: list[tuple[Any, ...]] = []
            insights: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            for i in range(first, min(first + CHUNK, self.n)):
                at = self.start + timedelta(seconds=span * (i + self.rng.random()) / self.n)
                self.case(i + 1, at, cases, voices, insights, events)
            yield cases, voices, insights, events

    def case(self, cid: int, at: datetime, cases: list[tuple[Any, ...]],
             voices: list[tuple[Any, ...]], insights: list[tuple[Any, ...]],
             events: list[tuple[Any, ...]]) -> None:
        rng = self.rng
        repeat = None
        if self.recent and rng.random() < 0.04:
            candidate = self.recent[rng.randrange(len(self.recent))]
            if timedelta(days=1) <= at - candidate[0] <= timedelta(days=40):
                repeat = candidate
        if repeat is not None:
            _, cat, lat0, lon0, phrase = repeat
            lat: float | None = lat0 + rng.uniform(-1, 1) * 15 / 111_320
            lon: float | None = lon0 + rng.uniform(-1, 1) * 15 / 96_000
            self.made["repeat"] += 1
        else:
            cat = CATEGORIES[rng.randrange(len(CATEGORIES))][0]
            phrase = rng.randrange(PHRASINGS)
            located = rng.random() < 0.9
            lat = 30.0 + rng.random() * 0.36 * self.spread if located else None
            lon = 120.0 + rng.random() * 0.42 * self.spread if located else None
        _, home, hours = next(c for c in CATEGORIES if c[0] == cat)
        due = at + timedelta(hours=hours)
        sentence, sig = self.texts[cat][phrase]
        steps: list[tuple[str, str, str | None, str | None, str | None, datetime]] = []
        holder = home
        steps.append(("submitted", "system:bench", None, None, None, at))
        steps.append(("assigned", "system:routing", None, home, None, at))
        t = at
        fate = rng.random()
        if fate < 0.012:  # passed back
            other = rng.choice([d for d in DEPARTMENTS if d != home])
            t += timedelta(hours=2)
            steps.append(("transfer", self.staff(home), home, other, "不属于本部门", t))
            t += timedelta(hours=4)
            steps.append(("transfer", self.staff(other), other, home, "应由原部门办理", t))
            self.made["ping_pong"] += 1
        elif fate < 0.014:  # passed on four times
            chain = rng.sample([d for d in DEPARTMENTS if d != home], 4)
            for nxt in chain:
                t += timedelta(hours=3)
                steps.append(("transfer", self.staff(holder), holder, nxt, "转办", t))
                holder = nxt
            self.made["many_hops"] += 1
        elif fate < 0.094:  # one transfer with a reason
            other = rng.choice([d for d in DEPARTMENTS if d != home])
            t += timedelta(hours=rng.uniform(1, 24))
            steps.append(("transfer", self.staff(home), home, other, "属于该部门职责", t))
            holder = other
        status = "assigned"
        resolved_at = closed_at = None
        resolutions = reopens = 0
        if rng.random() < 0.05:  # rejected
            t += timedelta(hours=rng.uniform(1, 48))
            steps.append(("reject", self.staff(holder), holder, None, "不属于本部门职责", t))
            status, closed_at = "rejected", t
            if rng.random() < 0.33:
                other = rng.choice([d for d in DEPARTMENTS if d != holder])
                t += timedelta(days=1)
                steps.append(("contest", "resident:resident", holder, None, "这是政府职责", t))
                t += timedelta(hours=2)
                steps.append(("assign", "staff:dispatch", holder, other, None, t))
                holder = other
                t += timedelta(days=2)
                steps.append(("resolve", self.staff(holder), holder, None, None, t))
                t += timedelta(days=1)
                steps.append(("confirm", "resident:resident", holder, None, None, t))
                status, resolved_at, closed_at, resolutions = "confirmed", t, t, 1
                self.made["rejected_done_elsewhere"] += 1
        elif rng.random() < 0.88 / 0.95:
            edge = rng.random() < 0.01
            if edge:
                t = due - timedelta(minutes=rng.uniform(5, 55))
            else:
                t += timedelta(hours=min(rng.lognormvariate(3.4, 0.9), hours * 1.5))
                month_end = month_end_after(t)
                if holder in RUSHING and month_end - t < timedelta(days=5):
                    t = month_end - timedelta(hours=rng.uniform(0.2, 20))
            steps.append(("resolve", self.staff(holder), holder, None, None, t))
            resolutions, resolved_at = 1, t
            verdict = rng.random()
            if edge or verdict < 0.10:
                t = (max(t, due) if edge else t) + timedelta(hours=rng.uniform(2, 48))
                steps.append(("dispute", "resident:resident", holder, None, None, t))
                reopens = 1
                t += timedelta(hours=rng.uniform(12, 72))
                steps.append(("resolve", self.staff(holder), holder, None, None, t))
                resolutions, resolved_at = 2, t
                verdict = rng.random() * 0.9 + 0.1
                self.made["deadline_edge" if edge else "reopened"] += 1
            if verdict < (0.4 if holder in SILENT else 0.75):
                t += timedelta(hours=rng.uniform(2, 120))
                steps.append(("confirm", "resident:resident", holder, None, None, t))
                status, closed_at = "confirmed", t
            else:
                t += timedelta(days=14)
                steps.append(("expire_verification", "system:civicpulse", holder, None, None,
                              t))
                status, closed_at = "unverified", t
            if lat is not None and resolved_at is not None:
                self.recent.append((resolved_at, cat, lat, lon or 0.0, phrase))
        cases.append((cid, f"F{cid:011d}", status, sentence[:40], self.cat_id[cat],
                      self.dept_id[holder], lat, lon, at, t, due, resolved_at, closed_at,
                      resolutions, reopens))
        voices.append((cid, cid, "api", sentence, at))
        insights.append((cid, cid, sig, at, lat, lon, cat, at))
        for kind, actor, from_d, to_d, message, when in steps:
            self.event_id += 1
            # every resolution carries its reply's assessment, one in seven hollow (by
            # the event's id, so the random draws, and the city, stay as they were)
            reply = ("" if kind != "resolve" else
                     "hollow" if self.event_id % 7 == 0 else "answered")
            events.append((self.event_id, cid, kind, actor,
                           self.dept_id[from_d] if from_d else None,
                           self.dept_id[to_d] if to_d else None, message, when, reply))


def copy(conn: Any, table: str, columns: list[str], types: list[str],
         rows: list[tuple[Any, ...]], fill: dict[str, tuple[str, Any]] | None = None) -> None:
    """Binary COPY of ``rows`` (plus constant columns ``fill``: name → (type, value))."""
    fill = fill or {}
    names = [*columns, *fill]
    extra = tuple(v for _, v in fill.values())
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(statement) as cp:
        cp.set_types([*types, *(t for t, _ in fill.values())])
        for row in rows:
            cp.write_row((*row, *extra))


def build(url: str, n: int, start: datetime, end: datetime) -> dict[str, int]:
    import psycopg
    from psycopg.types.json import Json

    from civicpulse.domain.roles import SYSTEM
    from civicpulse.infra.context import Context
    from civicpulse.services.catalogue import import_catalogue
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database
    from civicpulse.storage.migrate import upgrade

    db = Database(url)
    upgrade(db.engine)
    work = Path(tempfile.mkdtemp(prefix="bench-formalism-"))
    ctx = Context(db=db, settings=Settings(data_dir=work, database_url=url,
                                           _env_file=None))  # type: ignore[call-arg]
    import_catalogue(ctx, SYSTEM, catalogue())
    with db.engine.connect() as conn:
        ids = {f"d:{c}": i for i, c in conn.execute(text("SELECT id, code FROM departments"))}
        ids |= {f"c:{c}": i for i, c in conn.execute(text("SELECT id, code FROM categories"))}
    ctx.close()
    life = Life(n, start, end, ids)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
    empty = Json({})
    assessed = {
        "": empty,
        **{name: Json({"resolution_number": 1, "reply": {
            "relevance": 0.1 if hollow else 0.7, "boilerplate": 0.8 if hollow else 0.1,
            "deflection": False, "concrete": not hollow,
            "flags": ["does_not_answer", "boilerplate"] if hollow else [],
            "hollow": hollow, "reasons": ["template_share"] if hollow else [],
            "sent_anyway": hollow}})
           for name, hollow in (("answered", False), ("hollow", True))},
    }
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        for cases, voices, insights, events in life.chunks():
            copy(conn, "cases", ["id", "tracking_code", "status", "title", "category_id",
                                 "department_id", "lat", "lon", "created_at", "updated_at",
                                 "resolution_due", "resolved_at", "closed_at",
                                 "resolution_count", "reopen_count"],
                 ["int8", "text", "text", "text", "int4", "int4", "float8", "float8",
                  "timestamptz", "timestamptz", "timestamptz", "timestamptz", "timestamptz",
                  "int4", "int4"], cases,
                 {"public_title": ("text", "bench"), "escalation_level": ("int4", 0),
                  "contest_count": ("int4", 0), "version": ("int4", 1)})
            copy(conn, "voices", ["id", "case_id", "channel", "text", "received_at"],
                 ["int8", "int8", "text", "text", "timestamptz"], voices,
                 {"attributes": ("json", empty), "language": ("text", "zh")})
            copy(conn, "voice_insights", ["voice_id", "case_id", "signature", "at", "lat",
                                          "lon", "category", "computed_at"],
                 ["int8", "int8", "bytea", "timestamptz", "float8", "float8", "text",
                  "timestamptz"], insights,
                 {"urgency_reasons": ("json", Json([])), "match_reasons": ("json", Json([]))})
            copy(conn, "case_events", ["id", "case_id", "kind", "actor", "from_department_id",
                                       "to_department_id", "message", "created_at", "data"],
                 ["int8", "int8", "text", "text", "int4", "int4", "text", "timestamptz",
                  "json"],
                 [(*e[:-1], assessed[e[-1]]) for e in events], {"public": ("bool", True)})
            conn.commit()
            print(f"  {cases[-1][0]:,} cases written", file=sys.stderr)
        with conn.cursor() as cur:
            for table in ("cases", "voices", "case_events"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    del now
    return dict(life.made)


def in_process(url: str, start: datetime, end: datetime) -> None:
    """The audit's parts, timed inside one process (the report as the CLI builds it)."""
    from civicpulse.domain.roles import SYSTEM
    from civicpulse.infra.context import Context
    from civicpulse.insight.formalism_patterns import Period
    from civicpulse.services.formalism import formalism_report
    from civicpulse.services.formalism_audit import run_audit
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database

    work = Path(tempfile.mkdtemp(prefix="bench-formalism-"))
    ctx = Context(db=Database(url), settings=Settings(data_dir=work, database_url=url,
                                                      _env_file=None))  # type: ignore[call-arg]
    t0 = time.perf_counter()
    audit = run_audit(ctx, Period(start, end))
    t1 = time.perf_counter()
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in audit.seconds.items())
    print(f"in process: the audit {t1 - t0:.1f} s ({parts}); {len(audit.flags):,} flags")
    t2 = time.perf_counter()
    report = formalism_report(ctx, SYSTEM, since=start, until=end)
    print(f"in process: the whole report {time.perf_counter() - t2:.1f} s, "
          f"{len(report.flags):,} flags")
    kinds = Counter(f.kind for f in report.flags)
    print("flags by kind: " + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())))
    ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time the audit on the database a --keep run left")
    args = parser.parse_args()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) \
        - timedelta(days=1)
    start = end - timedelta(days=730)
    url = make_url(PG_ADMIN).set(database=DB_NAME).render_as_string(False)
    if not args.reuse:
        url = fresh_database()
        t0 = time.perf_counter()
        made = build(url, args.cases, start, end)
        print(f"{args.cases:,} cases written in {time.perf_counter() - t0:.0f} s; made "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(made.items())))
    with create_engine(url).connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM case_events")).scalar_one()
        cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    print(f"{cases:,} cases, {events:,} timeline entries")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(CIVICPULSE_DATABASE_URL=url,
               CIVICPULSE_DATA_DIR=tempfile.mkdtemp(prefix="bench-formalism-cli-"))
    command = [str(BIN), "audit", "formalism", "--since", start.isoformat(), "--until",
               end.isoformat(), "--format", "json"]
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(done.stderr)
    report = json.loads(done.stdout)
    print(f"civicpulse audit formalism over {start:%Y-%m-%d} – {end:%Y-%m-%d}: {wall:.1f} s "
          f"wall (the process, start-up included), {len(report['flags']):,} flags, "
          f"{len(done.stdout) / 1e6:.0f} MB of JSON")
    t0 = time.perf_counter()
    done = subprocess.run([str(BIN), "audit", "formalism", "--format", "json"], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.stderr)
    print(f"civicpulse audit formalism (the default period, the last 90 days): "
          f"{time.perf_counter() - t0:.1f} s wall, {len(json.loads(done.stdout)['flags']):,} "
          "flags")
    in_process(url, start, end)
    if not args.keep:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
