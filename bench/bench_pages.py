"""Latency of the public pages with 100,000 cases in PostgreSQL, and the weight of the form.

    python bench/bench_pages.py                       # 100,000 cases, 2 workers
    python bench/bench_pages.py --cases 100000 --connections 8 --duration 15 --sequential 300

Builds a fresh PostgreSQL database (the helper of ``bench_voices.py``), imports the demo
catalogue and the Boston 311 file (the file of ``bench_import.py``) twice, under two channels,
through the real ``civicpulse import voices``, with each row's category taken from the
demo's own Boston-to-catalogue table; the file is topped up with renumbered copies of its
first rows so that the two runs make exactly ``--cases`` cases. Then starts the real
``civicpulse serve --workers N`` (jobs off, public rate limit lifted) and measures, for the
home page, the case list (first page and a title search), case pages (random ids) and the
league table:

* ``sequential``: one client, one request at a time (httpx, ``--sequential`` requests);
* ``concurrent``: wrk with ``--connections`` connections for ``--duration`` seconds.

Last, the resident form page ``/report`` and every asset it references (link, script, img,
and ``url()``/``@import`` inside its stylesheets) are fetched and their bytes summed.
Prints one JSON line; exits non-zero when something could not be measured (a non-200
answer, too few cases, wrk missing).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import MAPPING, SOURCE
from bench_voices import BIN, WRK_REPORT, fresh_database, run_wrk, worker_rss
from civicpulse.demo.sources import BOSTON_REASONS, BOSTON_TYPES
from civicpulse.storage.tables import Case

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "src" / "civicpulse" / "demo" / "catalogue.yaml"
CHANNELS = ("hotline", "web")
SEARCH = "light"  # "Street Light Outages" and friends: a common word in the titles

LUA = r"""
local paths = {%(paths)s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
""" + WRK_REPORT


def boston_category(row: dict[str, str]) -> str:
    """The demo catalogue's category for a Boston request (the demo seeder's own table)."""
    return BOSTON_TYPES.get(row["type"]) or BOSTON_REASONS.get(row["reason"]) or "general"


def write_source(path: Path, rows_wanted: int) -> int:
    """The Boston file plus a ``cp_category`` column, topped up to ``rows_wanted`` rows with
    renumbered copies of its first rows (external ids suffixed ``-copy``)."""
    with gzip.open(SOURCE, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = [*(reader.fieldnames or []), "cp_category"]
        rows = [dict(r, cp_category=boston_category(r)) for r in reader]
    extra = [
        dict(r, case_enquiry_id=f"{r['case_enquiry_id']}-copy")
        for r in rows[: max(0, rows_wanted - len(rows))]
    ]
    out = (rows + extra)[:rows_wanted]
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(out)
    return len(out)


def reusable_database() -> str | None:
    """The database ``fresh_database`` made last time, if it is there (for --reuse)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bench_voices import PG_ADMIN

    url = make_url(PG_ADMIN).set(database="civicpulse_bench_voices").render_as_string(False)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(select(func.count()).select_from(Case)).scalar_one()
        return url
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)], 1)

    return {
        "requests": len(ordered),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def sequential(base: str, paths: list[str], n: int, budget_s: float) -> dict[str, float]:
    """n requests one at a time, or fewer (at least 20) when a slow page would exceed budget_s."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(n):
            if i >= 20 and time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            r = client.get(paths[i % len(paths)])
            elapsed = (time.perf_counter() - started) * 1000
            if r.status_code != 200:
                raise SystemExit(f"GET {paths[i % len(paths)]} answered {r.status_code}")
            samples.append(elapsed)
    return percentiles(samples)


def concurrent(
    base: str, paths: list[str], workdir: Path, connections: int, duration: int
) -> dict[str, float]:
    script = workdir / "pages.lua"
    script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths)})
    result = run_wrk(script, base, connections, duration, threads=2, timeout_s=30)
    result["requests_per_s"] = round(result["requests"] / result["duration_s"], 1)
    return result


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v}
        if tag == "link" and a.get("href"):
            self.refs.append(a["href"])
        elif tag in {"script", "img", "source", "iframe", "audio", "video"} and a.get("src"):
            self.refs.append(a["src"])
        if a.get("srcset"):
            self.refs += [part.split()[0] for part in a["srcset"].split(",") if part.strip()]


CSS_REF = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def page_weight(base: str, path: str) -> dict[str, object]:
    """Bytes of a page and of every asset it references (recursively into stylesheets)."""
    with httpx.Client(timeout=30, headers={"Accept-Encoding": "gzip, br"}) as client:
        seen: dict[str, dict[str, object]] = {}
        queue = [urljoin(base, path)]
        while queue:
            url = queue.pop(0)
            if url in seen or url.startswith("data:"):
                continue
            r = client.get(url)
            if r.status_code != 200:
                raise SystemExit(f"asset {url} answered {r.status_code}")
            ctype = r.headers.get("content-type", "")
            seen[url] = {
                "bytes": len(r.content),
                "wire_bytes": r.num_bytes_downloaded,
                "type": ctype.split(";")[0],
                "same_origin": urlsplit(url).netloc == urlsplit(base).netloc,
            }
            refs: list[str] = []
            if "html" in ctype:
                parser = _Assets()
                parser.feed(r.text)
                refs = parser.refs
            elif "css" in ctype:
                refs = [a or b for a, b in CSS_REF.findall(r.text)]
            queue += [urljoin(url, ref) for ref in refs if not ref.startswith("data:")]
    return {
        "total_bytes": sum(int(v["bytes"]) for v in seen.values()),
        "total_wire_bytes": sum(int(v["wire_bytes"]) for v in seen.values()),
        "files": {urlsplit(u).path: v for u, v in seen.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--duration", type=int, default=15, help="seconds of wrk per page")
    ap.add_argument("--sequential", type=int, default=300, help="one-at-a-time requests per page")
    ap.add_argument(
        "--sequential-budget",
        type=float,
        default=60,
        help="seconds of one-at-a-time requests per page at most (never fewer than 20 requests)",
    )
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--target-ms", type=float, default=200.0)
    ap.add_argument("--target-form-bytes", type=int, default=200_000)
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database of a previous run when it holds enough cases (no reload)",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if not SOURCE.exists():
        sys.exit(f"real data not present: {SOURCE}")

    workdir = Path(tempfile.mkdtemp(prefix="cp-bench-pages-"))
    url = reusable_database() if args.reuse else None
    reused = url is not None
    url = url or fresh_database("postgresql", workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(
        CIVICPULSE_DATABASE_URL=url,
        CIVICPULSE_DATA_DIR=str(workdir / "data"),
        CIVICPULSE_RUN_JOBS_IN_PROCESS="false",
        CIVICPULSE_PUBLIC_RATE_LIMIT_PER_MINUTE="100000000",
        CIVICPULSE_TIMEZONE="America/New_York",
    )
    load_started = time.perf_counter()
    if not reused:
        cli(env, "init")
        cli(env, "categories", "import", str(CATALOGUE))
        source = workdir / "boston-with-category.csv.gz"
        write_source(source, math.ceil(args.cases / len(CHANNELS)))
        maps = [
            a
            for k, v in {**MAPPING, "category": "cp_category"}.items()
            for a in ("--map", f"{k}={v}")
        ]
        for channel in CHANNELS:
            cli(env, "import", "voices", str(source), *maps, "--channel", channel, "--quiet")
    engine = create_engine(url)
    with engine.connect() as conn:
        cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        lo, hi = conn.execute(select(func.min(Case.id), func.max(Case.id))).one()
    engine.dispose()
    load_s = time.perf_counter() - load_started
    if cases < args.cases:
        sys.exit(f"only {cases} cases loaded, wanted {args.cases}")

    # case pages: 200 ids spread over the whole table
    step = max(1, (hi - lo) // 200)
    case_paths = [f"/cases/{i}" for i in range(lo + step // 2, hi + 1, step)][:200]
    pages = {
        "home": ["/"],
        "cases_first_page": ["/cases"],
        "cases_search": [f"/cases?q={SEARCH}"],
        "case_page": case_paths,
        "league": ["/league"],
    }

    server = subprocess.Popen(
        [str(BIN), "serve", "--port", str(args.port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    report: dict[str, object] = {
        "cases": cases,
        "load_s": None if reused else round(load_s, 1),
        "workers": args.workers,
        "connections": args.connections,
    }
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            sys.exit("server did not start")
        for paths in pages.values():  # warm every worker's caches and connection pools
            for p in paths[:4] * (2 * args.workers):
                httpx.get(base + p, timeout=60)
        results: dict[str, object] = {}
        for name, paths in pages.items():
            seq = sequential(base, paths, args.sequential, args.sequential_budget)
            # a slow page gets a longer wrk run, so each connection completes a few requests
            duration = args.duration
            duration = min(
                120,
                max(
                    duration, math.ceil(seq["mean_ms"] / 1000 * args.connections / args.workers * 4)
                ),
            )
            results[name] = {
                "sequential": seq,
                "concurrent": concurrent(base, paths, workdir, args.connections, duration),
            }
            print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
        report["pages"] = results
        report["form"] = page_weight(base, "/report")
        report["rss_mb_per_process"] = [round(x, 1) for x in worker_rss(server.pid)]
    finally:
        server.terminate()
        server.wait(timeout=30)

    over = [
        f"{name} {mode} p95 {r[mode]['p95_ms']} ms"
        for name, r in results.items()
        for mode in ("sequential", "concurrent")
        if r[mode]["p95_ms"] >= args.target_ms
    ]
    if report["form"]["total_bytes"] >= args.target_form_bytes:
        over.append(f"form {report['form']['total_bytes']} bytes")
    report["over_target"] = over
    unmeasured = [
        name
        for name, r in results.items()
        if r["concurrent"]["requests"] == 0 or r["concurrent"]["errors"]
    ]
    report["unmeasured"] = unmeasured
    print(json.dumps(report))
    shutil.rmtree(workdir, ignore_errors=True)
    if unmeasured:
        sys.exit(f"not measured (wrk got no answer or errors): {', '.join(unmeasured)}")


if __name__ == "__main__":
    main()
