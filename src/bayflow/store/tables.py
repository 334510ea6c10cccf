"""The schema, as SQLAlchemy Core tables.

Column types are portable (no server-side defaults that only PostgreSQL has); times are stored
timezone-aware; binary digests are ``LargeBinary``. Constraint names follow one convention so
Alembic can alter them on both databases.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text

__all__ = ["hub_metadata", "metadata"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Facts about this hub installation (its instance id, when it was created). Small and keyed, so
# it is a key/value table rather than a one-row table that every feature would widen.
hub_metadata = Table(
    "hub_metadata",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
