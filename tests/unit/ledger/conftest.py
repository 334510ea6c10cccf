"""Fixtures for the ledger's service tests: a real (SQLite) store and a fixed log key."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.interfaces import LedgerRepository
from bayflow.ledger.note import Ed25519Signer
from bayflow.ledger.service import LogPolicy
from bayflow.store import Database, upgrade
from bayflow.store.ledger import ledger_transactions

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ORIGIN = "ledger.bayflow.example"
LOG_SIGNER = Ed25519Signer(ORIGIN, SigningKey(b"\x07" * 32))

Transaction = Callable[[], AbstractContextManager[LedgerRepository]]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def policy() -> LogPolicy:
    return LogPolicy(LOG_SIGNER)


@pytest.fixture
def ledger_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def transaction(ledger_database: Database) -> Transaction:
    return ledger_transactions(ledger_database)
