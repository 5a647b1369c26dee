"""formalism explanations: a department's answer to a flag of the formalism audit

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

A new table; nothing existing is rewritten. The flags are recomputed from the timeline each
time the audit runs, so only what people write about them is stored, found by the flag's
key (``kind:subject:department``); a newer explanation is added beside an older one, never
written over it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import BigId, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "formalism_explanations",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("flag_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id"),
                  nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_formalism_explanations_flag_key", "formalism_explanations", ["flag_key"]
    )


def downgrade() -> None:
    op.drop_index("ix_formalism_explanations_flag_key", table_name="formalism_explanations")
    op.drop_table("formalism_explanations")
