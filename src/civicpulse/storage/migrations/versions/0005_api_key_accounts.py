"""an API key may act as a staff account (a partner's Open311 updates)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite adds a column with a foreign key only by copying the table
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("acts_as_user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_api_keys_acts_as_user_id", "staff_users", ["acts_as_user_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_acts_as_user_id", type_="foreignkey")
        batch.drop_column("acts_as_user_id")
