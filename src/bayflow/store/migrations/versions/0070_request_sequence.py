"""Data requests carry their position under their consent and product.

The frequency limit counted the non-failed requests of a window one index entry at a time:
0.29 ms for 5,000 requests in the window on SQLite, growing with the consent's limit. With each
request numbered 1, 2, 3… per (consent, provider, product), the count is the difference between
the latest number and the window's first one, less the window's failed requests, each found by
an index seek (see ``bayflow.store.requests``).

``ix_data_requests_seq`` finds the latest number. ``ix_data_requests_status`` counts a window's
failed requests: the 0060 index holds the status after ``created_at``, so a count of one status
in a time range still reads every entry of the range there. The 0060 index stays; it finds the
window's first request.

Existing requests are numbered in ``created_at`` order (``id`` breaks ties), the order in which
they were recorded.

Revision ID: 0070
Revises: 0060
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0070"
down_revision = "0060"
branch_labels = None
depends_on = None

_KEY = ["consent_id", "provider", "product"]
_SEQ_INDEX = "ix_data_requests_seq"
_STATUS_INDEX = "ix_data_requests_status"

# Each request's position in its key's requests ordered by created_at, then id.
# PostgreSQL would run a correlated subquery once per row, over the whole table each time, so it
# joins the numbered rows instead. SQLite has UPDATE … FROM only from 3.33; it computes the
# uncorrelated inner query once and looks each row up in an automatic index.
_BACKFILL_POSTGRESQL = """
UPDATE data_requests SET seq = numbered.seq
FROM (
    SELECT id, row_number() OVER (
        PARTITION BY consent_id, provider, product ORDER BY created_at, id
    ) AS seq
    FROM data_requests
) AS numbered
WHERE numbered.id = data_requests.id
"""
_BACKFILL_SQLITE = """
UPDATE data_requests SET seq = (
    SELECT numbered.seq
    FROM (
        SELECT id, row_number() OVER (
            PARTITION BY consent_id, provider, product ORDER BY created_at, id
        ) AS seq
        FROM data_requests
    ) AS numbered
    WHERE numbered.id = data_requests.id
)
"""


def upgrade() -> None:
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(_BACKFILL_SQLITE if sqlite else _BACKFILL_POSTGRESQL)
    op.create_index(_SEQ_INDEX, "data_requests", [*_KEY, "seq"], unique=False)
    op.create_index(_STATUS_INDEX, "data_requests", [*_KEY, "status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(_STATUS_INDEX, table_name="data_requests")
    op.drop_index(_SEQ_INDEX, table_name="data_requests")
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.drop_column("seq")
