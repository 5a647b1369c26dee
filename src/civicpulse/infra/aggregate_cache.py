"""Public aggregates (the home page's figures, the league table) a visitor may see a minute old.

Recomputing one reads the whole history and takes seconds on a large city. A plain cache
lets every request that arrives after expiry recompute at once, so under load a dozen copies
of the same scan compete for the CPU and the page stalls for everyone. Here each value is
computed by one thread at a time: the first visitor with nothing cached waits for that one
computation; once a value exists, visitors get it immediately while a single background
thread replaces an expired one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)


class AggregateCache:
    def __init__(self, seconds: float, max_entries: int = 1_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._items: dict[Hashable, tuple[float, Any]] = {}
        self._running: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key``: fresh, else the expired one while it is being refreshed,
        else computed now (by one thread; the others wait for it)."""
        while True:
            with self._lock:
                hit = self._items.get(key)
                if hit is not None and time.monotonic() <= hit[0]:
                    return hit[1]
                running = self._running.get(key)
                mine = running is None
                if running is None:
                    running = self._running[key] = threading.Event()
            if hit is not None:
                if mine:
                    threading.Thread(
                        target=self._refresh_quietly,
                        args=(key, compute, running),
                        name="civicpulse-aggregate",
                        daemon=True,
                    ).start()
                return hit[1]
            if mine:
                return self._refresh(key, compute, running)
            running.wait()  # someone else is computing it; then read what they stored

    def _refresh(self, key: Hashable, compute: Callable[[], Any], done: threading.Event) -> Any:
        try:
            value = compute()
            with self._lock:
                if len(self._items) >= self.max_entries:
                    self._items.clear()
                self._items[key] = (time.monotonic() + self.seconds, value)
            return value
        finally:
            with self._lock:
                self._running.pop(key, None)
            done.set()

    def _refresh_quietly(
        self, key: Hashable, compute: Callable[[], Any], done: threading.Event
    ) -> None:
        try:
            self._refresh(key, compute, done)
        except Exception:  # visitors keep the old value; the next expiry tries again
            log.exception("refreshing the cached aggregate %r failed", key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
