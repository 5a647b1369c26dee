"""concerns: residents' "me too", imported supports, and the ranked concerns

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Every table is new, so nothing existing is rewritten; the one index on an existing table
(``cases.merged_into_id``, partial) covers only merged cases. Concerns start empty: the first
refresh (the job, or ``civicpulse concerns``) reads the whole history once, later ones only
what changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import BigId, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_merged_into_id",
        "cases",
        ["merged_into_id"],
        sqlite_where=sa.text("merged_into_id IS NOT NULL"),
        postgresql_where=sa.text("merged_into_id IS NOT NULL"),
    )
    op.create_table(
        "site_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "case_supports",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("supporter_key", sa.String(64), nullable=False),
        sa.Column("identity", sa.String(16), nullable=False),
        sa.Column("device_key", sa.String(64), nullable=True),
        sa.Column("network_key", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("case_id", "supporter_key", name="uq_case_supports_supporter"),
    )
    op.create_table(
        "supporter_contacts",
        sa.Column(
            "support_id", BigId, sa.ForeignKey("case_supports.id"), primary_key=True
        ),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
    )
    op.create_table(
        "voice_origins",
        sa.Column("voice_id", BigId, sa.ForeignKey("voices.id"), primary_key=True),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(64), nullable=True),
    )
    op.create_table(
        "concerns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(40), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("label_pending", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("voices", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.Column("roots", sa.Integer(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("area", sa.String(64), nullable=True),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_concerns_score", "concerns", ["score"])
    op.create_index("ix_concerns_last_at", "concerns", ["last_at"])
    op.create_index(
        "ix_concerns_label_pending",
        "concerns",
        ["id"],
        sqlite_where=sa.text("label_pending = 1"),
        postgresql_where=sa.text("label_pending"),
    )
    op.create_table(
        "concern_cases",
        sa.Column(
            "case_id", BigId, sa.ForeignKey("cases.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("root_case_id", BigId, nullable=False),
        sa.Column("concern_id", sa.Integer(), sa.ForeignKey("concerns.id"), nullable=True),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(40), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=True),
        sa.Column("names", sa.JSON(), nullable=True),
    )
    op.create_index("ix_concern_cases_root_case_id", "concern_cases", ["root_case_id"])
    op.create_index("ix_concern_cases_concern_id", "concern_cases", ["concern_id"])
    op.create_index("ix_concern_cases_topic_id", "concern_cases", ["topic_id"])
    op.create_table(
        "concern_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("voice_id", BigId, nullable=False),
        sa.Column("event_id", BigId, nullable=False),
        sa.Column("support_id", BigId, nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=True),
        sa.Column("scored_day", sa.Integer(), nullable=False),
        sa.Column("weights_digest", sa.String(32), nullable=False),
        sa.Column("texts", BigId, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "concern_words",
        sa.Column("word", sa.String(64), primary_key=True),
        sa.Column("texts", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("concern_words")
    op.drop_table("concern_state")
    op.drop_index("ix_concern_cases_topic_id", table_name="concern_cases")
    op.drop_index("ix_concern_cases_concern_id", table_name="concern_cases")
    op.drop_index("ix_concern_cases_root_case_id", table_name="concern_cases")
    op.drop_table("concern_cases")
    op.drop_index("ix_concerns_label_pending", table_name="concerns")
    op.drop_index("ix_concerns_last_at", table_name="concerns")
    op.drop_index("ix_concerns_score", table_name="concerns")
    op.drop_table("concerns")
    op.drop_table("voice_origins")
    op.drop_table("supporter_contacts")
    op.drop_table("case_supports")
    op.drop_table("site_secrets")
    op.drop_index("ix_cases_merged_into_id", table_name="cases")
