from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.jose import JWKSet, PrivateJWK, PublicJWK, TrustedIssuers
from bayflow.identity.credentials import present, verify_presentation
from bayflow.identity.keyfile import KeyFile
from tests.unit.api.scenario import Parties, admit_parties, bearer

pytestmark = pytest.mark.anyio

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LOANS = "https://lionrock.example/loans"
NONCE = "loan-application-7731"


@pytest.fixture
async def parties(hub: httpx.AsyncClient, operator: KeyFile) -> Parties:
    return await admit_parties(hub, operator, START)


@pytest.fixture
async def form(hub: httpx.AsyncClient, parties: Parties) -> dict[str, Any]:
    response = await hub.post(
        "/forms/requests",
        json={
            "subject_org": parties.bayline.organisation,
            "fields": ["legal_name", "city", "registry_identifiers.cn_uscc"],
            "purpose": "working-capital loan application",
            "audience": LOANS,
            "nonce": NONCE,
        },
        headers=await bearer(hub, parties.lionrock, START),
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def _key(key_file: KeyFile) -> PrivateJWK:
    return PrivateJWK.from_signing_key(key_file.person_key.signing_key)


async def _answer(
    hub: httpx.AsyncClient,
    who: KeyFile,
    form: dict[str, Any],
    fields: list[str],
    *,
    disclose: list[str] | None = None,
    nonce: str = NONCE,
    sd_jwt: str | None = None,
) -> httpx.Response:
    headers = await bearer(hub, who, START)
    if sd_jwt is None:
        prepared = await hub.post(f"/forms/requests/{form['id']}/credential", headers=headers)
        if prepared.status_code != 200:
            return prepared
        sd_jwt = prepared.json()["sd_jwt"]
    presentation = present(
        sd_jwt, disclose or fields, _key(who), audience=form["audience"], nonce=nonce, now=START
    )
    return await hub.post(
        f"/forms/requests/{form['id']}/approve",
        json={"fields": fields, "presentation": presentation},
        headers=headers,
    )


class TestFormRequests:
    """A service asks for named profile fields; both sides see the request, nobody else does."""

    async def test_both_sides_list_the_request(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        bank = await bearer(hub, parties.lionrock, START)
        bayline = await bearer(hub, parties.li, START)
        assert [r["id"] for r in (await hub.get("/forms/requests", headers=bank)).json()] == [
            form["id"]
        ]
        received = await hub.get("/forms/requests", params={"role": "subject"}, headers=bayline)
        assert [r["id"] for r in received.json()] == [form["id"]]
        made = await hub.get("/forms/requests", params={"role": "requester"}, headers=bayline)
        assert made.json() == []
        assert form["state"] == "pending"
        assert form["presentation"] is None

    async def test_a_third_organisation_finds_no_such_request(
        self, hub: httpx.AsyncClient, operator: KeyFile, form: dict[str, Any]
    ) -> None:
        outsider = await bearer(hub, operator, START)
        seen = await hub.get(f"/forms/requests/{form['id']}", headers=outsider)
        absent = await hub.get("/forms/requests/form_" + "a" * 26, headers=outsider)
        assert seen.status_code == absent.status_code == 404
        assert (await hub.get("/forms/requests", headers=outsider)).json() == []
        approve = await hub.post(f"/forms/requests/{form['id']}/credential", headers=outsider)
        assert approve.status_code == 404

    async def test_unknown_fields_are_refused(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        response = await hub.post(
            "/forms/requests",
            json={
                "subject_org": parties.bayline.organisation,
                "fields": ["legal_name", "bank_balance"],
                "purpose": "curiosity",
            },
            headers=await bearer(hub, parties.lionrock, START),
        )
        assert response.status_code == 422
        assert "bank_balance" in response.json()["detail"]

    async def test_the_audience_defaults_to_the_requesters_did(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        response = await hub.post(
            "/forms/requests",
            json={
                "subject_org": parties.bayline.organisation,
                "fields": ["city"],
                "purpose": "know your customer",
            },
            headers=await bearer(hub, parties.lionrock, START),
        )
        made = response.json()
        assert made["audience"].endswith(f":orgs:{parties.lionrock.organisation}")
        assert len(made["nonce"]) >= 22


class TestApproval:
    """An authorised person shares a chosen subset; the service gets just those fields."""

    async def test_the_requester_receives_a_presentation_of_the_chosen_fields(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        response = await _answer(hub, parties.chen, form, ["legal_name.en", "city"])
        assert response.status_code == 200, response.text
        assert response.json()["shared_fields"] == ["legal_name.en", "city"]
        fetched = (
            await hub.get(
                f"/forms/requests/{form['id']}",
                headers=await bearer(hub, parties.lionrock, START),
            )
        ).json()
        assert fetched["state"] == "approved"
        assert fetched["decided_by"] == parties.chen.person
        metadata = (await hub.get("/.well-known/jwt-vc-issuer")).json()
        verified = verify_presentation(
            fetched["presentation"],
            TrustedIssuers({metadata["issuer"]: JWKSet.from_dict(metadata["jwks"])}),
            audience=LOANS,
            nonce=NONCE,
            now=START,
        )
        assert verified.disclosed == {"legal_name.en", "city"}
        assert verified.claims["legal_name"] == {"en": "Qianhai Bayline Logistics Co., Ltd."}
        # The key binding is Chen Wei's own signature.
        assert verified.holder == PublicJWK.from_ed25519(parties.chen.person_key.public_key)

    async def test_a_delegate_without_a_mandate_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        response = await _answer(hub, parties.li, form, ["city"])
        assert response.status_code == 403
        assert response.json()["type"].endswith("mandate-not-satisfied")
        # Nor can she submit a presentation of a credential someone else was given.
        chen = await bearer(hub, parties.chen, START)
        sd_jwt = (await hub.post(f"/forms/requests/{form['id']}/credential", headers=chen)).json()
        response = await hub.post(
            f"/forms/requests/{form['id']}/approve",
            json={"fields": ["city"], "presentation": sd_jwt["sd_jwt"]},
            headers=await bearer(hub, parties.li, START),
        )
        assert response.status_code == 403
        decline = await hub.post(
            f"/forms/requests/{form['id']}/decline", headers=await bearer(hub, parties.li, START)
        )
        assert decline.status_code == 403

    async def test_fields_not_asked_for_are_refused(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        response = await _answer(hub, parties.chen, form, ["city", "jurisdiction"])
        assert response.status_code == 422
        assert "'jurisdiction' was not asked for" in response.json()["detail"]

    async def test_disclosing_more_than_was_chosen_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        response = await _answer(hub, parties.chen, form, ["city"], disclose=["city", "legal_name"])
        assert response.status_code == 422
        assert "which was not chosen" in response.json()["detail"]
        response = await _answer(hub, parties.chen, form, ["city", "legal_name"], disclose=["city"])
        assert response.status_code == 422
        assert "does not disclose 'legal_name'" in response.json()["detail"]

    async def test_a_presentation_for_another_nonce_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        response = await _answer(hub, parties.chen, form, ["city"], nonce="someone-elses-nonce")
        assert response.status_code == 422
        assert "nonce" in response.json()["detail"]

    async def test_only_the_credential_made_for_the_request_is_accepted(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        admin = await bearer(hub, parties.bayline, START)
        wallet_credential = await hub.post(
            "/wallet/credentials", json={"type": "business-registration"}, headers=admin
        )
        sd_jwt = wallet_credential.json()["sd_jwt"]
        presentation = present(
            sd_jwt,
            ["city"],
            PrivateJWK.from_signing_key(parties.bayline.organisation_key.signing_key),  # type: ignore[union-attr]
            audience=LOANS,
            nonce=NONCE,
            now=START,
        )
        await hub.put(
            f"/orgs/{parties.bayline.organisation}/people/{parties.bayline.person}/roles",
            json={"roles": ["administrator", "director"]},
            headers=admin,
        )
        response = await hub.post(
            f"/forms/requests/{form['id']}/approve",
            json={"fields": ["city"], "presentation": presentation},
            headers=await bearer(hub, parties.bayline, START),
        )
        assert response.status_code == 422
        assert "made for this request" in response.json()["detail"]

    async def test_asking_twice_for_the_credential_returns_the_same_one(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        chen = await bearer(hub, parties.chen, START)
        first = await hub.post(f"/forms/requests/{form['id']}/credential", headers=chen)
        second = await hub.post(f"/forms/requests/{form['id']}/credential", headers=chen)
        assert first.json()["id"] == second.json()["id"]
        assert first.json()["form_request_id"] == form["id"]

    async def test_an_answered_request_cannot_be_answered_again(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        chen = await bearer(hub, parties.chen, START)
        declined = await hub.post(
            f"/forms/requests/{form['id']}/decline", json={"reason": "not yet"}, headers=chen
        )
        assert declined.json()["state"] == "declined"
        assert declined.json()["reason"] == "not yet"
        response = await _answer(hub, parties.chen, form, ["city"])
        assert response.status_code == 409

    async def test_the_requester_cannot_answer_its_own_request(
        self, hub: httpx.AsyncClient, parties: Parties, form: dict[str, Any]
    ) -> None:
        bank = await bearer(hub, parties.lionrock, START)
        response = await hub.post(f"/forms/requests/{form['id']}/credential", headers=bank)
        assert response.status_code == 409

    async def test_an_unanswered_request_expires_after_a_week(
        self,
        hub: httpx.AsyncClient,
        parties: Parties,
        form: dict[str, Any],
        clock: FixedClock,
    ) -> None:
        clock.advance(timedelta(days=7))
        chen = await bearer(hub, parties.chen, clock.now())
        response = await hub.post(f"/forms/requests/{form['id']}/credential", headers=chen)
        assert response.status_code == 409
        assert "expired" in response.json()["detail"]
        listed = (await hub.get(f"/forms/requests/{form['id']}", headers=chen)).json()
        assert listed["state"] == "expired"
