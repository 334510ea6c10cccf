import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bayflow.clock import FixedClock
from bayflow.consent.interfaces import Notifier, UnsafeNoAnchor
from bayflow.consent.lifecycle import ConsentAction
from bayflow.consent.service import ConsentService
from bayflow.crypto.jose import PrivateJWK
from bayflow.exchange.notifications import DeliveryStatus, Subscription
from bayflow.identity.service import IdentityService
from bayflow.ids import new_id
from bayflow.store import Database, Session, upgrade
from bayflow.store.consent import SqlConsentRepository
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.outbox import SqlNotifier, SqlOutbox, SqlWebhookRepository, outbox_transaction
from bayflow.store.tables import webhook_messages
from tests.factories import Scenario, build_scenario, loan_terms, signed_event

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def scenario(database: Database, clock: FixedClock) -> Scenario:
    with database.transaction() as session:
        return build_scenario(session, clock)


def subscribe(
    database: Database, organisation: str, *event_types: str, url: str = "https://x.test/hook"
) -> Subscription:
    subscription = Subscription(
        id=new_id("whk"),
        organisation_id=organisation,
        url=url,
        event_types=frozenset(event_types),
        created_at=NOW,
    )
    with database.transaction() as session:
        SqlWebhookRepository(session).add_subscription(subscription)
    return subscription


def message_count(database: Database) -> int:
    with database.reading() as session:
        return int(session.execute(select(func.count()).select_from(webhook_messages)).scalar_one())


def enqueue(database: Database, clock: FixedClock, organisation: str, count: int = 1) -> None:
    with database.transaction() as session:
        notifier = SqlNotifier(session, clock)
        for i in range(count):
            notifier.notify([(organisation, "consent.revoked")], {"consent": f"con_{i}"})


def consent_service(session: Session, clock: FixedClock) -> ConsentService:
    return ConsentService(
        SqlConsentRepository(session),
        IdentityService(SqlIdentityRepository(session), clock),
        SqlProductRepository(session),
        UnsafeNoAnchor(),
        clock,
        hub_key=PrivateJWK.generate(),
        notifier=SqlNotifier(session, clock),
    )


def request_loan(session: Session, clock: FixedClock, s: Scenario) -> None:
    terms = loan_terms(s, NOW)
    event = signed_event(terms, s.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW)
    consent_service(session, clock).request(
        terms, event, caller_person=s.wong.person, caller_org=s.lion_rock.organisation
    )


class TestSqlNotifier:
    """Messages are written in the event's own transaction, one per interested subscription."""

    def test_it_is_a_notifier(self, database: Database) -> None:
        with database.transaction() as session:
            notifier: Notifier = SqlNotifier(session)
            assert notifier

    def test_a_consent_request_queues_a_message_to_the_data_owner(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        subscribe(database, scenario.bayline.organisation)
        with database.transaction() as session:
            request_loan(session, clock, scenario)
        with database.transaction() as session:
            [entry] = SqlWebhookRepository(session).recent(scenario.bayline.organisation)
        assert entry.notification.event_type == "consent.requested"
        assert entry.notification.payload["state"] == "requested"
        assert entry.status is DeliveryStatus.PENDING
        assert entry.next_attempt_at == NOW

    def test_a_rolled_back_consent_event_leaves_no_message(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        subscribe(database, scenario.bayline.organisation)

        def fail_after_the_event() -> None:
            with database.transaction() as session:
                request_loan(session, clock, scenario)
                assert message_count(database) == 0  # not visible outside the transaction
                raise RuntimeError("a failure after the event, before the commit")

        with pytest.raises(RuntimeError, match="after the event"):
            fail_after_the_event()
        assert message_count(database) == 0
        with database.transaction() as session:
            assert (
                SqlConsentRepository(session).list_for_organisation(scenario.bayline.organisation)
                == []
            )

    def test_each_active_subscription_that_wants_the_type_gets_its_own_message(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.lion_rock.organisation
        everything = subscribe(database, org, url="https://a.test/hook")
        revocations = subscribe(database, org, "consent.revoked", url="https://b.test/hook")
        subscribe(database, org, "data.ready", url="https://c.test/hook")
        removed = subscribe(database, org, url="https://d.test/hook")
        with database.transaction() as session:
            SqlWebhookRepository(session).remove_subscription(org, removed.id, now=NOW)
        enqueue(database, clock, org)
        with database.transaction() as session:
            entries = SqlWebhookRepository(session).recent(org)
        assert {e.subscription_id for e in entries} == {everything.id, revocations.id}
        assert {e.url for e in entries} == {"https://a.test/hook", "https://b.test/hook"}
        assert len({e.notification.id for e in entries}) == 2

    def test_an_organisation_without_subscriptions_gets_nothing(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        enqueue(database, clock, scenario.victoria.organisation)
        assert message_count(database) == 0

    def test_one_notice_to_several_organisations_reaches_each_under_its_own_type(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        bank, owner = scenario.lion_rock.organisation, scenario.bayline.organisation
        subscribe(database, bank, "data.ready", url="https://bank.test/hook")
        subscribe(database, owner, "data.accessed", url="https://owner.test/hook")
        subscribe(database, owner, "data.ready", url="https://owner.test/ready-only")
        with database.transaction() as session:
            SqlNotifier(session, clock).notify(
                [(bank, "data.ready"), (owner, "data.accessed")], {"request": "req_1"}
            )
        with database.transaction() as session:
            repository = SqlWebhookRepository(session)
            to_bank, to_owner = repository.recent(bank), repository.recent(owner)
        assert [(e.url, e.notification.event_type) for e in to_bank] == [
            ("https://bank.test/hook", "data.ready")
        ]
        assert [(e.url, e.notification.event_type) for e in to_owner] == [
            ("https://owner.test/hook", "data.accessed")
        ]

    def test_an_organisation_named_twice_gets_both_notices(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        bank = scenario.lion_rock.organisation
        subscribe(database, bank)
        with database.transaction() as session:
            SqlNotifier(session, clock).notify(
                [(bank, "data.ready"), (bank, "data.accessed")], {"request": "req_1"}
            )
        with database.transaction() as session:
            entries = SqlWebhookRepository(session).recent(bank)
        assert sorted(e.notification.event_type for e in entries) == [
            "data.accessed",
            "data.ready",
        ]

    def test_a_payload_that_is_not_json_fails_the_event(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        subscribe(database, scenario.victoria.organisation)
        with pytest.raises(TypeError), database.transaction() as session:
            SqlNotifier(session, clock).notify(
                [(scenario.victoria.organisation, "data.ready")], {"at": NOW}
            )


class TestSqlWebhookRepository:
    """Subscriptions are listed per organisation and removed without losing history."""

    def test_subscriptions_round_trip(self, database: Database, scenario: Scenario) -> None:
        org = scenario.bayline.organisation
        made = subscribe(database, org, "consent.revoked", "consent.active")
        subscribe(database, scenario.lion_rock.organisation)
        with database.transaction() as session:
            assert SqlWebhookRepository(session).subscriptions(org) == [made]

    def test_removing_gives_up_pending_messages_and_is_refused_twice(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscription = subscribe(database, org)
        enqueue(database, clock, org)
        with database.transaction() as session:
            repository = SqlWebhookRepository(session)
            assert repository.remove_subscription(org, subscription.id, now=NOW)
            assert not repository.remove_subscription(org, subscription.id, now=NOW)
            assert repository.subscriptions(org) == []
            [entry] = repository.recent(org)
        assert entry.status is DeliveryStatus.DEAD
        assert entry.last_error == "the subscription was removed"

    def test_another_organisations_subscription_cannot_be_removed(
        self, database: Database, scenario: Scenario
    ) -> None:
        subscription = subscribe(database, scenario.bayline.organisation)
        with database.transaction() as session:
            repository = SqlWebhookRepository(session)
            assert not repository.remove_subscription(
                scenario.lion_rock.organisation, subscription.id, now=NOW
            )

    def test_recent_lists_newest_first_within_the_limit(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscribe(database, org)
        for _ in range(3):
            enqueue(database, clock, org)
            clock.advance(timedelta(seconds=1))
        with database.transaction() as session:
            entries = SqlWebhookRepository(session).recent(org, limit=2)
        assert [e.notification.created_at for e in entries] == [
            NOW + timedelta(seconds=2),
            NOW + timedelta(seconds=1),
        ]


class TestSqlOutbox:
    """Due messages are leased once, and only the lease holder records the outcome."""

    def test_claiming_leases_due_messages_for_one_attempt(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        subscribe(database, scenario.bayline.organisation)
        enqueue(database, clock, scenario.bayline.organisation, count=3)
        with outbox_transaction(database) as outbox:
            claimed = outbox.claim(now=NOW, limit=2, lease=LEASE)
        assert len(claimed) == 2
        assert all(c.attempts == 1 for c in claimed)
        with outbox_transaction(database) as outbox:
            [last] = outbox.claim(now=NOW, limit=5, lease=LEASE)
            assert outbox.claim(now=NOW, limit=5, lease=LEASE) == []
            assert outbox.next_due() == NOW + LEASE
        assert last.notification.id not in {c.notification.id for c in claimed}

    def test_a_lease_that_runs_out_makes_the_message_due_again(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        subscribe(database, scenario.bayline.organisation)
        enqueue(database, clock, scenario.bayline.organisation)
        with outbox_transaction(database) as outbox:
            [first] = outbox.claim(now=NOW, limit=1, lease=LEASE)
        later = NOW + LEASE
        with outbox_transaction(database) as outbox:
            [second] = outbox.claim(now=later, limit=1, lease=LEASE)
            assert second.attempts == 2
            assert second.claim != first.claim
            # The first worker's late outcome is not recorded over the second's lease.
            assert not outbox.mark_delivered(first, now=later, status=200)
            assert outbox.mark_delivered(second, now=later, status=204)

    def test_a_delivered_message_is_done(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscribe(database, org)
        enqueue(database, clock, org)
        with outbox_transaction(database) as outbox:
            [message] = outbox.claim(now=NOW, limit=1, lease=LEASE)
            assert outbox.mark_delivered(message, now=NOW, status=200)
            assert not outbox.mark_delivered(message, now=NOW, status=200)
            assert outbox.next_due() is None
        with database.transaction() as session:
            [entry] = SqlWebhookRepository(session).recent(org)
        assert entry.status is DeliveryStatus.DELIVERED
        assert (entry.delivered_at, entry.last_status, entry.attempts) == (NOW, 200, 1)

    def test_a_failed_attempt_is_retried_at_the_time_given(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscribe(database, org)
        enqueue(database, clock, org)
        retry_at = NOW + timedelta(seconds=2)
        with outbox_transaction(database) as outbox:
            [message] = outbox.claim(now=NOW, limit=1, lease=LEASE)
            assert outbox.mark_failed(
                message, now=NOW, status=503, error="HTTP 503", retry_at=retry_at
            )
            assert outbox.claim(now=retry_at - timedelta(seconds=1), limit=1, lease=LEASE) == []
            [again] = outbox.claim(now=retry_at, limit=1, lease=LEASE)
        assert again.attempts == 2
        with database.transaction() as session:
            [entry] = SqlWebhookRepository(session).recent(org)
        assert (entry.last_status, entry.last_error) == (503, "HTTP 503")

    def test_a_message_given_up_is_dead(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscribe(database, org)
        enqueue(database, clock, org)
        with outbox_transaction(database) as outbox:
            [message] = outbox.claim(now=NOW, limit=1, lease=LEASE)
            error = "ConnectError: " + "x" * 600
            assert outbox.mark_failed(message, now=NOW, status=None, error=error, retry_at=None)
            assert outbox.next_due() is None
        with database.transaction() as session:
            [entry] = SqlWebhookRepository(session).recent(org)
        assert entry.status is DeliveryStatus.DEAD
        assert entry.last_status is None
        assert entry.last_error is not None
        assert len(entry.last_error) == 500

    def test_an_outcome_after_the_subscription_was_removed_is_dropped(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscription = subscribe(database, org)
        enqueue(database, clock, org)
        with outbox_transaction(database) as outbox:
            [message] = outbox.claim(now=NOW, limit=1, lease=LEASE)
        with database.transaction() as session:
            SqlWebhookRepository(session).remove_subscription(org, subscription.id, now=NOW)
        with outbox_transaction(database) as outbox:
            assert not outbox.mark_failed(
                message, now=NOW, status=500, error="HTTP 500", retry_at=NOW
            )
            assert outbox.next_due() is None

    def test_concurrent_claimers_never_share_a_message(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        org = scenario.bayline.organisation
        subscribe(database, org)
        enqueue(database, clock, org, count=60)
        claims: list[list[str]] = [[] for _ in range(4)]
        start = threading.Barrier(len(claims))

        def worker(mine: list[str]) -> None:
            start.wait()
            while True:
                with outbox_transaction(database) as outbox:
                    batch = outbox.claim(now=NOW, limit=3, lease=LEASE)
                if not batch:
                    return
                mine.extend(c.notification.id for c in batch)

        threads = [threading.Thread(target=worker, args=(mine,)) for mine in claims]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        every = [message_id for mine in claims for message_id in mine]
        assert len(every) == 60
        assert len(set(every)) == 60


class TestSkipLocked:
    """On PostgreSQL a claimer skips rows another open transaction holds, without waiting."""

    def test_an_open_claim_is_skipped_not_waited_for(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        if database.is_sqlite:
            pytest.skip("SQLite has one writer at a time: the second claim would wait")
        org = scenario.bayline.organisation
        subscribe(database, org)
        enqueue(database, clock, org, count=5)
        with database.transaction() as first, database.transaction() as second:
            held = SqlOutbox(first).claim(now=NOW, limit=3, lease=LEASE)
            rest = SqlOutbox(second).claim(now=NOW, limit=5, lease=LEASE)
        assert len(held) == 3
        assert len(rest) == 2
        assert {c.notification.id for c in held}.isdisjoint(c.notification.id for c in rest)
