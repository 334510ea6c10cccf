"""Alembic environment: runs migrations on the connection of a bayflow ``Database``."""

from __future__ import annotations

from alembic import context

from bayflow.store.engine import Database
from bayflow.store.tables import metadata

database = context.config.attributes.get("database")
if not isinstance(database, Database):
    raise TypeError("migrations are run through bayflow.store.migrate, not the alembic CLI")

with database.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER columns or constraints; batch mode rebuilds the table instead.
        render_as_batch=database.is_sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
