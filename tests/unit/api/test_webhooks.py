from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bayflow.api import create_app
from bayflow.api.routes.webhooks import MAX_SUBSCRIPTIONS
from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.consent.lifecycle import ConsentAction
from bayflow.crypto.jose import JWKSet, PrivateJWK
from bayflow.exchange.dispatcher import WebhookDispatcher
from bayflow.exchange.notifications import InMemoryReplayCache, verify_webhook
from bayflow.hub import HubKeys, bootstrap
from bayflow.store import Database, upgrade
from bayflow.store.outbox import outbox_transaction
from tests.factories import HUB, Scenario, build_scenario, loan_terms, signed_event
from tests.unit.api.scenario import bearer

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HOOK = "https://bayline.example/hooks/bayflow"


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
def hub_keys(tmp_path: Path, database: Database, clock: FixedClock) -> HubKeys:
    return bootstrap(Settings(data_dir=tmp_path, public_url=HUB), database, clock)


@pytest.fixture
def scenario(database: Database, clock: FixedClock) -> Scenario:
    with database.transaction() as session:
        return build_scenario(session, clock)


@pytest.fixture
async def hub(
    tmp_path: Path, database: Database, clock: FixedClock, hub_keys: HubKeys
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(data_dir=tmp_path, public_url=HUB),
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
async def bayline_admin(hub: httpx.AsyncClient, scenario: Scenario) -> dict[str, str]:
    return await bearer(hub, scenario.bayline.admin, NOW)


async def subscribe(
    hub: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await hub.post("/webhooks", json={"url": HOOK, **body}, headers=headers)


class TestSubscriptions:
    """An organisation's administrators manage its webhooks; nobody else sees them."""

    async def test_an_administrator_subscribes_lists_and_removes(
        self, hub: httpx.AsyncClient, bayline_admin: dict[str, str], scenario: Scenario
    ) -> None:
        response = await subscribe(hub, bayline_admin, events=["consent.requested"])
        assert response.status_code == 201, response.text
        made = response.json()
        assert made["organisation_id"] == scenario.bayline.organisation
        assert made["events"] == ["consent.requested"]
        assert made["id"].startswith("whk_")
        listed = (await hub.get("/webhooks", headers=bayline_admin)).json()
        assert listed == [made]
        removed = await hub.delete(f"/webhooks/{made['id']}", headers=bayline_admin)
        assert removed.status_code == 204
        assert (await hub.get("/webhooks", headers=bayline_admin)).json() == []
        again = await hub.delete(f"/webhooks/{made['id']}", headers=bayline_admin)
        assert again.status_code == 404

    async def test_no_events_means_every_event(
        self, hub: httpx.AsyncClient, bayline_admin: dict[str, str]
    ) -> None:
        response = await subscribe(hub, bayline_admin)
        assert response.json()["events"] == []

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"url": "ftp://bayline.example/hook"}, "http or https"),
            ({"url": "https://u:p@bayline.example/hook"}, "credentials"),
            ({"events": ["consent.granted"]}, "consent.requested"),
            ({"secret": "x"}, "secret"),
        ],
    )
    async def test_a_bad_subscription_is_refused(
        self,
        hub: httpx.AsyncClient,
        bayline_admin: dict[str, str],
        body: dict[str, object],
        detail: str,
    ) -> None:
        response = await subscribe(hub, bayline_admin, **body)
        assert response.status_code == 422
        assert detail in response.text

    async def test_a_member_who_is_not_an_administrator_is_refused(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        as_chen = await bearer(hub, scenario.chen_wei, NOW)
        assert (await subscribe(hub, as_chen)).status_code == 403
        assert (await hub.get("/webhooks", headers=as_chen)).status_code == 403
        assert (await hub.get("/webhooks/deliveries", headers=as_chen)).status_code == 403

    async def test_another_organisation_cannot_see_or_remove_a_webhook(
        self, hub: httpx.AsyncClient, bayline_admin: dict[str, str], scenario: Scenario
    ) -> None:
        made = (await subscribe(hub, bayline_admin)).json()
        as_bank = await bearer(hub, scenario.lion_rock.admin, NOW)
        assert (await hub.get("/webhooks", headers=as_bank)).json() == []
        response = await hub.delete(f"/webhooks/{made['id']}", headers=as_bank)
        assert response.status_code == 404
        assert len((await hub.get("/webhooks", headers=bayline_admin)).json()) == 1

    async def test_the_number_of_webhooks_is_bounded(
        self, hub: httpx.AsyncClient, bayline_admin: dict[str, str]
    ) -> None:
        for _ in range(MAX_SUBSCRIPTIONS):
            assert (await subscribe(hub, bayline_admin)).status_code == 201
        response = await subscribe(hub, bayline_admin)
        assert response.status_code == 409
        assert "at most" in response.text

    async def test_a_call_without_a_token_is_refused(self, hub: httpx.AsyncClient) -> None:
        assert (await hub.get("/webhooks")).status_code == 401


class TestKeySet:
    """Anyone can fetch the keys that sign deliveries."""

    async def test_the_key_set_holds_the_hub_key(
        self, hub: httpx.AsyncClient, hub_keys: HubKeys
    ) -> None:
        response = await hub.get("/webhooks/jwks.json")
        assert response.status_code == 200
        assert "max-age" in response.headers["cache-control"]
        keys = JWKSet.from_dict(response.json())
        assert [key.kid for key in keys.keys] == [hub_keys.kid]
        assert PrivateJWK.from_signing_key(hub_keys.signing_key).kid == hub_keys.kid


class TestConsentEventsReachSubscribers:
    """A consent request made over HTTP is queued, delivered signed, and shown as delivered."""

    async def test_a_consent_request_is_delivered_to_the_data_owner(
        self,
        hub: httpx.AsyncClient,
        bayline_admin: dict[str, str],
        scenario: Scenario,
        database: Database,
        clock: FixedClock,
        hub_keys: HubKeys,
    ) -> None:
        await subscribe(hub, bayline_admin)
        terms = loan_terms(scenario, NOW)
        event = signed_event(
            terms, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
        )
        as_wong = await bearer(hub, scenario.wong, NOW)
        response = await hub.post(
            "/consent/v1/consents", json={"terms": terms.to_json(), "event": event}, headers=as_wong
        )
        assert response.status_code == 201, response.text

        [queued] = (await hub.get("/webhooks/deliveries", headers=bayline_admin)).json()
        assert (queued["type"], queued["status"], queued["attempts"]) == (
            "consent.requested",
            "pending",
            0,
        )
        assert queued["data"]["consent"] == terms.id

        keys = JWKSet.from_dict((await hub.get("/webhooks/jwks.json")).json())
        received: list[dict[str, object]] = []
        seen = InMemoryReplayCache()

        def receiver(request: httpx.Request) -> httpx.Response:
            received.append(
                verify_webhook(request.headers, request.content, keys, now=clock.now(), seen=seen)
            )
            return httpx.Response(204)

        clock.advance(timedelta(seconds=1))
        async with WebhookDispatcher(
            lambda: outbox_transaction(database),
            lambda: PrivateJWK.from_signing_key(hub_keys.signing_key),
            clock,
            transport=httpx.MockTransport(receiver),
        ) as dispatcher:
            await dispatcher.dispatch_once()

        assert [r["id"] for r in received] == [queued["id"]]
        [delivered] = (await hub.get("/webhooks/deliveries", headers=bayline_admin)).json()
        assert (delivered["status"], delivered["last_status"]) == ("delivered", 204)
        # The bank acted, and has no webhook: it was told nothing.
        as_bank = await bearer(hub, scenario.lion_rock.admin, NOW)
        assert (await hub.get("/webhooks/deliveries", headers=as_bank)).json() == []
