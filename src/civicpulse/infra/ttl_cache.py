"""A tiny thread-safe cache whose entries expire, for lookups on every request.

Used where a few seconds of staleness across processes is acceptable and the process that
makes a change clears its own copy at once (API keys: a revoked key stops working here
immediately and in other server processes within the TTL).
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            if time.monotonic() > hit[0]:
                del self._items[key]
                return None
            return hit[1]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
