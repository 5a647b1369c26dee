"""Throughput of `import voices` on the full Boston 311 file (49,914 rows), per backend.

    python bench/bench_import.py                      # PostgreSQL and SQLite
    python bench/bench_import.py --backend postgresql --repeat 3 --batch-size 5000

Each run imports the file into a fresh, migrated database (PostgreSQL:
``civicpulse_bench_import``; SQLite: a temporary file) through the same service the CLI
calls, checks that every row became exactly one voice, and prints one JSON line per run
with rows/s. The file is read from ../shared/data and never copied.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from civicpulse.channels.tabular import file_sha256, open_table
from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.import_options import DEFAULT_BATCH, ImportOptions
from civicpulse.services.imports import import_voices
from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.migrate import upgrade
from civicpulse.storage.tables import Voice

PG_ADMIN = os.environ.get(
    "CIVICPULSE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SOURCE = DATA / "boston311" / "requests_2011_jul_nov.csv.gz"
MAPPING = {
    "text": "case_title",
    "external_id": "case_enquiry_id",
    "occurred_at": "open_dt",
    "lat": "latitude",
    "lon": "longitude",
    "address": "location",
}


def fresh_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        path = workdir / "bench.db"
        for leftover in workdir.glob("bench.db*"):
            leftover.unlink()
        return f"sqlite:///{path}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "civicpulse_bench_import" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "civicpulse_bench_import"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database="civicpulse_bench_import").render_as_string(False)


def run(backend: str, workdir: Path, batch_size: int) -> dict[str, object]:
    url = fresh_database(backend, workdir)
    db = Database(url)
    upgrade(db.engine)
    settings = Settings(data_dir=workdir, database_url=url, _env_file=None)
    ctx = Context(db=db, settings=settings)
    options = ImportOptions(mapping=MAPPING, timezone="America/New_York", batch_size=batch_size)
    started = time.perf_counter()
    digest = file_sha256(SOURCE)
    table = open_table(SOURCE)
    try:
        report = import_voices(ctx, SYSTEM, table, digest, options)
    finally:
        table.close()
    elapsed = time.perf_counter() - started
    with db.reader() as s:
        voices = s.scalar(select(func.count()).select_from(Voice))
    db.dispose()
    assert voices == report.imported == report.rows_read - len(report.rejected), report
    return {
        "backend": backend,
        "rows": report.rows_read,
        "imported": report.imported,
        "rejected": len(report.rejected),
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(report.rows_read / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    args = parser.parse_args()
    if not SOURCE.exists():
        sys.exit(f"real data not present: {SOURCE}")
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="civicpulse-bench-import-") as tmp:
        for backend in backends:
            for _ in range(args.repeat):
                print(json.dumps(run(backend, Path(tmp), args.batch_size)), flush=True)


if __name__ == "__main__":
    main()
