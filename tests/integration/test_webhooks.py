"""Webhooks over real HTTP on loopback: a receiver that is down when the event happens.

The receiver is the kind a participant writes: it verifies each delivery with
``verify_webhook`` against the hub's published key set, answers 2xx to a delivery it has seen
(so the hub stops retrying) and records each new one once.
"""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import uvicorn

from bayflow.api import create_app
from bayflow.clock import Clock, FixedClock, SystemClock
from bayflow.config import Settings
from bayflow.consent.lifecycle import ConsentAction
from bayflow.crypto.jose import JWKSet, PrivateJWK
from bayflow.exchange.dispatcher import WebhookDispatcher
from bayflow.exchange.errors import WebhookRejected, WebhookReplayed
from bayflow.exchange.notifications import InMemoryReplayCache, RetryPolicy, verify_webhook
from bayflow.hub import HubKeys, bootstrap
from bayflow.store import Database, upgrade
from bayflow.store.outbox import outbox_transaction
from tests.factories import HUB, Scenario, build_scenario, loan_terms, signed_event
from tests.integration.conftest import free_port
from tests.unit.api.scenario import bearer

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Receiver:
    """A participant's webhook endpoint, as a bare ASGI app."""

    def __init__(self, keys: JWKSet, clock: Clock) -> None:
        self.keys = keys
        self.clock = clock
        self.seen = InMemoryReplayCache()
        self.accepted: list[dict[str, Any]] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.duplicates = 0
        self.rejected: list[str] = []
        self.arrived = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append((headers, body))
        try:
            event = verify_webhook(headers, body, self.keys, now=self.clock.now(), seen=self.seen)
        except WebhookReplayed:
            self.duplicates += 1
            status = 200
        except WebhookRejected as exc:
            self.rejected.append(str(exc))
            status = 400
        else:
            self.accepted.append(event)
            self.arrived.set()
            status = 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def serving(
    app: Any, port: int, *, lifespan: Literal["on", "off"] = "off"
) -> Iterator[uvicorn.Server]:
    """Serve ``app`` on loopback from a thread until the block ends."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server did not stop"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'bayflow.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, public_url=HUB)


@pytest.fixture
def hub_keys(settings: Settings, database: Database) -> HubKeys:
    return bootstrap(settings, database, FixedClock(NOW))


@pytest.fixture
def scenario(database: Database) -> Scenario:
    with database.transaction() as session:
        return build_scenario(session, FixedClock(NOW))


async def request_consent(
    hub: httpx.AsyncClient, scenario: Scenario, now: datetime
) -> dict[str, Any]:
    terms = loan_terms(scenario, now)
    event = signed_event(
        terms, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=now
    )
    as_wong = await bearer(hub, scenario.wong, now)
    response = await hub.post(
        "/consent/v1/consents", json={"terms": terms.to_json(), "event": event}, headers=as_wong
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestReceiverDownThenUp:
    """A message for a receiver that is down arrives once it is up, once, and verified."""

    @pytest.fixture
    async def hub(
        self, settings: Settings, database: Database, hub_keys: HubKeys, clock: FixedClock
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            settings,
            database=database,
            clock=clock,
            hub_keys=hub_keys,
            configure_logs=False,
            dispatch_webhooks=False,
        )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=HUB) as client:
            yield client

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(NOW)

    async def test_the_message_arrives_after_retries_exactly_once(
        self,
        hub: httpx.AsyncClient,
        database: Database,
        hub_keys: HubKeys,
        scenario: Scenario,
        clock: FixedClock,
    ) -> None:
        port = free_port()
        hook = f"http://127.0.0.1:{port}/hooks/bayflow"
        as_bayline = await bearer(hub, scenario.bayline.admin, NOW)
        subscribed = await hub.post("/webhooks", json={"url": hook}, headers=as_bayline)
        assert subscribed.status_code == 201, subscribed.text
        keys = JWKSet.from_dict((await hub.get("/webhooks/jwks.json")).json())
        receiver = Receiver(keys, clock)

        # The event happens while nothing listens on the port.
        consent = await request_consent(hub, scenario, NOW)
        dispatcher = WebhookDispatcher(
            lambda: outbox_transaction(database),
            lambda: PrivateJWK.from_signing_key(hub_keys.signing_key),
            clock,
            policy=RetryPolicy(jitter=0.0),
        )
        async with dispatcher:
            first = await dispatcher.dispatch_once()
            clock.advance(timedelta(seconds=1))
            second = await dispatcher.dispatch_once()
            assert (len(first.retrying), len(second.retrying)) == (1, 1)
            [pending] = (await hub.get("/webhooks/deliveries", headers=as_bayline)).json()
            assert pending["status"] == "pending"
            assert pending["attempts"] == 2
            assert pending["last_status"] is None
            assert "ConnectError" in pending["last_error"]
            # Not due until two seconds after the second failure: nothing goes early.
            assert (await dispatcher.dispatch_once()).attempted == 0

            with serving(receiver, port):
                clock.advance(timedelta(seconds=2))
                third = await dispatcher.dispatch_once()
                assert len(third.delivered) == 1

                # A replay of the captured request is recognised, by the endpoint and by
                # verify_webhook itself, and changes nothing.
                headers, body = receiver.requests[-1]
                async with httpx.AsyncClient() as attacker:
                    replayed = await attacker.post(hook, content=body, headers=headers)
                assert replayed.status_code == 200
                with pytest.raises(WebhookReplayed):
                    verify_webhook(headers, body, keys, now=clock.now(), seen=receiver.seen)

                # Delivered is final: later rounds send nothing more.
                clock.advance(timedelta(hours=1))
                assert (await dispatcher.dispatch_once()).attempted == 0

        [event] = receiver.accepted
        assert event["id"] == pending["id"]
        assert event["type"] == "consent.requested"
        assert event["data"]["consent"] == consent["id"]
        assert (receiver.duplicates, receiver.rejected) == (1, [])
        as_bayline = await bearer(hub, scenario.bayline.admin, clock.now())
        [delivered] = (await hub.get("/webhooks/deliveries", headers=as_bayline)).json()
        assert (delivered["status"], delivered["attempts"]) == ("delivered", 3)


class TestTheHubsOwnDispatcher:
    """A hub started with its lifespan sends webhooks by itself and stops cleanly."""

    async def test_a_running_hub_delivers_once_the_receiver_is_up(
        self, settings: Settings, database: Database, hub_keys: HubKeys
    ) -> None:
        # This hub runs on the wall clock, so its participants' keys must date from it.
        with database.transaction() as session:
            scenario = build_scenario(session, SystemClock())
        app = create_app(
            settings, database=database, hub_keys=hub_keys, configure_logs=False
        )  # fmt: skip
        hub_port, receiver_port = free_port(), free_port()
        hook = f"http://127.0.0.1:{receiver_port}/hook"
        keys = JWKSet([PrivateJWK.from_signing_key(hub_keys.signing_key).public])
        receiver = Receiver(keys, SystemClock())
        with serving(app, hub_port, lifespan="on"):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub_port}") as hub:
                now = SystemClock().now()
                as_bayline = await bearer(hub, scenario.bayline.admin, now)
                subscribed = await hub.post("/webhooks", json={"url": hook}, headers=as_bayline)
                assert subscribed.status_code == 201, subscribed.text
                await request_consent(hub, scenario, now)

                # Wait for the hub to find the receiver down at least once.
                deadline = time.monotonic() + 60
                while True:
                    [entry] = (await hub.get("/webhooks/deliveries", headers=as_bayline)).json()
                    if entry["last_error"]:
                        break
                    assert time.monotonic() < deadline, "the hub never tried the receiver"
                    await asyncio.sleep(0.05)

                with serving(receiver, receiver_port):
                    arrived = await asyncio.to_thread(receiver.arrived.wait, 60)
                    assert arrived, "the message never arrived"
                [entry] = (await hub.get("/webhooks/deliveries", headers=as_bayline)).json()
        assert entry["status"] == "delivered"
        assert entry["attempts"] >= 2
        assert [e["id"] for e in receiver.accepted] == [entry["id"]]
