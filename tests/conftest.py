"""Shared fixtures.

Store tests take the ``database_url`` fixture, which runs each test on SQLite and, when
``BAYFLOW_TEST_DATABASE_URL`` names a PostgreSQL server, on a fresh database created there for
the test. With the variable set and the server unreachable the PostgreSQL runs fail (CI must
not go green by skipping them); without it they are skipped, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Two cores: keep property tests quick by default; `HYPOTHESIS_PROFILE=thorough` digs deeper.
settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

POSTGRES_ENV = "BAYFLOW_TEST_DATABASE_URL"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL runs are skipped")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server is fatal here.
        pytest.fail(f"{POSTGRES_ENV}={url} is set but PostgreSQL cannot be reached: {exc}")
    finally:
        engine.dispose()
    return url


def _fresh_postgres_database(server_url: str) -> Iterator[str]:
    name = f"bayflow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each supported backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bayflow.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    yield from _fresh_postgres_database(server_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bayflow.db'}"
