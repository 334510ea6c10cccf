"""Alembic migrations, driven from code.

There is no ``alembic.ini``: the configuration is built here so that ``bayflow db upgrade``, the
API's readiness probe and the tests all apply the same scripts the same way. Every migration
runs on SQLite (in batch mode, since SQLite cannot ALTER most things) and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from bayflow.errors import StoreUnavailable
from bayflow.store.engine import Database

__all__ = ["current_revision", "downgrade", "head_revision", "require_current", "upgrade"]

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(database: Database | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if database is not None:
        config.attributes["database"] = database
    return config


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def current_revision(database: Database) -> str | None:
    """The migration the database is at; ``None`` for an empty database."""
    try:
        with database.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreUnavailable(
            f"database {database.display_url} is unreachable", detail=str(exc)
        ) from exc


def upgrade(database: Database, revision: str = "head") -> None:
    try:
        command.upgrade(_config(database), revision)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(
            f"could not migrate {database.display_url}", detail=str(exc)
        ) from exc


def downgrade(database: Database, revision: str) -> None:
    try:
        command.downgrade(_config(database), revision)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(
            f"could not migrate {database.display_url}", detail=str(exc)
        ) from exc


def require_current(database: Database) -> str:
    """Return the head revision, or raise :class:`StoreUnavailable` saying how far behind."""
    current = current_revision(database)
    head = head_revision()
    if current != head:
        raise StoreUnavailable(
            f"database is at migration {current or 'none'}, code expects {head}: "
            "run `bayflow db upgrade`"
        )
    return head
