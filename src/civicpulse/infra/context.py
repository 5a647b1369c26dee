"""What every use case needs: the database, the settings and a clock that tests can set."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from civicpulse.domain.roles import Actor
from civicpulse.infra.aggregate_cache import AggregateCache
from civicpulse.infra.group_commit import GroupCommitter
from civicpulse.infra.newest_model import ModelHolder
from civicpulse.infra.reloading import Reloading
from civicpulse.infra.ttl_cache import TtlCache
from civicpulse.settings import Settings
from civicpulse.storage.database import Database

if TYPE_CHECKING:
    from civicpulse.services.routing import RouteTable

API_KEY_CACHE_SECONDS = 10.0
ROUTE_CACHE_SECONDS = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)
    #: the catalogue as routing reads it; see services.routing.current_table
    routes: Reloading[RouteTable] = field(
        default_factory=lambda: Reloading(ROUTE_CACHE_SECONDS)
    )
    #: integration actors by API-key hash; see services.staff.actor_for_api_key
    api_keys: TtlCache[str, Actor] = field(default_factory=lambda: TtlCache(API_KEY_CACHE_SECONDS))
    _writer: GroupCommitter | None = field(default=None, repr=False)
    _aggregates: AggregateCache | None = field(default=None, repr=False)
    _models: ModelHolder | None = field(default=None, repr=False)
    _writer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def aggregates(self) -> AggregateCache:
        """Published aggregates (home page figures, league tables), a minute old at most."""
        with self._writer_lock:
            if self._aggregates is None:
                self._aggregates = AggregateCache(self.settings.public_aggregate_cache_seconds)
            return self._aggregates

    @property
    def models(self) -> ModelHolder:
        """The classifier models of this installation, loaded on first use."""
        with self._writer_lock:
            if self._models is None:
                self._models = ModelHolder(self.settings.data_dir / "models")
            return self._models

    @property
    def writer(self) -> GroupCommitter:
        """The group-commit writer for intake, started on first use (not at construction)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = GroupCommitter(self.db)
            return self._writer

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        """Let the writer finish what is queued, then release the database connections."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.db.dispose()
