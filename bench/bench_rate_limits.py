"""What a rate-limit check costs per request, per backend (infra/rate_limits.py).

    nice .venv/bin/python bench/bench_rate_limits.py --calls 4000 --threads 4
    nice .venv/bin/python bench/bench_rate_limits.py --intake 400

Times ``allow()`` of each backend on a fresh database: memory, the database on SQLite and on
PostgreSQL (one upsert + one primary-key read per call, ``synchronous_commit = off`` on
PostgreSQL) and Redis (one pipelined round trip), from ``--threads`` threads over 1,000 client
addresses, as the thread pool of one server process would call it. Prints one JSON line per
backend: calls/s and the latency percentiles in microseconds. A backend whose server is not
reachable is reported as skipped.

``--intake N`` instead posts N anonymous voices (``POST /api/v1/voices``, the rate-limited
intake path) one after another through the app in this process on PostgreSQL, once with
the memory limiter and once with the database limiter, alternating in rounds of 50 so that
both see the same machine: the difference is what the shared limit costs intake.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from civicpulse.infra.rate_limits import DatabaseLimiter, MemoryLimiter, RedisLimiter
from civicpulse.storage.database import Database
from civicpulse.storage.migrate import upgrade

PG_ADMIN = os.environ.get(
    "CIVICPULSE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("CIVICPULSE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def run(allow: Callable[[str], object], calls: int, threads: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        mine = []
        for i in range(calls // threads):
            started = time.perf_counter()
            allow(f"198.51.{(offset * 7 + i) % 4}.{i % 250}")
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "calls_per_s": round(len(latencies) / elapsed),
        "p50_us": round(q[49] * 1e6),
        "p99_us": round(q[98] * 1e6),
    }


def fresh_pg() -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "civicpulse_bench_limits" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "civicpulse_bench_limits"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database="civicpulse_bench_limits").render_as_string(
        hide_password=False
    )


def intake(n: int) -> None:
    from fastapi.testclient import TestClient

    from civicpulse.domain.roles import SYSTEM
    from civicpulse.infra.context import Context
    from civicpulse.services.catalogue import import_catalogue
    from civicpulse.settings import Settings
    from civicpulse.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=fresh_pg(), public_rate_limit_per_minute=10**9,
            match_auto_merge=False, _env_file=None,  # type: ignore[call-arg]
        )
        ctx = Context(db=Database(settings.resolved_database_url()), settings=settings)
        upgrade(ctx.db.engine)
        import_catalogue(ctx, SYSTEM, {
            "departments": [{"code": "roads", "name_en": "Roads"}],
            "categories": [{"code": "pothole", "name_en": "Pothole", "department": "roads"}],
        })
        limiters = {
            "memory": MemoryLimiter(10**9),
            "database": DatabaseLimiter(ctx.db, "public", 10**9),
        }
        spent = dict.fromkeys(limiters, 0.0)
        with TestClient(create_app(ctx)) as client:
            app: Any = client.app
            for i in range(n // 50):
                for name, limiter in limiters.items():
                    app.state.limiters["public"] = limiter
                    started = time.perf_counter()
                    for j in range(50):
                        r = client.post("/api/v1/voices", json={
                            "text": f"pothole number {i}-{j} on {name} street",
                            "category": "pothole"})
                        assert r.status_code == 201, r.text
                    spent[name] += time.perf_counter() - started
        ctx.close()
    for name, seconds in spent.items():
        print(json.dumps({"intake_with": name, "voices": n // 50 * 50,
                          "voices_per_s": round(n // 50 * 50 / seconds),
                          "ms_per_voice": round(seconds / (n // 50 * 50) * 1000, 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--intake", type=int, default=0)
    args = parser.parse_args()
    if args.intake:
        intake(args.intake)
        return
    limit = 10**9  # never refuse: the cost measured is the count, not the refusal

    def report(backend: str, result: dict[str, object]) -> None:
        print(json.dumps({"backend": backend, "threads": args.threads, **result}), flush=True)

    report("memory", run(MemoryLimiter(limit).allow, args.calls, args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db.engine)
        report("database-sqlite",
               run(DatabaseLimiter(db, "public", limit).allow, args.calls, args.threads))
        db.dispose()
    try:
        db = Database(fresh_pg())
    except Exception as exc:  # report and go on: PostgreSQL is optional here
        report("database-postgresql", {"skipped": str(exc)[:100]})
    else:
        upgrade(db.engine)
        report("database-postgresql",
               run(DatabaseLimiter(db, "public", limit).allow, args.calls, args.threads))
        db.dispose()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        report("redis", {"skipped": str(exc)[:100]})
        return
    limiter = RedisLimiter(client, "public", limit, prefix="civicpulse-bench")
    report("redis", run(limiter.allow, args.calls, args.threads))
    for key in client.scan_iter("civicpulse-bench:*"):
        client.delete(key)


if __name__ == "__main__":
    main()
