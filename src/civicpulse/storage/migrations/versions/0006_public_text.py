"""the public form of case titles and timeline messages, checked for personal data

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

Both columns start NULL for every existing row: "not checked yet", so nothing written
before this migration is shown in public until the background redaction pass has checked
it (``services/redaction_pass.py``); the partial indexes let that pass find what is left
without reading the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_EVENT_PENDING_SQLITE = "public = 1 AND message IS NOT NULL AND public_message IS NULL"
_EVENT_PENDING_POSTGRESQL = "public AND message IS NOT NULL AND public_message IS NULL"


def upgrade() -> None:
    # batch mode, as 0005: SQLite alters a table by copying it
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("public_title", sa.Text(), nullable=True))
    with op.batch_alter_table("case_events") as batch:
        batch.add_column(sa.Column("public_message", sa.Text(), nullable=True))
    op.create_index(
        "ix_cases_public_title_pending",
        "cases",
        ["id"],
        sqlite_where=sa.text("public_title IS NULL"),
        postgresql_where=sa.text("public_title IS NULL"),
    )
    op.create_index(
        "ix_case_events_public_message_pending",
        "case_events",
        ["id"],
        sqlite_where=sa.text(_EVENT_PENDING_SQLITE),
        postgresql_where=sa.text(_EVENT_PENDING_POSTGRESQL),
    )


def downgrade() -> None:
    op.drop_index("ix_case_events_public_message_pending", table_name="case_events")
    op.drop_index("ix_cases_public_title_pending", table_name="cases")
    with op.batch_alter_table("case_events") as batch:
        batch.drop_column("public_message")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("public_title")
