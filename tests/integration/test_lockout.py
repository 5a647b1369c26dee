"""Login lockout per account and rate limits shared by every server process (issue 10,
finding 3), on SQLite and PostgreSQL (and Redis).

Each login try costs a 64 MiB argon2 hash and the limits used to be counted per process, so
several processes (or addresses) multiplied an attacker's budget. Now failed logins are
counted per account name in the database and lock it before any hash is computed, and the
per-client limits count in the database or Redis where every process sees them.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.infra.rate_limits import (
    DatabaseLimiter,
    MemoryLimiter,
    RedisLimiter,
    backend_for,
    build_limiters,
    sliding_verdict,
)
from civicpulse.services import staff
from tests.city import PASSWORD, City
from tests.conftest import Clock

ATTEMPTS = 5  # the default of login_lockout_attempts


def _login(city: City, username: str, password: str) -> int:
    r = city.client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return r.status_code


def test_failed_logins_lock_the_account_before_the_hash_is_checked(
    city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [_login(city, "roads1", "guess") for _ in range(ATTEMPTS)] == [401] * ATTEMPTS
    assert _login(city, "roads1", PASSWORD) == 429  # the right password no longer helps

    def no_hash(_: Any) -> Any:
        raise AssertionError("a locked account must not cost a password hash")

    with monkeypatch.context() as m:
        m.setattr(staff, "hasher", no_hash)
        r = city.client.post(
            "/api/v1/auth/token", data={"username": "roads1", "password": PASSWORD}
        )
    assert r.status_code == 429 and "try again in 15 min" in r.json()["detail"]
    assert _login(city, "roads2", PASSWORD) == 200  # other accounts are not affected
    clock.advance(minutes=15)
    assert _login(city, "roads1", PASSWORD) == 200


def test_an_unknown_name_gets_the_same_answers_as_a_real_one(city: City) -> None:
    real = [_login(city, "parks1", "guess") for _ in range(ATTEMPTS + 1)]
    unknown = [_login(city, "no-such-user", "guess") for _ in range(ATTEMPTS + 1)]
    assert real == unknown == [401] * ATTEMPTS + [429]
    a = city.client.post("/api/v1/auth/token", data={"username": "parks1", "password": "x"})
    b = city.client.post("/api/v1/auth/token", data={"username": "no-such-user", "password": "x"})
    assert a.json() == b.json()


def test_a_successful_login_resets_the_count_and_an_old_window_expires(
    city: City, clock: Clock
) -> None:
    for _ in range(2):
        assert [_login(city, "audit", "guess") for _ in range(ATTEMPTS - 1)] == [401] * 4
        assert _login(city, "audit", PASSWORD) == 200
    assert [_login(city, "audit", "guess") for _ in range(ATTEMPTS - 1)] == [401] * 4
    clock.advance(minutes=16)  # the window passed: the count starts again
    assert [_login(city, "audit", "guess") for _ in range(ATTEMPTS - 1)] == [401] * 4
    assert _login(city, "audit", PASSWORD) == 200


def test_the_login_page_shares_the_lockout(city: City) -> None:
    for _ in range(ATTEMPTS):
        _login(city, "dispatch", "guess")
    city.client.get("/staff/login")
    csrf = city.client.cookies.get("cp_csrf")
    r = city.client.post(
        "/staff/login",
        data={"csrf_token": csrf, "username": "dispatch", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 429 and "too many failed logins" in r.text


def test_an_admin_password_reset_lifts_the_lock(city: City) -> None:
    for _ in range(ATTEMPTS):
        _login(city, "roads2", "guess")
    assert _login(city, "roads2", PASSWORD) == 429
    staff.reset_password(city.ctx, SYSTEM, "roads2", "brand new password")
    assert _login(city, "roads2", "brand new password") == 200


# ---- shared rate limits --------------------------------------------------------------------


class WallClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_database_limiters_in_two_processes_share_one_count(ctx: Context) -> None:
    wall = WallClock(1_000_040.0)  # 20 s into a minute window
    one = DatabaseLimiter(ctx.db, "public", 4, clock=wall)
    two = DatabaseLimiter(ctx.db, "public", 4, clock=wall)
    verdicts = [(one if i % 2 else two).allow("198.51.100.7")[0] for i in range(6)]
    assert verdicts == [True] * 4 + [False] * 2
    assert one.allow("198.51.100.8")[0]  # another client has its own count
    assert DatabaseLimiter(ctx.db, "login", 4, clock=wall).allow("198.51.100.7")[0]
    # a minute later the previous window still weighs 2/3: 6 × 2/3 = 4 already
    wall.now += 60
    allowed, retry = one.allow("198.51.100.7")
    assert not allowed and retry >= 1
    wall.now += 60  # two windows later it has slid out entirely
    assert two.allow("198.51.100.7")[0]


def test_database_limiter_forgets_old_windows(ctx: Context) -> None:
    from sqlalchemy import func, select

    from civicpulse.storage.tables import RateCounter

    wall = WallClock(2_000_000.0)
    limiter = DatabaseLimiter(ctx.db, "public", 10, clock=wall)
    for i in range(5):
        limiter.allow(f"client-{i}")
    wall.now += 3600
    limiter.allow("late")
    with ctx.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(RateCounter)) == 1


def test_sliding_estimate() -> None:
    # 30 s into the window, the previous window's 10 hits weigh 5
    assert sliding_verdict(10, 60, 90.0, 5, 10) == (True, 0.0)
    allowed, retry = sliding_verdict(10, 60, 90.0, 6, 10)
    assert not allowed and 1 <= retry <= 60


def test_the_backend_is_chosen_by_settings_and_database(ctx: Context) -> None:
    s = ctx.settings
    assert backend_for(s, "sqlite") == "memory"
    assert backend_for(s, "postgresql") == "database"
    assert backend_for(s.model_copy(update={"redis_url": "redis://x"}), "sqlite") == "redis"
    assert backend_for(s.model_copy(update={"rate_limit_backend": "database"}), "sqlite") == (
        "database"
    )
    limiters = build_limiters(s, ctx.db)
    expected = DatabaseLimiter if ctx.db.dialect == "postgresql" else MemoryLimiter
    assert all(isinstance(x, expected) for x in limiters.values())
    assert set(limiters) == {"public", "login", "support"}


def test_public_requests_share_the_database_limit(city: City) -> None:
    """Through the app: async routes (the intake) and sync ones count in the same table."""
    app: Any = city.client.app
    app.state.limiters["public"] = DatabaseLimiter(city.ctx.db, "public", 3)
    codes = [
        city.client.post("/api/v1/voices", json={"text": "pothole"}).status_code,
        city.client.get("/api/v1/departments/scorecard").status_code,
        city.client.get("/").status_code,
        city.client.get("/api/v1/topics").status_code,
    ]
    assert codes == [201, 200, 200, 429]


REDIS_URL = os.environ.get("CIVICPULSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI but not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return client


def test_redis_limiters_share_one_count() -> None:
    client = _redis()
    prefix = f"civicpulse-test-{secrets.token_hex(4)}"
    wall = WallClock(3_000_020.0)
    try:
        one = RedisLimiter(client, "public", 4, prefix=prefix, clock=wall)
        two = RedisLimiter(client, "public", 4, prefix=prefix, clock=wall)
        verdicts = [(one if i % 2 else two).allow("198.51.100.7")[0] for i in range(6)]
        assert verdicts == [True] * 4 + [False] * 2
        assert one.allow("198.51.100.8")[0]
        wall.now += 120
        assert two.allow("198.51.100.7")[0]
        assert all(0 < client.ttl(k) <= 121 for k in client.scan_iter(f"{prefix}:*"))
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
