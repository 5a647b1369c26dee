"""Shared fixtures: a real database per test on SQLite and on PostgreSQL.

PostgreSQL tests fail (not skip) when CI=true and the server is missing, so a broken CI
machine cannot pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from civicpulse.infra.context import Context
from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.migrate import upgrade
from civicpulse.storage.tables import Base

PG_ADMIN_URL = os.environ.get(
    "CIVICPULSE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A file of ../shared/data, or skip with the reason when it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    return path


class Clock:
    """A clock tests can move: deadlines and verification windows without waiting."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


def pg_test_url(name: str) -> str:
    """Create (fresh) a PostgreSQL database called ``name`` and return its URL."""
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop a database ``pg_test_url`` made, so test runs leave none behind (each worker's
    are named by its process id, so they would pile up run after run)."""
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database per backend, made once per session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(f"sqlite:///{path}")
        upgrade(db.engine)
        db.dispose()
        yield f"sqlite:///{path}"
    else:
        url = pg_test_url(f"civicpulse_test_{os.getpid()}")
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        yield url
        drop_pg_database(url)


def _fresh_url(template: str, tmp_path: Path) -> str:
    if template.startswith("sqlite"):
        target = tmp_path / "civicpulse.db"
        shutil.copyfile(make_url(template).database or "", target)
        return f"sqlite:///{target}"
    eng = create_engine(template)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                     {"h": "0" * 64})
    eng.dispose()
    return template


@pytest.fixture
def db_url(database_template: str, tmp_path: Path) -> str:
    return _fresh_url(database_template, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        public_rate_limit_per_minute=10_000,
        login_rate_limit_per_minute=10_000,
        support_rate_limit_per_minute=10_000,
        scorecard_min_sample=1,
        public_aggregate_cache_seconds=0,
        password_hash_memory_kib=1024,
        password_hash_time_cost=1,
        # many tests send the same words twice and expect two cases; the matching tests
        # turn merging on where they need it
        match_auto_merge=False,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def ctx(settings: Settings, clock: Clock) -> Iterator[Context]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    context = Context(db=Database(settings.resolved_database_url()), settings=settings, clock=clock)
    yield context
    context.close()


@pytest.fixture
def city(ctx: Context) -> Iterator[object]:
    """The test city seeded into a fresh database, with an in-process HTTP client."""
    from fastapi.testclient import TestClient

    from civicpulse.web.app import create_app
    from tests.city import City, seed_city

    seed_city(ctx)
    with TestClient(create_app(ctx)) as client:
        yield City(ctx=ctx, client=client)
