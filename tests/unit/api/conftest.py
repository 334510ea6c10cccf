from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bayflow.api import create_app
from bayflow.config import Settings
from bayflow.store import Database, upgrade


@pytest.fixture
def migrated_database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'bayflow.db'}")
    upgrade(database)
    return database


@pytest.fixture
def app(tmp_path: Path, migrated_database: Database) -> FastAPI:
    return create_app(Settings(data_dir=tmp_path), database=migrated_database, configure_logs=False)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: the client sees what a real HTTP client would see.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client
