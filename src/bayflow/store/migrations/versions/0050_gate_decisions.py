"""Data requests name the transfer gate's decision they went under.

Revision ID: 0050
Revises: 0040
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None

_COLUMNS = ("decision_id", "decision_digest", "decision_basis")


def upgrade() -> None:
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("decision_digest", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("decision_basis", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        for column in reversed(_COLUMNS):
            batch_op.drop_column(column)
