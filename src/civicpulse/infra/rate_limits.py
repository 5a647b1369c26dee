"""Rate limits per client address and bucket, counted where every server process sees them.

A limit counted in one process's memory is multiplied by the number of processes (and reset
by every restart), so production with several processes needs a shared count. Three
backends answer the same question, ``allow(key) -> (allowed, retry_after_seconds)``:

* ``MemoryLimiter``: a sliding log in this process. No I/O at all, so it is the right one for
  a single process, which is how the embedded SQLite default serves: there a counter write
  per public request would queue behind intake on SQLite's one writer and pay a disk flush
  (``synchronous=FULL``) each time, to protect nothing another process could bypass.
* ``DatabaseLimiter``: two fixed windows in the ``rate_counters`` table, weighted into a
  sliding estimate (the Cloudflare approximation: the previous window counts for the part of
  it the sliding window still covers). One ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
  per request, which also returns the previous window's count, on SQLite ≥ 3.35 and
  PostgreSQL alike; on PostgreSQL the transaction skips the WAL flush
  (``synchronous_commit = off``), as a counter lost in a crash costs nothing. Old windows are
  deleted once a minute per process. About 0.5 ms a check on PostgreSQL, against several ms
  of intake per voice (``bench/README.md``, "Shared rate limits").
* ``RedisLimiter``: the same two windows as Redis counters that expire by themselves.

Refused requests count too, so a client that keeps hammering stays refused and one that
pauses is let in again as its old hits slide out of the window.

The shared backends do I/O, so they say ``blocking = True`` and the web layer calls them in
the thread pool, never on the event loop.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, text

from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.tables import RateCounter

if TYPE_CHECKING:
    import redis

#: the column's width; longer keys (none today: they are addresses) are hashed to fit
MAX_KEY = 64
PRUNE_EVERY_SECONDS = 60.0

#: one statement per check: count this hit in this window, and read the previous window's
#: count. Written as SQL text because building the same statement from SQLAlchemy
#: constructs on every request cost more than the database round trip (bench/README.md)
COUNT_HIT = text(
    "INSERT INTO rate_counters (bucket, client, window_start, hits) "
    "VALUES (:bucket, :client, :start, 1) "
    "ON CONFLICT (bucket, client, window_start) DO UPDATE SET hits = rate_counters.hits + 1 "
    "RETURNING hits, (SELECT earlier.hits FROM rate_counters AS earlier "
    "WHERE earlier.bucket = :bucket AND earlier.client = :client "
    "AND earlier.window_start = :previous)"
)


class Limiter(Protocol):
    #: True when ``allow`` does I/O and must run off the event loop
    blocking: bool

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next hit would be allowed)."""
        ...


class MemoryLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key, in this process only."""

    blocking = False

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[Any, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Any) -> tuple[bool, float]:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False, self.window - (now - hits[0])
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients rather than grow forever
                self._hits = {k: v for k, v in self._hits.items() if v}
            return True, 0.0


def sliding_verdict(
    limit: int, window: float, now: float, current: int, previous: int
) -> tuple[bool, float]:
    """Allowed when the previous window's hits, weighted by how much of it the sliding window
    still covers, plus this window's (this hit included) stay within ``limit``; else the
    seconds until they would."""
    start = math.floor(now / window) * window
    elapsed = now - start
    if previous * (window - elapsed) / window + current <= limit:
        return True, 0.0
    if current >= limit:
        # wait for this window to become the previous one and slide out far enough
        wait = (window - elapsed) + window * (1 - (limit - 1) / current)
    else:
        # the previous window must slide out until this one has room
        wait = window * (1 - (limit - current) / previous) - elapsed
    return False, max(wait, 1.0)


def _fit(key: str) -> str:
    return key if len(key) <= MAX_KEY else hashlib.sha256(key.encode()).hexdigest()


class DatabaseLimiter:
    """Two-window sliding counts in the ``rate_counters`` table, shared by all processes."""

    blocking = True

    def __init__(
        self,
        db: Database,
        bucket: str,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.bucket = bucket
        self.limit = limit
        self.window = window
        self.clock = clock  # wall time: every process must agree on the windows
        self._pruned_at = 0.0

    def allow(self, key: str) -> tuple[bool, float]:
        now = self.clock()
        start = int(math.floor(now / self.window) * self.window)
        client = _fit(key)
        values = {
            "bucket": self.bucket, "client": client, "start": start,
            "previous": start - int(self.window),
        }  # fmt: skip
        old = None
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            old = delete(RateCounter).where(RateCounter.window_start < start - int(self.window))
        if self.db.dialect == "postgresql":
            # a connection of the pool, not an ORM session: less than half the cost (bench)
            with self.db.engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                current, previous = conn.execute(COUNT_HIT, values).one()
                if old is not None:
                    conn.execute(old)
        else:
            # SQLite: through the write lock every writer of this process queues on
            with self.db.transaction() as s:
                current, previous = s.execute(COUNT_HIT, values).one()
                if old is not None:
                    s.execute(old)
        return sliding_verdict(self.limit, self.window, now, int(current), int(previous or 0))


class RedisLimiter:
    """The same two-window sliding count in Redis; keys expire after two windows."""

    blocking = True

    def __init__(
        self,
        client: redis.Redis,
        bucket: str,
        limit: int,
        window: float = 60.0,
        prefix: str = "civicpulse",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.limit = limit
        self.window = window
        self.prefix = prefix
        self.clock = clock

    def allow(self, key: str) -> tuple[bool, float]:
        now = self.clock()
        start = int(math.floor(now / self.window) * self.window)
        name = f"{self.prefix}:rate:{self.bucket}:{_fit(key)}"
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(f"{name}:{start}")
        pipe.expire(f"{name}:{start}", int(2 * self.window) + 1)
        pipe.get(f"{name}:{start - int(self.window)}")
        current, _, previous = pipe.execute()
        return sliding_verdict(self.limit, self.window, now, int(current), int(previous or 0))


def backend_for(settings: Settings, dialect: str) -> str:
    """The backend ``rate_limit_backend`` names; ``auto``: Redis when configured, the
    database on PostgreSQL (where several processes serve), memory on SQLite (one process)."""
    chosen = settings.rate_limit_backend
    if chosen != "auto":
        return chosen
    if settings.redis_url:
        return "redis"
    return "database" if dialect == "postgresql" else "memory"


def build_limiters(settings: Settings, db: Database) -> dict[str, Limiter]:
    """The app's limiters by bucket: ``public`` (per client on public endpoints),
    ``login`` (per client on the login routes; the per-account lockout is separate, in
    ``services/staff.py``) and ``support`` (per client on residents' "me too"; one support
    per resident is the database's rule, ``services/supports.py``)."""
    limits = {
        "public": settings.public_rate_limit_per_minute,
        "login": settings.login_rate_limit_per_minute,
        "support": settings.support_rate_limit_per_minute,
    }
    backend = backend_for(settings, db.dialect)
    if backend == "memory":
        return {bucket: MemoryLimiter(n) for bucket, n in limits.items()}
    if backend == "database":
        return {bucket: DatabaseLimiter(db, bucket, n) for bucket, n in limits.items()}
    if not settings.redis_url:
        raise ValueError("rate_limit_backend is redis but redis_url is not set")
    import redis as redis_py

    client = redis_py.Redis.from_url(settings.redis_url, socket_timeout=2)
    # one Redis may serve several installations: each counts under its own database's name
    prefix = "civicpulse:" + hashlib.sha256(db.url.encode()).hexdigest()[:12]
    return {
        bucket: RedisLimiter(client, bucket, n, prefix=prefix) for bucket, n in limits.items()
    }
