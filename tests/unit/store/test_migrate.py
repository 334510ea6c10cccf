import multiprocessing
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from bayflow.errors import StoreUnavailable
from bayflow.store import (
    Database,
    current_revision,
    downgrade,
    head_revision,
    require_current,
    upgrade,
)
from bayflow.store.hub import HubMetadataRepository
from bayflow.store.tables import metadata
from tests.factories import writer_held


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


class TestMigrations:
    """Migrations run unchanged on SQLite and PostgreSQL, up and down."""

    def test_an_empty_database_has_no_revision(self, database: Database) -> None:
        assert current_revision(database) is None
        with pytest.raises(StoreUnavailable, match="bayflow db upgrade"):
            require_current(database)

    def test_upgrade_reaches_head_and_creates_every_table(self, database: Database) -> None:
        upgrade(database)
        assert current_revision(database) == head_revision()
        assert require_current(database) == head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert set(metadata.tables) <= tables

    def test_migrated_schema_matches_the_table_definitions(self, database: Database) -> None:
        upgrade(database)
        with database.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []

    def test_upgrade_twice_changes_nothing(self, database: Database) -> None:
        upgrade(database)
        upgrade(database)
        assert current_revision(database) == head_revision()

    def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
        self, database: Database
    ) -> None:
        upgrade(database)
        downgrade(database, "base")
        assert current_revision(database) is None
        assert set(metadata.tables).isdisjoint(inspect(database.engine).get_table_names())
        upgrade(database)
        assert current_revision(database) == head_revision()

    def test_unreachable_database_raises_store_unavailable(self) -> None:
        database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
        with pytest.raises(StoreUnavailable, match="unreachable"):
            current_revision(database)


class TestDatabase:
    """Transactions commit at the end of the block and roll back on error."""

    def test_transaction_commits(self, database: Database) -> None:
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with database.transaction() as session:
            HubMetadataRepository(session).set("k", "v", now=now)
        with database.transaction() as session:
            assert HubMetadataRepository(session).get("k") == "v"

    def test_transaction_rolls_back_when_the_block_raises(self, database: Database) -> None:
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)

        def write_then_fail() -> None:
            with database.transaction() as session:
                HubMetadataRepository(session).set("k", "v", now=now)
                raise RuntimeError

        with pytest.raises(RuntimeError):
            write_then_fail()
        with database.transaction() as session:
            assert HubMetadataRepository(session).get("k") is None

    def test_instance_id_is_created_once(self, database: Database) -> None:
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with database.transaction() as session:
            first = HubMetadataRepository(session).ensure_instance_id(now=now)
        with database.transaction() as session:
            assert HubMetadataRepository(session).ensure_instance_id(now=now) == first

    def test_display_url_hides_the_password(self) -> None:
        database = Database("postgresql+psycopg://user:hunter2@127.0.0.1:5432/db")
        assert "hunter2" not in database.display_url


class TestConcurrentUnitsOfWork:
    """Writers serialise; readers see the last committed state without waiting."""

    def test_a_reader_does_not_wait_for_an_open_writer(self, database: Database) -> None:
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with database.transaction() as session:
            HubMetadataRepository(session).set("k", "old", now=now)
        with database.transaction() as writer:
            HubMetadataRepository(writer).set("k", "new", now=now)
            with database.reading() as reader:
                assert HubMetadataRepository(reader).get("k") == "old"
        with database.reading() as reader:
            assert HubMetadataRepository(reader).get("k") == "new"


class TestTransactionIfFree:
    """A unit of work that never waits: SQLite's writer if it is free now, else nothing."""

    def test_a_free_sqlite_writer_gives_a_unit_of_work_that_commits(
        self, database: Database
    ) -> None:
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with database.transaction_if_free() as session:
            if not database.is_sqlite:
                assert session is None
                return
            assert session is not None
            HubMetadataRepository(session).set("k", "v", now=now)
        with database.reading() as reader:
            assert HubMetadataRepository(reader).get("k") == "v"

    def test_a_held_writer_gives_nothing_and_takes_nothing(self, sqlite_url: str) -> None:
        database = Database(sqlite_url)
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with writer_held(database, at=now), database.transaction_if_free() as session:
            assert session is None
        # Once released, the writer is free again, and the next unit of work sees the commit.
        with database.transaction_if_free() as session:
            assert session is not None
            assert HubMetadataRepository(session).get("k") == "held"
        database.dispose()

    def test_a_failed_unit_of_work_rolls_back_and_frees_the_writer(self, sqlite_url: str) -> None:
        database = Database(sqlite_url)
        upgrade(database)
        now = datetime(2026, 1, 1, tzinfo=UTC)

        def write_then_fail() -> None:
            with database.transaction_if_free() as session:
                assert session is not None
                HubMetadataRepository(session).set("k", "v", now=now)
                raise RuntimeError

        with pytest.raises(RuntimeError):
            write_then_fail()
        with database.transaction_if_free() as session:
            assert session is not None
            assert HubMetadataRepository(session).get("k") is None
        database.dispose()

    def test_units_of_work_share_one_connection_and_see_each_others_commits(
        self, sqlite_url: str
    ) -> None:
        database = Database(sqlite_url)
        upgrade(database)
        connections = []
        for value in ("one", "two"):
            with database.transaction_if_free() as session:
                assert session is not None
                assert HubMetadataRepository(session).get("k") in (None, "one")
                HubMetadataRepository(session).set("k", value, now=NOW_2026)
                connections.append(session.connection().connection.driver_connection)
        assert connections[0] is connections[1]
        with database.reading() as reader:
            assert HubMetadataRepository(reader).get("k") == "two"
        database.dispose()

    def test_a_database_error_rolls_back_and_the_next_unit_starts_afresh(
        self, sqlite_url: str
    ) -> None:
        database = Database(sqlite_url)
        upgrade(database)
        with database.transaction_if_free() as session:
            assert session is not None
            first = session.get_bind()

        def write_then_fail_in_the_database() -> None:
            with database.transaction_if_free() as session:
                assert session is not None
                HubMetadataRepository(session).set("k", "lost", now=NOW_2026)
                session.execute(text("SELECT * FROM no_such_table"))

        with pytest.raises(OperationalError):
            write_then_fail_in_the_database()
        with database.transaction_if_free() as session:
            assert session is not None
            assert HubMetadataRepository(session).get("k") is None
            assert session.get_bind() is not first  # a new connection from the pool
        database.dispose()

    def test_each_thread_has_its_own_connection_and_dispose_closes_them_all(
        self, sqlite_url: str
    ) -> None:
        database = Database(sqlite_url)
        upgrade(database)

        def driver_connection() -> Any:
            with database.transaction_if_free() as session:
                assert session is not None
                return session.connection().connection.driver_connection

        here = driver_connection()
        with ThreadPoolExecutor(1) as pool:
            there = pool.submit(driver_connection).result()
        assert here is not there
        database.dispose()
        for closed in (here, there):
            with pytest.raises(sqlite3.ProgrammingError):
                closed.execute("SELECT 1")
        # A unit of work after dispose() starts on a new connection rather than a closed one.
        assert driver_connection() is not here
        database.dispose()

    def test_a_refused_unit_rolls_back_on_the_same_connection(self, sqlite_url: str) -> None:
        database = Database(sqlite_url)
        upgrade(database)

        def write_then_refuse() -> Any:
            with database.transaction_if_free() as session:
                assert session is not None
                HubMetadataRepository(session).set("k", "refused", now=NOW_2026)
                raise PermissionError(session.connection().connection.driver_connection)

        with pytest.raises(PermissionError) as refused:
            write_then_refuse()
        with database.transaction_if_free() as session:
            assert session is not None
            assert HubMetadataRepository(session).get("k") is None
            assert session.connection().connection.driver_connection is refused.value.args[0]
        database.dispose()

    def test_a_savepoint_inside_a_unit_rolls_back_alone(self, sqlite_url: str) -> None:
        database = Database(sqlite_url)
        upgrade(database)

        def undone_in_a_savepoint(session: Any) -> None:
            with session.begin_nested():
                HubMetadataRepository(session).set("undone", "yes", now=NOW_2026)
                raise RuntimeError

        with database.transaction_if_free() as session:
            assert session is not None
            HubMetadataRepository(session).set("kept", "yes", now=NOW_2026)
            with pytest.raises(RuntimeError):
                undone_in_a_savepoint(session)
        with database.reading() as reader:
            assert HubMetadataRepository(reader).get("kept") == "yes"
            assert HubMetadataRepository(reader).get("undone") is None
        database.dispose()


def _hold_writer_in_another_process(url: str, holding: Any, release: Any) -> None:
    database = Database(url)
    with database.transaction() as session:
        HubMetadataRepository(session).set("k", "from the other process", now=NOW_2026)
        holding.set()
        release.wait(30)
    database.dispose()


NOW_2026 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_writer_in_another_process_holds_off_transaction_if_free(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    upgrade(database)
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    other = context.Process(
        target=_hold_writer_in_another_process, args=(sqlite_url, holding, release)
    )
    other.start()
    try:
        assert holding.wait(60)
        with database.transaction_if_free() as session:
            assert session is None
    finally:
        release.set()
        other.join(60)
    assert other.exitcode == 0
    # The other process's commit is visible to the next unit of work, which did not wait.
    with database.transaction_if_free() as session:
        assert session is not None
        assert HubMetadataRepository(session).get("k") == "from the other process"
    database.dispose()
