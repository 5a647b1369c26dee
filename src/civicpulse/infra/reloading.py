"""A value read from the database on demand and kept for a few seconds in this process.

Routing reads the whole catalogue on every submission; reading it once every few seconds
instead costs a change made in another process at most that long to be seen. The process
that makes a change clears its own copy at once, and a caller that finds the value lacking
(an unknown category code, say) asks for a fresh read before refusing anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Reloading(Generic[T]):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._value: T | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self, load: Callable[[], T], still_good: Callable[[T], bool] | None = None) -> T:
        """The kept value, or a fresh ``load()`` when it is old or ``still_good`` says no."""
        with self._lock:
            value = self._value
            if (
                value is None
                or time.monotonic() - self._loaded_at > self.seconds
                or (still_good is not None and not still_good(value))
            ):
                value = self._value = load()
                self._loaded_at = time.monotonic()
            return value

    def clear(self) -> None:
        with self._lock:
            self._value = None
