"""Hot-path statements on the driver's cursor read and write exactly what SQLAlchemy does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, insert, select, update

from bayflow.store import Database, Session, upgrade
from bayflow.store.driver import DriverListStatement, DriverStatement
from bayflow.store.tables import hub_metadata

NOW = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)

_INSERT = DriverStatement(insert(hub_metadata))
_GET = DriverStatement(select(hub_metadata).where(hub_metadata.c.key == bindparam("key")))
_NEWER = DriverStatement(
    select(hub_metadata.c.key)
    .where(hub_metadata.c.updated_at >= bindparam("since", type_=hub_metadata.c.updated_at.type))
    .where(hub_metadata.c.key != "ignored")  # a value bound in the statement itself
    .order_by(hub_metadata.c.key)
)
_TOUCH = DriverStatement(
    update(hub_metadata)
    .where(hub_metadata.c.key == bindparam("match"))
    .values(updated_at=bindparam("at", type_=hub_metadata.c.updated_at.type))
)
_RENAME = DriverStatement(
    update(hub_metadata)
    .where(hub_metadata.c.key == bindparam("match"))
    .values(value=bindparam("new"))
    .returning(hub_metadata.c.value, hub_metadata.c.updated_at)
)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


def test_rows_read_back_as_sqlalchemy_reads_them(database: Database) -> None:
    with database.transaction() as session:
        _INSERT.run(session, {"key": "a", "value": "alpha", "updated_at": NOW})
        session.execute(
            insert(hub_metadata).values(key="b", value="beta", updated_at=NOW + timedelta(hours=1))
        )
    with database.transaction() as session:
        for key in ("a", "b"):
            ours = _GET.one_or_none(session, {"key": key})
            theirs = session.execute(select(hub_metadata).where(hub_metadata.c.key == key)).one()
            assert ours is not None
            assert tuple(ours) == tuple(theirs)
            assert ours.updated_at.tzinfo is not None
        assert _GET.one_or_none(session, {"key": "missing"}) is None


def test_bound_values_and_statement_literals_filter_rows(database: Database) -> None:
    with database.transaction() as session:
        for i, key in enumerate(("ignored", "k1", "k2", "k3")):
            at = NOW + timedelta(minutes=i)
            _INSERT.run(session, {"key": key, "value": "v", "updated_at": at})
        newer = _NEWER.rows(session, {"since": NOW + timedelta(minutes=2)})
    assert [row.key for row in newer] == ["k2", "k3"]


def test_updates_count_their_rows_and_return_what_they_are_asked(database: Database) -> None:
    with database.transaction() as session:
        _INSERT.run(session, {"key": "a", "value": "alpha", "updated_at": NOW})
        assert _TOUCH.run(session, {"match": "a", "at": NOW + timedelta(days=1)}) == 1
        assert _TOUCH.run(session, {"match": "nobody", "at": NOW}) == 0
        row = _RENAME.one_or_none(session, {"match": "a", "new": "renamed"})
    assert row is not None
    assert (row.value, row.updated_at) == ("renamed", NOW + timedelta(days=1))


def test_it_runs_in_the_sessions_transaction(database: Database) -> None:
    def write_then_fail() -> None:
        with database.transaction() as session:
            _INSERT.run(session, {"key": "a", "value": "alpha", "updated_at": NOW})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    with database.transaction() as session:
        assert _GET.one_or_none(session, {"key": "a"}) is None


def test_more_rows_than_expected_and_expanding_in_are_refused(database: Database) -> None:
    with database.transaction() as session:
        for key in ("k1", "k2"):
            _INSERT.run(session, {"key": key, "value": "v", "updated_at": NOW})
        with pytest.raises(LookupError, match="2 rows"):
            _NEWER.one_or_none(session, {"since": NOW})
        with pytest.raises(LookupError, match="no row"):
            _GET.scalar(session, {"key": "missing"})
        expanding = DriverStatement(
            select(hub_metadata).where(hub_metadata.c.key.in_(bindparam("keys", expanding=True)))
        )
        with pytest.raises(TypeError, match="expanding"):
            expanding.rows(session, {"keys": ["k1"]})


@pytest.fixture(scope="module")
def one_sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('driver') / 'bayflow.db'}")
    upgrade(db)
    yield db
    db.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(min_size=0, max_size=200),
    at=st.datetimes(
        min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis wants naive bounds.
        max_value=datetime(9998, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_any_text_and_instant_round_trip(
    one_sqlite_database: Database, value: str, at: datetime
) -> None:
    # The module's one database is emptied for each example.
    with one_sqlite_database.transaction() as session:
        session.execute(hub_metadata.delete())
        _INSERT.run(session, {"key": "k", "value": value, "updated_at": at})
        row = _GET.one_or_none(session, {"key": "k"})
    assert row is not None
    assert (row.value, row.updated_at) == (value, at)


_BY_KEYS = DriverListStatement(
    lambda keys: select(hub_metadata.c.key).where(hub_metadata.c.key.in_(keys)),
    longest=3,
)


def test_a_list_statement_reads_short_and_long_lists_alike(database: Database) -> None:
    with database.transaction() as session:
        for key in ("k1", "k2", "k3", "k4", "k5"):
            _INSERT.run(session, {"key": key, "value": "v", "updated_at": NOW})
        assert _BY_KEYS.rows(session, []) == []
        short = _BY_KEYS.rows(session, ["k1", "k3", "missing"])
        long = _BY_KEYS.rows(session, ["k1", "k2", "k3", "k4", "missing"])
    assert sorted(row.key for row in short) == ["k1", "k3"]
    assert sorted(row.key for row in long) == ["k1", "k2", "k3", "k4"]


def test_each_transaction_of_a_session_runs_on_its_own_connection(database: Database) -> None:
    with Session(database.engine) as session:
        with session.begin():
            _INSERT.run(session, {"key": "a", "value": "first", "updated_at": NOW})
        with session.begin():
            assert _GET.scalar(session, {"key": "a"}) == "a"
            _TOUCH.run(session, {"match": "a", "at": NOW + timedelta(days=1)})
        with session.begin():
            nested = session.begin_nested()
            _INSERT.run(session, {"key": "b", "value": "rolled back", "updated_at": NOW})
            nested.rollback()
            assert _GET.one_or_none(session, {"key": "b"}) is None
    with database.transaction() as check:
        row = _GET.one_or_none(check, {"key": "a"})
    assert row is not None
    assert row.updated_at == NOW + timedelta(days=1)
