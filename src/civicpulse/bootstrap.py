"""The composition root: the only place that reads settings and picks adapters."""

from __future__ import annotations

from civicpulse.channels.mail import transport_for
from civicpulse.infra.context import Context
from civicpulse.services.outbox import Transport
from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.migrate import current_revision, upgrade


def build_context(settings: Settings | None = None, *, migrate: bool = False) -> Context:
    """Wire a context from settings; ``migrate`` brings the schema up to date first."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    if migrate:
        upgrade(db.engine)
    return Context(db=db, settings=settings)


def build_transport(settings: Settings) -> Transport:
    return transport_for(settings)


def schema_revision(ctx: Context) -> str | None:
    """The migration the database stands at, for ``civicpulse init`` to report."""
    return current_revision(ctx.db.engine)
