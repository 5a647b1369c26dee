"""understanding: same-problem match index, urgency and topics

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import BigId, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_insights",
        sa.Column("voice_id", BigId, sa.ForeignKey("voices.id"), primary_key=True),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("urgency_score", sa.Float(), nullable=True),
        sa.Column("urgency_reasons", sa.JSON(), nullable=False),
        sa.Column("matched_case_id", BigId, nullable=True),
        sa.Column("match_action", sa.String(length=16), nullable=True),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("match_reasons", sa.JSON(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_voice_insights_case_id", "voice_insights", ["case_id"])
    op.create_table(
        "match_keys",
        sa.Column("key", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column(
            "voice_id", BigId, sa.ForeignKey("voices.id"), primary_key=True, autoincrement=False
        ),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=32), nullable=False, unique=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "voice_topics",
        sa.Column("voice_id", BigId, sa.ForeignKey("voices.id"), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topics.id"), nullable=False),
    )
    op.create_index("ix_voice_topics_topic_id", "voice_topics", ["topic_id"])


def downgrade() -> None:
    op.drop_index("ix_voice_topics_topic_id", table_name="voice_topics")
    op.drop_table("voice_topics")
    op.drop_table("topics")
    op.drop_table("match_keys")
    op.drop_index("ix_voice_insights_case_id", table_name="voice_insights")
    op.drop_table("voice_insights")
