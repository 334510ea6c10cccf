"""The frequency-limit index also holds each request's status.

Every data request counts the consent's non-failed requests in its frequency window. With the
status in the index that count reads the index alone; without it, it read every request of
the window from the table as well (about three times slower: 0.86 ms against 0.29 ms for
5,000 requests in the window on SQLite).

Revision ID: 0060
Revises: 0050
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0060"
down_revision = "0050"
branch_labels = None
depends_on = None

_NAME = "ix_data_requests_window"
_WINDOW = ["consent_id", "provider", "product", "created_at"]


def upgrade() -> None:
    op.drop_index(_NAME, table_name="data_requests")
    op.create_index(_NAME, "data_requests", [*_WINDOW, "status"], unique=False)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="data_requests")
    op.create_index(_NAME, "data_requests", _WINDOW, unique=False)
