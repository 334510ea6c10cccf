import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.jose import PrivateJWK
from bayflow.exchange.dispatcher import Outbox, WebhookDispatcher
from bayflow.exchange.notifications import (
    DeliveryStatus,
    InMemoryReplayCache,
    OutboxEntry,
    RetryPolicy,
    Subscription,
    verify_webhook,
)
from bayflow.ids import new_id
from bayflow.store import Database, upgrade
from bayflow.store.outbox import SqlNotifier, SqlWebhookRepository, outbox_transaction
from tests.factories import build_scenario

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HUB_KEY = PrivateJWK.generate()
URL = "https://bank.test/hooks/bayflow"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'bayflow.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def organisation(database: Database, clock: FixedClock) -> str:
    with database.transaction() as session:
        org = build_scenario(session, clock).lion_rock.organisation
        SqlWebhookRepository(session).add_subscription(
            Subscription(new_id("whk"), org, URL, frozenset(), NOW)
        )
    return org


def enqueue(database: Database, clock: FixedClock, organisation: str, count: int = 1) -> None:
    with database.transaction() as session:
        for i in range(count):
            SqlNotifier(session, clock).notify([(organisation, "consent.active")], {"n": i})


def entries(database: Database, organisation: str) -> list[OutboxEntry]:
    with database.transaction() as session:
        return SqlWebhookRepository(session).recent(organisation)


def dispatcher(
    database: Database, clock: FixedClock, handler: Handler, **kwargs: object
) -> WebhookDispatcher:
    def transaction() -> AbstractContextManager[Outbox]:
        return outbox_transaction(database)

    return WebhookDispatcher(
        transaction,
        lambda: HUB_KEY,
        clock,
        transport=httpx.MockTransport(handler),
        rand=lambda: 0.0,
        **kwargs,  # type: ignore[arg-type]
    )


class Receiver:
    """Records what it accepts, verifying each delivery, and answers with a script."""

    def __init__(self, clock: FixedClock, *answers: int) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.accepted: list[dict[str, object]] = []
        self.seen = InMemoryReplayCache()
        self.changed = asyncio.Event()

    async def until(self, count: int) -> None:
        while len(self.accepted) < count:
            self.changed.clear()
            await self.changed.wait()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status = self.answers.pop(0) if self.answers else 200
        if 200 <= status < 300:
            body = verify_webhook(
                request.headers,
                request.content,
                HUB_KEY.public,
                now=self.clock.now(),
                seen=self.seen,
            )
            self.accepted.append(body)
            self.changed.set()
        return httpx.Response(status)


class TestDispatchOnce:
    """A round sends due messages signed, and schedules what failed."""

    async def test_a_due_message_is_delivered_signed_and_marked(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        enqueue(database, clock, organisation)
        receiver = Receiver(clock)
        async with dispatcher(database, clock, receiver) as d:
            report = await d.dispatch_once()
        assert len(report.delivered) == 1
        assert receiver.accepted[0]["type"] == "consent.active"
        [entry] = entries(database, organisation)
        assert entry.status is DeliveryStatus.DELIVERED
        assert entry.attempts == 1

    async def test_a_failure_is_retried_after_the_backoff(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        enqueue(database, clock, organisation)
        receiver = Receiver(clock, 503, 500)
        async with dispatcher(database, clock, receiver) as d:
            assert len((await d.dispatch_once()).retrying) == 1
            [entry] = entries(database, organisation)
            assert entry.next_attempt_at == NOW + timedelta(seconds=1)
            assert (entry.last_status, entry.last_error) == (503, "HTTP 503 Service Unavailable")
            # Not due yet: nothing is sent.
            assert (await d.dispatch_once()).attempted == 0
            clock.advance(timedelta(seconds=1))
            assert len((await d.dispatch_once()).retrying) == 1
            clock.advance(timedelta(seconds=2))
            assert len((await d.dispatch_once()).delivered) == 1
        [entry] = entries(database, organisation)
        assert (entry.status, entry.attempts) == (DeliveryStatus.DELIVERED, 3)
        assert len(receiver.accepted) == 1

    async def test_a_refused_connection_is_a_failure_without_a_status(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        enqueue(database, clock, organisation)
        async with dispatcher(database, clock, refuse) as d:
            await d.dispatch_once()
        [entry] = entries(database, organisation)
        assert entry.status is DeliveryStatus.PENDING
        assert entry.last_status is None
        assert entry.last_error == "ConnectError: connection refused"

    async def test_a_timeout_is_a_failure(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        def hang(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        enqueue(database, clock, organisation)
        async with dispatcher(database, clock, hang) as d:
            await d.dispatch_once()
        [entry] = entries(database, organisation)
        assert entry.last_error == "no answer within 5 s"

    async def test_a_redirect_is_not_followed(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        def redirect(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(302, headers={"Location": "https://elsewhere.test/"})

        enqueue(database, clock, organisation)
        async with dispatcher(database, clock, redirect) as d:
            await d.dispatch_once()
        [entry] = entries(database, organisation)
        assert entry.last_error == "HTTP 302 Found (redirects are not followed)"

    async def test_a_message_out_of_attempts_is_dead(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        enqueue(database, clock, organisation)
        receiver = Receiver(clock, 500, 500, 500)
        policy = RetryPolicy(max_attempts=2)
        async with dispatcher(database, clock, receiver, policy=policy) as d:
            await d.dispatch_once()
            clock.advance(timedelta(seconds=1))
            report = await d.dispatch_once()
        assert len(report.dead) == 1
        [entry] = entries(database, organisation)
        assert (entry.status, entry.attempts) == (DeliveryStatus.DEAD, 2)
        assert receiver.accepted == []

    async def test_an_idle_round_sends_nothing_and_needs_no_key(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        del organisation

        def no_key() -> PrivateJWK:
            raise AssertionError("the key was loaded for nothing")

        async with WebhookDispatcher(
            lambda: outbox_transaction(database), no_key, clock
        ) as d:  # fmt: skip
            assert (await d.dispatch_once()).attempted == 0

    async def test_a_batch_is_sent_concurrently(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        enqueue(database, clock, organisation, count=4)
        in_flight = 0
        most = 0

        async def handler(_request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return httpx.Response(204)

        async with dispatcher(database, clock, handler, batch_size=4) as d:  # type: ignore[arg-type]
            report = await d.dispatch_once()
        assert len(report.delivered) == 4
        assert most == 4

    def test_the_lease_must_outlast_the_timeout(self, database: Database) -> None:
        with pytest.raises(ValueError, match="outlast"):
            WebhookDispatcher(
                lambda: outbox_transaction(database),
                lambda: HUB_KEY,
                FixedClock(NOW),
                timeout=5,
                lease=timedelta(seconds=5),
            )


class TestBackgroundLoop:
    """The loop delivers until stopped, and stops cleanly."""

    async def test_the_loop_delivers_every_message_and_stops(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        enqueue(database, clock, organisation, count=25)
        receiver = Receiver(clock)
        d = dispatcher(database, clock, receiver, poll_interval=0.01)
        d.start()
        with pytest.raises(RuntimeError, match="running already"):
            d.start()
        try:
            async with asyncio.timeout(30):
                await receiver.until(25)
        finally:
            await d.aclose()
        assert {e.status for e in entries(database, organisation)} == {DeliveryStatus.DELIVERED}
        await d.stop()  # stopping twice is harmless

    async def test_a_failing_round_does_not_end_the_loop(
        self, database: Database, clock: FixedClock, organisation: str
    ) -> None:
        enqueue(database, clock, organisation)
        receiver = Receiver(clock)
        failed = asyncio.Event()

        def key() -> PrivateJWK:
            if not failed.is_set():
                failed.set()
                raise RuntimeError("the key file is not there yet")
            return HUB_KEY

        d = WebhookDispatcher(
            lambda: outbox_transaction(database),
            key,
            clock,
            transport=httpx.MockTransport(receiver),
            poll_interval=0.01,
        )
        d.start()
        try:
            async with asyncio.timeout(30):
                await failed.wait()
                # The failed round leased the message; it comes back when the lease runs out.
                clock.advance(timedelta(minutes=1))
                await receiver.until(1)
        finally:
            await d.aclose()
        assert len(receiver.accepted) == 1
