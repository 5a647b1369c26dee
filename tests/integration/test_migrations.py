"""Every model change has its migration, and the chain runs on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from civicpulse.storage.migrate import current_revision, head_revision
from civicpulse.storage.tables import Base


def test_schema_matches_models_after_migrating(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == [], f"models and migrations differ; add a migration: {diff}"
    finally:
        engine.dispose()
