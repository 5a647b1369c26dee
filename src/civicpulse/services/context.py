"""What every use case needs: the database, the settings and a clock that tests can set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from civicpulse.services.routing import RouteCache
from civicpulse.settings import Settings
from civicpulse.storage.database import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)
    routes: RouteCache = field(default_factory=RouteCache)

    def now(self) -> datetime:
        return self.clock()
