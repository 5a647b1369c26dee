"""concern leads: a lead department per concern, and staff following concerns

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

One nullable column and one new table; nothing existing is rewritten. ``lead_department_id``
is added without copying the table (SQLite allows ``ADD COLUMN … REFERENCES`` when the
column may be null). ``concern_follows`` is keyed by (concern, username) so following twice
is one row, and its rows go with their concern when a refresh removes it (ON DELETE
CASCADE), so the refresh needs no knowledge of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicpulse.storage.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE concerns ADD COLUMN lead_department_id INTEGER "
            "REFERENCES departments (id)"
        )
    else:
        op.add_column("concerns", sa.Column("lead_department_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "concerns_lead_department_id_fkey", "concerns", "departments",
            ["lead_department_id"], ["id"],
        )
    op.create_table(
        "concern_follows",
        sa.Column("concern_id", sa.Integer(),
                  sa.ForeignKey("concerns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("concern_id", "username"),
    )


def downgrade() -> None:
    op.drop_table("concern_follows")
    with op.batch_alter_table("concerns") as batch:
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint("concerns_lead_department_id_fkey", type_="foreignkey")
        batch.drop_column("lead_department_id")
