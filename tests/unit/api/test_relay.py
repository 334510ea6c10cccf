"""``POST /exchange/v1/requests`` through the API, with the reference provider in process.

The hub keeps parsed consent terms and events in per-process caches; these tests warm them
with fetches and check that a revocation, a pause and the frequency limit still refuse the
very next request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayflow.api import create_app
from bayflow.api.provider import INLINE_FILE_SIZE, create_provider_app
from bayflow.api.provider_link import ProviderAnswer
from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.consent.lifecycle import ConsentAction, ConsentState
from bayflow.consent.models import ConsentTerms, FetchType, Frequency, FrequencyUnit, ProductScope
from bayflow.crypto.jose import JWKSet, PrivateJWK, PublicJWK
from bayflow.crypto.jwt import b64url_encode
from bayflow.exchange.envelope import Envelope, open_payload, seal_payload
from bayflow.exchange.provider import FileDataSource
from bayflow.hub import HubKeys
from bayflow.identity.keyfile import EncryptionKey, KeyFile, KeyPair
from bayflow.identity.models import Jurisdiction
from bayflow.ids import new_id
from bayflow.store import Database
from tests.factories import signed_event
from tests.unit.api.scenario import BAYLINE_USCC, HUB, Parties, admit_parties, bearer

pytestmark = pytest.mark.anyio

PRODUCT = "electricity-bills"


@dataclass
class Relay:
    hub: httpx.AsyncClient
    parties: Parties
    provider: KeyFile
    bank_key: EncryptionKey
    clock: FixedClock
    data: Path  # the provider's folder for the product
    app: Any  # the hub's app, whose provider hop a test may replace


@pytest.fixture
async def relay(
    settings: Settings, clock: FixedClock, hub_keys: HubKeys, operator: KeyFile, tmp_path: Path
) -> AsyncIterator[Relay]:
    database = Database(settings.effective_database_url)
    app = create_app(
        settings, database=database, clock=clock, hub_keys=hub_keys, configure_logs=False
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=HUB) as hub:
        now = clock.now()
        parties = await admit_parties(hub, operator, now)
        provider = await _register_provider(hub, operator, now)
        data = tmp_path / "provider-data" / PRODUCT
        data.mkdir(parents=True)
        (data / f"{BAYLINE_USCC}.json").write_text(
            json.dumps([{"period": "2026-09", "kwh": 1200}]), encoding="utf-8"
        )
        provider_app = create_provider_app(
            data=FileDataSource(data.parent),
            key_file=provider,
            hub=HUB,
            hub_keys=_jwks((await hub.get("/.well-known/jwks.json")).json()),
            clock=clock,
        )
        provider_transport = httpx.ASGITransport(app=provider_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=provider_transport) as provider_http:
            app.state.provider_link = InProcessProvider(provider_http)
            as_provider = await bearer(hub, provider, now)
            response = await hub.post(
                "/exchange/v1/products",
                json={
                    "id": PRODUCT,
                    "title_en": "Electricity bills",
                    "title_zh": "電費單",
                    "json_schema": {"type": "object"},
                    "personal_information": False,
                    "held_in": "HK",
                    "held_in_city": "Hong Kong",
                    "endpoint": "http://provider.test/deliver",
                },
                headers=as_provider,
            )
            assert response.status_code == 201, response.text
            yield Relay(hub, parties, provider, EncryptionKey.generate(), clock, data, app)
    database.dispose()


class InProcessProvider:
    """The hub's provider hop (ProviderCaller) through httpx to the provider app in process."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(
        self, url: str, body: bytes, *, content_type: str = "application/json"
    ) -> ProviderAnswer:
        response = await self._client.post(
            url, content=body, headers={"content-type": content_type}
        )
        return ProviderAnswer(
            response.status_code, response.headers.get("content-type"), response.content
        )


def _jwks(document: dict[str, Any]) -> JWKSet:
    return JWKSet.from_dict(document)


async def _register_provider(hub: httpx.AsyncClient, operator: KeyFile, now: datetime) -> KeyFile:
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    response = await hub.post(
        "/orgs",
        json={
            "legal_name_en": "Victoria Harbour Utilities Limited",
            "jurisdiction": "HK",
            "city": "Hong Kong",
            "identifiers": {"hk_brn": "87654321"},
            "administrator": {
                "name": "Provider administrator",
                "public_key": b64url_encode(admin.public_key),
            },
            "organisation_public_key": b64url_encode(org_key.public_key),
        },
        headers=await bearer(hub, operator, now),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return KeyFile(
        hub=HUB,
        organisation=body["organisation"]["id"],
        person=body["administrator"]["id"],
        person_key=admin,
        organisation_key=org_key,
    )


async def _active_consent(r: Relay, *, frequency: Frequency | None = None) -> ConsentTerms:
    now = r.clock.now()
    terms = ConsentTerms(
        id=new_id("con"),
        version=1,
        data_owner=r.parties.bayline.organisation,
        consumer=r.parties.lionrock.organisation,
        products=(ProductScope(r.provider.organisation, PRODUCT),),
        purpose_code="credit-assessment",
        purpose_text="credit assessment for a working-capital loan",
        data_from=date(2024, 1, 1),
        data_to=date(2027, 1, 1),
        fetch_type=FetchType.PERIODIC,
        frequency=frequency or Frequency(FrequencyUnit.DAY, 100),
        data_life=timedelta(days=30),
        expires_at=now + timedelta(days=90),
        origin=Jurisdiction.HK,
        destination=Jurisdiction.HK,
        created_at=now,
    )
    bank = r.parties.lionrock
    event = signed_event(terms, bank, ConsentAction.REQUEST, seq=0, from_state=None, at=now)
    response = await r.hub.post(
        "/consent/v1/consents",
        json={"terms": terms.to_json(), "event": event},
        headers=await bearer(r.hub, bank, now),
    )
    assert response.status_code == 201, response.text
    await _act(r, terms, ConsentAction.APPROVE, seq=1, from_state=ConsentState.REQUESTED)
    return terms


async def _act(
    r: Relay, terms: ConsentTerms, action: ConsentAction, *, seq: int, from_state: ConsentState
) -> None:
    now = r.clock.now()
    chen = r.parties.chen
    event = signed_event(terms, chen, action, seq=seq, from_state=from_state, at=now)
    response = await r.hub.post(
        f"/consent/v1/consents/{terms.id}/events",
        json={"event": event, "version": terms.version},
        headers=await bearer(r.hub, chen, now),
    )
    assert response.status_code == 200, response.text


async def _fetch(r: Relay, terms: ConsentTerms) -> httpx.Response:
    return await r.hub.post(
        "/exchange/v1/requests",
        json={
            "consent_id": terms.id,
            "provider": r.provider.organisation,
            "product": PRODUCT,
            "consumer_key": b64url_encode(r.bank_key.public_key.to_bytes()),
            "consumer_kid": r.bank_key.kid,
        },
        headers=await bearer(r.hub, r.parties.lionrock, r.clock.now()),
    )


def _problem(response: httpx.Response) -> str:
    assert response.status_code >= 400, response.text
    return str(response.json()["type"])


async def test_a_fetch_is_relayed_sealed_to_the_consumer(relay: Relay) -> None:
    terms = await _active_consent(relay)
    response = await _fetch(relay, terms)
    assert response.status_code == 200, response.text
    envelope = Envelope.from_bytes(response.content)
    assert relay.provider.organisation_key is not None
    plaintext, _ = open_payload(
        envelope,
        consumer_private_x25519=relay.bank_key.private_key,
        provider_public=PublicJWK.from_ed25519(relay.provider.organisation_key.public_key),
        consent_id=terms.id,
        request_id=response.headers["Bayflow-Request-Id"],
    )
    assert json.loads(plaintext)["records"] == [{"period": "2026-09", "kwh": 1200}]


async def test_a_large_payload_is_sealed_off_the_event_loop_and_relayed_whole(
    relay: Relay,
) -> None:
    records = [{"period": "2026-09", "meter": f"m-{i:06d}", "kwh": i} for i in range(4000)]
    (relay.data / f"{BAYLINE_USCC}.json").write_text(json.dumps(records), encoding="utf-8")
    assert (relay.data / f"{BAYLINE_USCC}.json").stat().st_size > INLINE_FILE_SIZE
    terms = await _active_consent(relay)
    response = await _fetch(relay, terms)
    assert response.status_code == 200, response.text
    assert relay.provider.organisation_key is not None
    plaintext, _ = open_payload(
        Envelope.from_bytes(response.content),
        consumer_private_x25519=relay.bank_key.private_key,
        provider_public=PublicJWK.from_ed25519(relay.provider.organisation_key.public_key),
        consent_id=terms.id,
        request_id=response.headers["Bayflow-Request-Id"],
    )
    assert json.loads(plaintext)["records"] == records


async def test_revocation_refuses_the_next_request_with_the_caches_warm(relay: Relay) -> None:
    terms = await _active_consent(relay)
    for _ in range(3):
        assert (await _fetch(relay, terms)).status_code == 200
    await _act(relay, terms, ConsentAction.REVOKE, seq=2, from_state=ConsentState.ACTIVE)
    assert _problem(await _fetch(relay, terms)).endswith(":consent-inactive")


async def test_a_pause_refuses_and_a_resume_admits_with_the_caches_warm(relay: Relay) -> None:
    terms = await _active_consent(relay)
    assert (await _fetch(relay, terms)).status_code == 200
    await _act(relay, terms, ConsentAction.PAUSE, seq=2, from_state=ConsentState.ACTIVE)
    assert _problem(await _fetch(relay, terms)).endswith(":consent-inactive")
    await _act(relay, terms, ConsentAction.RESUME, seq=3, from_state=ConsentState.PAUSED)
    assert (await _fetch(relay, terms)).status_code == 200


async def test_the_frequency_limit_counts_every_relayed_request(relay: Relay) -> None:
    terms = await _active_consent(relay, frequency=Frequency(FrequencyUnit.DAY, 2))
    assert (await _fetch(relay, terms)).status_code == 200
    assert (await _fetch(relay, terms)).status_code == 200
    assert _problem(await _fetch(relay, terms)).endswith(":consent-frequency-exceeded")


class TamperingProvider:
    """The provider's hop, with its answer altered in transit or re-sealed by a stranger."""

    def __init__(self, genuine: InProcessProvider, tamper: str) -> None:
        self._genuine = genuine
        self._tamper = tamper

    async def post(
        self, url: str, body: bytes, *, content_type: str = "application/json"
    ) -> ProviderAnswer:
        answer = await self._genuine.post(url, body, content_type=content_type)
        envelope = Envelope.from_bytes(answer.body)
        if self._tamper == "ciphertext":
            altered = bytearray(answer.body)
            altered[-1] ^= 1
            return ProviderAnswer(answer.status, answer.content_type, bytes(altered))
        stranger = seal_payload(
            b"{}",
            content_type="application/json",
            consent_id=envelope.header.consent_id,
            request_id=envelope.header.request_id,
            consumer_public_x25519=envelope.header.consumer_key,
            consumer_kid=envelope.header.consumer_kid,
            provider_key=PrivateJWK.generate(),
        )
        return ProviderAnswer(answer.status, answer.content_type, stranger.to_bytes())


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("ciphertext", "envelope refused: ciphertext is not the one the provider signed"),
        ("stranger", "the envelope is signed by an unknown key"),
    ],
)
async def test_a_refused_answer_is_journalled_as_failed_and_not_counted(
    relay: Relay, tamper: str, reason: str
) -> None:
    terms = await _active_consent(relay, frequency=Frequency(FrequencyUnit.DAY, 1))
    genuine = relay.app.state.provider_link
    relay.app.state.provider_link = TamperingProvider(genuine, tamper)
    assert _problem(await _fetch(relay, terms)).endswith(":payload-rejected")
    journal = await relay.hub.get(
        f"/exchange/v1/consents/{terms.id}/accesses",
        headers=await bearer(relay.hub, relay.parties.lionrock, relay.clock.now()),
    )
    assert journal.status_code == 200, journal.text
    [access] = journal.json()
    assert (access["status"], access["failure"], access["receipt"]) == ("failed", reason, None)
    # The refused answer used none of the consent's one fetch a day.
    relay.app.state.provider_link = genuine
    assert (await _fetch(relay, terms)).status_code == 200
