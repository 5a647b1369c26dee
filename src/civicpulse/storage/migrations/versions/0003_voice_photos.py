"""voices may carry one photo, stripped of its metadata

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import BigId, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_photos",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("voice_id", BigId, sa.ForeignKey("voices.id"), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_voice_photos_voice_id", "voice_photos", ["voice_id"])


def downgrade() -> None:
    op.drop_index("ix_voice_photos_voice_id", table_name="voice_photos")
    op.drop_table("voice_photos")
