"""Two real `civicpulse serve` processes on one PostgreSQL database share the login lockout
and the public rate limit (issue 10, finding 3): an attacker who spreads tries over the
processes gets no more than from one.

Counted per process, as before, each process granted its own budget: here that would be
twice the limit of public requests and twice the failed logins before a lock.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import drop_pg_database, pg_test_url
from tests.live import cli_env, live_server, run_cli

LIMIT = 4
ATTEMPTS = 3
PASSWORD = "correct horse battery"


@pytest.fixture
def url() -> Iterator[str]:
    made = pg_test_url(f"civicpulse_two_servers_{os.getpid()}")
    yield made
    drop_pg_database(made)


def test_two_servers_share_the_lockout_and_the_public_limit(tmp_path: Path, url: str) -> None:
    env = cli_env(
        url,
        tmp_path / "data",
        CIVICPULSE_PUBLIC_RATE_LIMIT_PER_MINUTE=str(LIMIT),
        CIVICPULSE_LOGIN_RATE_LIMIT_PER_MINUTE="100",
        CIVICPULSE_LOGIN_LOCKOUT_ATTEMPTS=str(ATTEMPTS),
        CIVICPULSE_PASSWORD_HASH_MEMORY_KIB="1024",
        CIVICPULSE_PASSWORD_HASH_TIME_COST="1",
        CIVICPULSE_RUN_JOBS_IN_PROCESS="false",
    )
    assert run_cli(env, "init").returncode == 0
    added = run_cli(env, "users", "add", "chief", "--role", "admin", "--password", PASSWORD)
    assert added.returncode == 0, added.stderr
    with live_server(env) as one, live_server(env) as two:
        servers = itertools.cycle([httpx.Client(base_url=b, timeout=10) for b in (one, two)])

        def login(password: str) -> int:
            data = {"username": "chief", "password": password}
            return next(servers).post("/api/v1/auth/token", data=data).status_code

        assert [login("guess") for _ in range(ATTEMPTS)] == [401] * ATTEMPTS
        # locked on both servers, the right password included
        assert [login(PASSWORD), login(PASSWORD)] == [429, 429]

        codes = [
            next(servers).get("/api/v1/departments/scorecard").status_code
            for _ in range(LIMIT + 2)
        ]
        assert codes == [200] * LIMIT + [429, 429], codes
        # the intake path (async, its check in the thread pool) counts in the same place
        refused = next(servers).post("/api/v1/voices", json={"text": "pothole on Elm St"})
        assert refused.status_code == 429
