from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, delete, inspect, select, text

from bayflow.exchange.requests import DataRequest, RequestStatus
from bayflow.store import Database, Session, downgrade, upgrade
from bayflow.store.requests import SqlRequestRepository
from bayflow.store.tables import UTCDateTime, data_requests

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Key:
    consent_id: str
    provider: str
    product: str


LOANS = Key("con_a", "org_bank", "loans")
CARDS = Key("con_a", "org_bank", "cards")
OTHER_CONSENT = Key("con_b", "org_bank", "loans")
KEYS = (LOANS, CARDS, OTHER_CONSENT)


def _request(number: int, key: Key, created_at: datetime) -> DataRequest:
    return DataRequest(
        id=f"req_{number:04d}",
        consent_id=key.consent_id,
        consent_version=1,
        consumer="org_lender",
        consumer_person="per_clerk",
        provider=key.provider,
        product=key.product,
        data_from=None,
        data_to=None,
        status=RequestStatus.ROUTED,
        created_at=created_at,
    )


def _count(repo: SqlRequestRepository, key: Key, since: datetime) -> int:
    return repo.count_since(key.consent_id, key.provider, key.product, since)


def _brute_force(requests: list[DataRequest], key: Key, since: datetime) -> int:
    return sum(
        1
        for r in requests
        if (r.consent_id, r.provider, r.product) == (key.consent_id, key.provider, key.product)
        and r.created_at >= since
        and r.status is not RequestStatus.FAILED
    )


def _numbers(session: Session) -> dict[str, int | None]:
    rows = session.execute(select(data_requests.c.id, data_requests.c.seq)).all()
    return {row.id: row.seq for row in rows}


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    database = Database(database_url)
    upgrade(database)
    with database.transaction() as session:
        yield session
    database.dispose()


class TestRequestNumbers:
    """Each request is numbered 1, 2, 3… among its consent's requests for its product."""

    def test_requests_are_numbered_per_consent_and_product_in_the_order_recorded(
        self, session: Session
    ) -> None:
        repo = SqlRequestRepository(session)
        keys = [LOANS, CARDS, LOANS, OTHER_CONSENT, LOANS, CARDS]
        for number, key in enumerate(keys):
            repo.add(_request(number, key, NOW + timedelta(seconds=number)))
        assert _numbers(session) == {
            "req_0000": 1,
            "req_0001": 1,
            "req_0002": 2,
            "req_0003": 1,
            "req_0004": 3,
            "req_0005": 2,
        }

    def test_an_update_keeps_the_number(self, session: Session) -> None:
        repo = SqlRequestRepository(session)
        first, second = _request(0, LOANS, NOW), _request(1, LOANS, NOW)
        repo.add(first)
        repo.add(second)
        repo.update(replace(first, status=RequestStatus.FAILED, completed_at=NOW))
        assert _numbers(session) == {"req_0000": 1, "req_0001": 2}


class TestCountSince:
    """A window's non-failed requests are counted from numbers, as a plain count would."""

    def test_a_window_counts_its_requests_less_the_failed_ones(self, session: Session) -> None:
        repo = SqlRequestRepository(session)
        requests = []
        # Ten requests a minute apart, alternating between two products, and one under another
        # consent; the fourth and the seventh fail.
        for number in range(10):
            request = _request(number, (LOANS, CARDS)[number % 2], NOW + timedelta(minutes=number))
            repo.add(request)
            if number in {3, 6}:
                request = replace(request, status=RequestStatus.FAILED, failure="timeout")
                repo.update(request)
            requests.append(request)
        other = _request(10, OTHER_CONSENT, NOW)
        repo.add(other)
        requests.append(other)
        for minutes in range(-1, 12):
            since = NOW + timedelta(minutes=minutes)
            for key in KEYS:
                assert _count(repo, key, since) == _brute_force(requests, key, since)
        assert _count(repo, LOANS, NOW) == 4  # requests 0, 2, 4, 8 (6 failed)
        assert _count(repo, CARDS, NOW + timedelta(minutes=3)) == 3  # 5, 7, 9 (3 failed)

    def test_an_empty_window_counts_nothing(self, session: Session) -> None:
        repo = SqlRequestRepository(session)
        assert _count(repo, LOANS, NOW) == 0
        repo.add(_request(0, LOANS, NOW))
        assert _count(repo, LOANS, NOW + timedelta(microseconds=1)) == 0
        assert _count(repo, CARDS, NOW) == 0

    def test_requests_recorded_at_the_same_instant_all_count(self, session: Session) -> None:
        repo = SqlRequestRepository(session)
        repo.add(_request(0, LOANS, NOW - timedelta(seconds=1)))
        for number in range(1, 4):
            repo.add(_request(number, LOANS, NOW))
        assert _count(repo, LOANS, NOW) == 3
        assert _count(repo, LOANS, NOW - timedelta(seconds=1)) == 4

    def test_requests_out_of_time_order_are_miscounted_but_never_below_zero(
        self, session: Session
    ) -> None:
        # Two requests an hour ahead fail; then the clock steps back and a third one passes.
        repo = SqlRequestRepository(session)
        requests = [_request(n, LOANS, NOW + timedelta(hours=1)) for n in range(2)]
        for request in requests:
            repo.add(request)
            repo.update(replace(request, status=RequestStatus.FAILED))
        repo.add(_request(2, LOANS, NOW))
        # From NOW the window's first request by time is the last by number: one number less
        # two failed requests is cut off at zero, one below the true count.
        assert _count(repo, LOANS, NOW) == 0
        # A minute later the numbers run from the first request to the third, which the window
        # does not hold: one too many.
        assert _count(repo, LOANS, NOW + timedelta(minutes=1)) == 1
        # Windows that begin once the clock has caught up are counted exactly again.
        repo.add(_request(3, LOANS, NOW + timedelta(hours=2)))
        assert _count(repo, LOANS, NOW + timedelta(hours=1, minutes=1)) == 1


# The property runs on SQLite only, on one database emptied after each example: a fresh
# PostgreSQL database per example would take most of the test's time.
@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("requests") / "bayflow.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    yield database
    database.dispose()


_RECORDS = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.integers(min_value=0, max_value=3),  # seconds since the previous request; 0 ties
        st.sampled_from(list(RequestStatus)),  # the status the request ends in
    ),
    max_size=40,
)


class TestCountSinceProperty:
    """For any requests recorded in time order, the count equals a count of the requests."""

    @settings(max_examples=50)
    @given(records=_RECORDS, offsets=st.lists(st.integers(-2, 125), min_size=1, max_size=5))
    def test_count_since_equals_a_count_of_the_requests(
        self,
        sqlite_database: Database,
        records: list[tuple[Key, int, RequestStatus]],
        offsets: list[int],
    ) -> None:
        with sqlite_database.transaction() as session:
            repo = SqlRequestRepository(session)
            requests = []
            created_at = NOW
            for number, (key, step, status) in enumerate(records):
                created_at += timedelta(seconds=step)
                request = _request(number, key, created_at)
                repo.add(request)
                if status is not RequestStatus.ROUTED:
                    request = replace(request, status=status, completed_at=created_at)
                    repo.update(request)
                requests.append(request)
            for offset in offsets:
                since = NOW + timedelta(seconds=offset)
                for key in KEYS:
                    assert _count(repo, key, since) == _brute_force(requests, key, since)
            session.execute(delete(data_requests))


# A request as migration 0060 left it: no number.
_INSERT_AT_0060 = text(
    "INSERT INTO data_requests (id, consent_id, consent_version, consumer, consumer_person,"
    " provider, product, status, created_at) VALUES (:id, :consent_id, 1, 'org_lender',"
    " 'per_clerk', :provider, :product, :status, :created_at)"
).bindparams(bindparam("created_at", type_=UTCDateTime()))


class TestRequestNumberMigration:
    """Migration 0070 numbers the requests recorded before it; its downgrade removes numbers."""

    def test_existing_requests_are_numbered_in_time_order_and_counted(
        self, database_url: str
    ) -> None:
        database = Database(database_url)
        upgrade(database, "0060")
        minutes_and_status = {
            "req_b": (LOANS, 2, RequestStatus.DELIVERED),
            "req_a": (LOANS, 0, RequestStatus.ROUTED),
            # Recorded at the same instant: the id orders them.
            "req_d": (LOANS, 5, RequestStatus.FAILED),
            "req_c": (LOANS, 5, RequestStatus.DELIVERED),
            "req_e": (CARDS, 1, RequestStatus.ROUTED),
            "req_f": (OTHER_CONSENT, 3, RequestStatus.ROUTED),
        }
        requests = [
            replace(_request(0, key, NOW + timedelta(minutes=minutes)), id=id_, status=status)
            for id_, (key, minutes, status) in minutes_and_status.items()
        ]
        with database.transaction() as session:
            for r in requests:
                session.execute(
                    _INSERT_AT_0060,
                    {
                        "id": r.id,
                        "consent_id": r.consent_id,
                        "provider": r.provider,
                        "product": r.product,
                        "status": r.status.value,
                        "created_at": r.created_at,
                    },
                )

        upgrade(database)
        numbered = {"req_a": 1, "req_b": 2, "req_c": 3, "req_d": 4, "req_e": 1, "req_f": 1}
        with database.transaction() as session:
            assert _numbers(session) == numbered
            repo = SqlRequestRepository(session)
            for minutes in range(-1, 7):
                since = NOW + timedelta(minutes=minutes)
                for key in KEYS:
                    assert _count(repo, key, since) == _brute_force(requests, key, since)
            repo.add(_request(99, LOANS, NOW + timedelta(minutes=6)))
            assert _numbers(session)["req_0099"] == 5

        downgrade(database, "0060")
        columns = {c["name"] for c in inspect(database.engine).get_columns("data_requests")}
        indexes = {i["name"] for i in inspect(database.engine).get_indexes("data_requests")}
        assert "seq" not in columns
        assert indexes == {"ix_data_requests_window"}
        upgrade(database)
        with database.transaction() as session:
            assert _numbers(session) == {**numbered, "req_0099": 5}
        database.dispose()
