"""Request-scoped dependencies.

The transaction opens here and nowhere else: a route that takes :data:`SessionDep` runs inside
one database transaction that commits after the route returns and before the response is sent
(``scope="function"``), so a failed commit is reported as an error instead of after a success.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from bayflow.config import Settings
from bayflow.store import Database, Session

__all__ = ["DatabaseDep", "SessionDep", "SettingsDep", "get_database", "get_session"]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_session(request: Request) -> Iterator[Session]:
    with get_database(request).transaction() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
