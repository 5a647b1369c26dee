"""outbox attachments, and the weekly leader's brief mailed once per week and recipient

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Both tables are new; nothing existing is rewritten. ``brief_mailings`` is keyed by (week,
recipient), so two workers reaching the same Monday cannot both queue the brief: the second
insert fails and its transaction, mail included, rolls back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import BigId, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_attachments",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("message_id", BigId, sa.ForeignKey("outbox_messages.id"), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_outbox_attachments_message_id", "outbox_attachments", ["message_id"])
    op.create_table(
        "brief_mailings",
        sa.Column("week", sa.String(length=8), primary_key=True),
        sa.Column("recipient", sa.String(length=320), primary_key=True),
        sa.Column("message_id", BigId, sa.ForeignKey("outbox_messages.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("brief_mailings")
    op.drop_index("ix_outbox_attachments_message_id", table_name="outbox_attachments")
    op.drop_table("outbox_attachments")
