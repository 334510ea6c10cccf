"""Persistence: the only package that imports SQLAlchemy and Alembic.

``engine`` makes engines and sessions for SQLite (embedded, WAL) and PostgreSQL; ``tables``
holds the schema; ``migrate`` applies Alembic migrations, which run unchanged on both;
repositories (one module per domain) hold every SQL statement the project runs.

Transactions are opened at the edge (an HTTP request, a CLI command) with
:meth:`Database.transaction`; repositories never commit.
"""

from bayflow.store.engine import Database, Session
from bayflow.store.migrate import (
    current_revision,
    downgrade,
    head_revision,
    require_current,
    upgrade,
)

__all__ = [
    "Database",
    "Session",
    "current_revision",
    "downgrade",
    "head_revision",
    "require_current",
    "upgrade",
]
