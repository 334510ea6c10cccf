from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bayflow.api import create_app
from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.hub import HubKeys, bootstrap
from bayflow.identity.keyfile import KeyFile
from bayflow.store import Database, upgrade
from tests.unit.api.scenario import HUB

# A test module may set its own START.
DEFAULT_START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


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


# A bootstrapped hub (keys, operator) on SQLite, reached through httpx's ASGI transport, on a
# clock the test moves. Modules that need another start time define START.


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FixedClock:
    return FixedClock(getattr(request.module, "START", DEFAULT_START))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, public_url=HUB)


@pytest.fixture
def hub_keys(settings: Settings, clock: FixedClock) -> HubKeys:
    database = Database(settings.effective_database_url)
    upgrade(database)
    keys = bootstrap(settings, database, clock)
    database.dispose()
    return keys


@pytest.fixture
async def hub(
    settings: Settings, clock: FixedClock, hub_keys: HubKeys
) -> AsyncIterator[httpx.AsyncClient]:
    database = Database(settings.effective_database_url)
    app = create_app(
        settings, database=database, clock=clock, hub_keys=hub_keys, configure_logs=False
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=HUB) as client:
        yield client
    database.dispose()


@pytest.fixture
def operator(settings: Settings, hub_keys: HubKeys) -> KeyFile:
    assert hub_keys.kid
    return KeyFile.read(settings.operator_key_file)
