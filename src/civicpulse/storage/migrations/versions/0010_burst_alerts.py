"""burst alerts: each burst raised to staff once

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A new table; nothing existing is rewritten. ``burst_alerts`` is keyed by the burst's
identity ("series@start day"), so two workers finding the same burst cannot both alert: the
second insert fails and its transaction, mails included, rolls back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "burst_alerts",
        sa.Column("identity", sa.String(length=200), primary_key=True),
        sa.Column("series", sa.String(length=160), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("last_seen", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("q_value", sa.Float(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_burst_alerts_series", "burst_alerts", ["series"])
    op.create_index("ix_burst_alerts_ended_on", "burst_alerts", ["ended_on"])


def downgrade() -> None:
    op.drop_index("ix_burst_alerts_ended_on", table_name="burst_alerts")
    op.drop_index("ix_burst_alerts_series", table_name="burst_alerts")
    op.drop_table("burst_alerts")
