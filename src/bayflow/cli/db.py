"""``bayflow db``: the hub's database and its migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from bayflow.clock import utcnow
from bayflow.config import load_settings
from bayflow.store import Database, current_revision, head_revision, upgrade
from bayflow.store.hub import HubMetadataRepository

group = typer.Typer(help="Create and migrate the hub's database.", no_args_is_help=True)


def _database() -> Database:
    return Database(load_settings().effective_database_url)


@group.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target migration.")] = "head",
) -> None:
    """Apply migrations (creating the embedded SQLite database if needed)."""
    database = _database()
    try:
        before = current_revision(database)
        upgrade(database, revision)
        with database.transaction() as session:
            instance = HubMetadataRepository(session).ensure_instance_id(now=utcnow())
        after = current_revision(database)
    finally:
        database.dispose()
    if before == after:
        print(f"{database.display_url}: already at {after}")
    else:
        print(f"{database.display_url}: migrated {before or 'empty'} -> {after}")
    print(f"hub instance {instance}")


@group.command("current")
def db_current() -> None:
    """Show the database's migration and whether it is the newest this code ships."""
    database = _database()
    try:
        current = current_revision(database)
    finally:
        database.dispose()
    head = head_revision()
    if current == head:
        print(f"{current} (head)")
    else:
        print(f"{current or 'empty'} (head is {head}: run `bayflow db upgrade`)")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="db")
