"""Units of work from async routes: on the event loop when SQLite's writer is free."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import anyio
import pytest

from bayflow.api.deps import in_transaction
from bayflow.store import Database, Session, upgrade
from bayflow.store.hub import HubMetadataRepository
from tests.factories import writer_held

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


def _write(value: str) -> Callable[[Session], tuple[int, str | None]]:
    def work(session: Session) -> tuple[int, str | None]:
        repository = HubMetadataRepository(session)
        previous = repository.get("k")
        repository.set("k", value, now=NOW)
        return threading.get_ident(), previous

    return work


async def test_the_work_runs_on_the_event_loop_only_on_free_sqlite(database: Database) -> None:
    loop_thread = threading.get_ident()
    ran_on, previous = await in_transaction(database, _write("first"))
    assert previous is None
    assert (ran_on == loop_thread) is database.is_sqlite
    _, previous = await in_transaction(database, _write("second"))
    assert previous == "first"


async def test_a_busy_writer_sends_the_work_to_a_thread_that_waits_for_it(
    sqlite_url: str,
) -> None:
    database = Database(sqlite_url)
    upgrade(database)
    with writer_held(database, at=NOW) as release:
        async with anyio.create_task_group() as group:
            results: list[tuple[int, str | None]] = []

            async def write() -> None:
                results.append(await in_transaction(database, _write("after")))

            group.start_soon(write)
            await anyio.sleep(0.05)
            assert results == []  # waiting for the writer, without blocking the event loop
            release.set()
    [(ran_on, previous)] = results
    assert ran_on != threading.get_ident()
    assert previous == "held"
    database.dispose()


async def test_the_work_rolls_back_when_it_raises(database: Database) -> None:
    def fail(session: Session) -> None:
        HubMetadataRepository(session).set("k", "lost", now=NOW)
        raise RuntimeError

    with pytest.raises(RuntimeError):
        await in_transaction(database, fail)
    with database.reading() as session:
        assert HubMetadataRepository(session).get("k") is None
