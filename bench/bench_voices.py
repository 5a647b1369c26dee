"""Load test of POST /api/v1/voices over loopback, with wrk as the load generator.

    python bench/bench_voices.py --backend sqlite --workers 1
    python bench/bench_voices.py --backend postgresql --workers 2

Builds a fresh database, seeds one routed category and an API key, starts the real
``civicpulse serve``, measures the server's resident memory at rest, drives it with wrk
(C connections for D seconds), then checks that every accepted request is a voice in the
database. Needs Debian's ``wrk`` (apt-get install wrk). Prints one JSON line of results.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.catalogue import import_catalogue
from civicpulse.services.staff import add_api_key
from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.migrate import upgrade
from civicpulse.storage.tables import Voice

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PG_ADMIN = os.environ.get(
    "CIVICPULSE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BIN = Path(sys.executable).parent / "civicpulse"

#: wrk's closing report as one JSON line after "RESULT "; appended to every bench's script
WRK_REPORT = r"""
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status
  io.write(string.format(
    'RESULT {"requests":%%d,"duration_s":%%.3f,"errors":%%d,"non2xx":%%d,' ..
    '"p50_ms":%%.2f,"p90_ms":%%.2f,"p95_ms":%%.2f,"p99_ms":%%.2f,"max_ms":%%.2f}\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%(key)s"
local n = 0
local texts = {%(texts)s}
request = function()
  n = n + 1
  local lat, lon = 42.35, -71.06
  if %(spread)s then  -- every voice somewhere else in a 20 km square: distinct problems
    lat = 42.25 + ((n * 7919) %% 1000) / 5000
    lon = -71.16 + ((n * 104729) %% 1000) / 4000
  end
  local text = '"Street light out on Elm St near number ' .. n .. ', dark at night"'
  if #texts > 0 then text = texts[(n %% #texts) + 1] end
  local body = '{"text":' .. text ..
    ',"category":"streetlight","location":{"lat":' .. lat ..
    ',"lon":' .. lon .. '},"contact":{"name":"Resident ' .. n .. '","phone":"555-0100"}}'
  return wrk.format(nil, "/api/v1/voices", nil, body)
end
""" + WRK_REPORT


def fresh_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "civicpulse_bench_voices" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "civicpulse_bench_voices"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database="civicpulse_bench_voices").render_as_string(False)


def seed(url: str, data_dir: Path) -> str:
    db = Database(url)
    upgrade(db.engine)
    ctx = Context(db=db, settings=Settings(data_dir=data_dir, database_url=url))
    import_catalogue(
        ctx,
        SYSTEM,
        {
            "departments": [{"code": "pwd", "name_en": "Public Works", "name_zh": "市政"}],
            "categories": [
                {
                    "code": "streetlight",
                    "name_en": "Street light out",
                    "name_zh": "路灯故障",
                    "department": "pwd",
                    "first_response_hours": 24,
                    "resolution_hours": 120,
                }
            ],
        },
    )
    key = add_api_key(ctx, SYSTEM, "bench")
    db.dispose()
    return key


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def worker_rss(pid: int) -> list[float]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [rss_mb(k) for k in kids] or [rss_mb(pid)]


def run_wrk(
    script: Path, base: str, connections: int, duration: int, threads: int, timeout_s: int
) -> dict[str, Any]:
    """Run wrk with a Lua script ending in WRK_REPORT; its closing report as a dict."""
    out = subprocess.run(
        [
            "wrk",
            "-t", str(threads),
            "-c", str(connections),
            "-d", f"{duration}s",
            "--timeout", f"{timeout_s}s",
            "-s", str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    report: dict[str, Any] = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    return report


def real_texts(limit: int = 5000) -> list[str]:
    """Residents' own words for the load: long, varied, mostly different problems."""
    path = SHARED / "gov_message_board" / "labelled_messages.csv"
    with path.open(encoding="utf-8") as f:
        rows = [r["text"].strip() for r in csv.DictReader(f)]
    return [t[:2000] for t in rows if t and "]==]" not in t][:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration", type=int, default=20, help="seconds of load")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument(
        "--places",
        choices=["same", "spread"],
        default="same",
        help="same: every voice at one spot, so each is merged into the first case (the "
        "worst case for same-problem matching); spread: each at its own place, none merged",
    )
    ap.add_argument("--no-merge", action="store_true", help="CIVICPULSE_MATCH_AUTO_MERGE=false")
    ap.add_argument(
        "--texts",
        choices=["template", "real"],
        default="template",
        help="template: one sentence with a number; real: residents' messages from "
        "../shared/data/gov_message_board/labelled_messages.csv, in turn",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    url = fresh_database(args.backend, workdir)
    key = seed(url, workdir / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(
        CIVICPULSE_DATABASE_URL=url,
        CIVICPULSE_DATA_DIR=str(workdir / "data"),
        CIVICPULSE_RUN_JOBS_IN_PROCESS="false",
        CIVICPULSE_MATCH_AUTO_MERGE="false" if args.no_merge else "true",
    )
    server = subprocess.Popen(
        [str(BIN), "serve", "--port", str(args.port), "--workers", str(args.workers)], env=env
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # warm every worker, then let it settle and measure memory at rest
        for _ in range(20 * args.workers):
            httpx.get(f"{base}/healthz")
        time.sleep(2)
        rest = worker_rss(server.pid)
        script = workdir / "post.lua"
        texts = real_texts() if args.texts == "real" else []
        script.write_text(
            LUA
            % {
                "key": key,
                "spread": str(args.places == "spread").lower(),
                # each a JSON string literal inside a Lua long string
                "texts": ",".join(f"[==[{json.dumps(t, ensure_ascii=False)}]==]" for t in texts),
            }
        )
        result = run_wrk(script, base, args.connections, args.duration, args.threads, 10)
        loaded = worker_rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Voice)).scalar_one()
    engine.dispose()
    ok = result["requests"] - result["non2xx"]
    report = {
        "backend": args.backend,
        "workers": args.workers,
        "connections": args.connections,
        "voices_per_s": round(ok / result["duration_s"], 1),
        **{
            k: result[k]
            for k in ("requests", "errors", "non2xx", "p50_ms", "p90_ms", "p99_ms", "max_ms")
        },
        "voices_stored": stored,
        "rss_at_rest_mb_per_process": [round(x, 1) for x in rest],
        "rss_after_load_mb_per_process": [round(x, 1) for x in loaded],
    }
    print(json.dumps(report))
    # wrk counts a request cut off at the end of the run that the server may still have
    # stored, so stored >= accepted; fewer would mean a lost voice
    if stored < ok:
        sys.exit(f"LOST VOICES: {ok} accepted, {stored} stored")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
