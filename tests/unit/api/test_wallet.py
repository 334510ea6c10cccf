import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bayflow.crypto.jose import JWKSet, PrivateJWK, TrustedIssuers
from bayflow.hub import HubKeys
from bayflow.identity.credentials import (
    AUTHORISED_SIGNATORY_VCT,
    BUSINESS_REGISTRATION_VCT,
    present,
    verify_presentation,
)
from bayflow.identity.errors import CredentialRevoked, CredentialSuspended
from bayflow.identity.keyfile import KeyFile
from bayflow.identity.status_list import StatusListChecker
from tests.unit.api.scenario import HUB, Parties, admit_parties, bearer

pytestmark = pytest.mark.anyio

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BANK = "https://lionrock.example/loans"
NONCE = "nonce-4f1b2c3d"


@pytest.fixture
async def parties(hub: httpx.AsyncClient, operator: KeyFile) -> Parties:
    return await admit_parties(hub, operator, START)


async def _issuer_keys(hub: httpx.AsyncClient) -> TrustedIssuers:
    metadata = (await hub.get("/.well-known/jwt-vc-issuer")).json()
    return TrustedIssuers({metadata["issuer"]: JWKSet.from_dict(metadata["jwks"])})


async def _issue(hub: httpx.AsyncClient, who: KeyFile, **body: Any) -> httpx.Response:
    return await hub.post("/wallet/credentials", json=body, headers=await bearer(hub, who, START))


def _holder(key_file: KeyFile, *, organisation: bool = False) -> PrivateJWK:
    pair = key_file.organisation_key if organisation else key_file.person_key
    assert pair is not None
    return PrivateJWK.from_signing_key(pair.signing_key)


class TestIssuance:
    """Administrators get registry credentials that verify with the published issuer key."""

    async def test_the_business_registration_credential_discloses_only_what_is_chosen(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        response = await _issue(hub, parties.bayline, type="business-registration")
        assert response.status_code == 201, response.text
        issued = response.json()
        assert issued["vct"] == BUSINESS_REGISTRATION_VCT
        assert issued["holder_kid"] == parties.bayline.organisation_key.kid  # type: ignore[union-attr]
        presentation = present(
            issued["sd_jwt"],
            ["legal_name", "city"],
            _holder(parties.bayline, organisation=True),
            audience=BANK,
            nonce=NONCE,
            now=START,
        )
        verified = verify_presentation(
            presentation, await _issuer_keys(hub), audience=BANK, nonce=NONCE, now=START
        )
        assert verified.issuer == HUB
        assert verified.subject is not None
        assert verified.subject.endswith(f":orgs:{parties.bayline.organisation}")
        assert verified.claims == {
            "legal_name": {
                "en": "Qianhai Bayline Logistics Co., Ltd.",
                "zh": "深圳前海湾线物流有限公司",
            },
            "city": "Shenzhen",
            "registry_identifiers": {},
        }

    async def test_a_signatory_credential_is_bound_to_the_signatorys_own_key(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        response = await _issue(
            hub, parties.bayline, type="authorised-signatory", person_id=parties.chen.person
        )
        assert response.status_code == 201, response.text
        issued = response.json()
        assert issued["mandate_id"] == parties.mandate_id
        presentation = present(
            issued["sd_jwt"],
            ["name", "role", "mandate"],
            _holder(parties.chen),
            audience=BANK,
            nonce=NONCE,
            now=START,
        )
        verified = verify_presentation(
            presentation,
            await _issuer_keys(hub),
            audience=BANK,
            nonce=NONCE,
            now=START,
            vct=AUTHORISED_SIGNATORY_VCT,
        )
        assert verified.claims["name"] == "Chen Wei"
        assert verified.claims["role"] == "director"
        assert verified.claims["mandate"]["limit"] == {"amount": "2000000.00", "currency": "CNY"}

    async def test_a_signatory_may_ask_for_their_own_credential(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        response = await _issue(
            hub, parties.chen, type="authorised-signatory", person_id=parties.chen.person
        )
        assert response.status_code == 201, response.text

    async def test_a_person_without_a_mandate_gets_no_signatory_credential(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        response = await _issue(
            hub, parties.bayline, type="authorised-signatory", person_id=parties.li.person
        )
        assert response.status_code == 409
        assert "no signing mandate" in response.json()["detail"]

    async def test_a_member_who_is_not_an_administrator_cannot_issue(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        assert (await _issue(hub, parties.li, type="business-registration")).status_code == 403
        response = await _issue(
            hub, parties.li, type="authorised-signatory", person_id=parties.chen.person
        )
        assert response.status_code == 403

    async def test_the_wallet_lists_credentials_without_their_sd_jwts(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        issued = (await _issue(hub, parties.bayline, type="business-registration")).json()
        wallet = (await hub.get("/wallet", headers=await bearer(hub, parties.chen, START))).json()
        assert [c["id"] for c in wallet["credentials"]] == [issued["id"]]
        assert "sd_jwt" not in wallet["credentials"][0]
        assert wallet["credentials"][0]["state"] == "valid"


class TestRevocation:
    """Revocation and suspension reach verifiers through the public status list."""

    async def _checker(self, hub: httpx.AsyncClient) -> StatusListChecker:
        keys = await _issuer_keys(hub)
        tokens: dict[str, str] = {}
        for_path = HUB + "/status-lists/"

        def fetch(uri: str) -> str:
            return tokens[uri]

        checker = StatusListChecker(fetch, keys)
        for list_id in (1,):
            response = await hub.get(f"/status-lists/{list_id}")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/statuslist+jwt"
            tokens[for_path + str(list_id)] = response.text
        return checker

    async def _verify(
        self, hub: httpx.AsyncClient, issued: dict[str, Any], bayline: KeyFile
    ) -> Any:
        presentation = present(
            issued["sd_jwt"],
            ["city"],
            _holder(bayline, organisation=True),
            audience=BANK,
            nonce=NONCE,
            now=START,
        )
        return verify_presentation(
            presentation,
            await _issuer_keys(hub),
            audience=BANK,
            nonce=NONCE,
            now=START,
            status_checker=await self._checker(hub),
        )

    async def test_revoked_and_suspended_credentials_fail_verification(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        issued = (await _issue(hub, parties.bayline, type="business-registration")).json()
        admin = await bearer(hub, parties.bayline, START)
        assert (await self._verify(hub, issued, parties.bayline)).claims["city"] == "Shenzhen"
        suspended = await hub.post(f"/wallet/credentials/{issued['id']}/suspend", headers=admin)
        assert suspended.json()["state"] == "suspended"
        with pytest.raises(CredentialSuspended):
            await self._verify(hub, issued, parties.bayline)
        await hub.post(f"/wallet/credentials/{issued['id']}/reinstate", headers=admin)
        await self._verify(hub, issued, parties.bayline)
        revoked = await hub.post(
            f"/wallet/credentials/{issued['id']}/revoke",
            json={"reason": "registration amended"},
            headers=admin,
        )
        assert revoked.json()["state_reason"] == "registration amended"
        with pytest.raises(CredentialRevoked):
            await self._verify(hub, issued, parties.bayline)

    async def test_revocation_is_final(self, hub: httpx.AsyncClient, parties: Parties) -> None:
        issued = (await _issue(hub, parties.bayline, type="business-registration")).json()
        admin = await bearer(hub, parties.bayline, START)
        await hub.post(f"/wallet/credentials/{issued['id']}/revoke", headers=admin)
        response = await hub.post(f"/wallet/credentials/{issued['id']}/reinstate", headers=admin)
        assert response.status_code == 409

    async def test_the_operator_may_revoke_any_credential(
        self, hub: httpx.AsyncClient, parties: Parties, operator: KeyFile
    ) -> None:
        issued = (await _issue(hub, parties.bayline, type="business-registration")).json()
        response = await hub.post(
            f"/wallet/credentials/{issued['id']}/revoke",
            headers=await bearer(hub, operator, START),
        )
        assert response.status_code == 200
        assert response.json()["state"] == "revoked"

    async def test_a_signatory_who_loses_the_role_loses_the_credential(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        issued = (
            await _issue(
                hub, parties.bayline, type="authorised-signatory", person_id=parties.chen.person
            )
        ).json()
        admin = await bearer(hub, parties.bayline, START)
        response = await hub.put(
            f"/orgs/{parties.bayline.organisation}/people/{parties.chen.person}/roles",
            json={"roles": ["delegate"]},
            headers=admin,
        )
        assert response.status_code == 200
        after = (await hub.get(f"/wallet/credentials/{issued['id']}", headers=admin)).json()
        assert after["state"] == "revoked"
        assert "no longer holds" in after["state_reason"]

    async def test_a_member_who_is_not_an_administrator_cannot_revoke(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        issued = (await _issue(hub, parties.bayline, type="business-registration")).json()
        response = await hub.post(
            f"/wallet/credentials/{issued['id']}/revoke",
            headers=await bearer(hub, parties.li, START),
        )
        assert response.status_code == 403


class TestDocuments:
    """Documents are stored whole, with their digest, for their organisation only."""

    async def _upload(
        self, hub: httpx.AsyncClient, who: KeyFile, content: bytes, **params: str
    ) -> httpx.Response:
        headers = {**await bearer(hub, who, START), "Content-Type": "application/pdf"}
        query = {"kind": "licence", "name": "trade-licence.pdf", **params}
        return await hub.post("/wallet/documents", content=content, params=query, headers=headers)

    async def test_an_uploaded_licence_comes_back_byte_for_byte(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        content = b"%PDF-1.7\n" + bytes(range(256)) * 10
        response = await self._upload(
            hub,
            parties.li,
            content,
            issuer="Shenzhen Administration for Market Regulation",
            expires_on="2027-12-31",
        )
        assert response.status_code == 201, response.text
        document = response.json()
        assert document["size"] == len(content)
        assert document["expires_on"] == "2027-12-31"
        admin = await bearer(hub, parties.bayline, START)
        wallet = (await hub.get("/wallet", headers=admin)).json()
        assert [d["id"] for d in wallet["documents"]] == [document["id"]]
        download = await hub.get(f"/wallet/documents/{document['id']}/content", headers=admin)
        assert download.content == content
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == "attachment"
        assert document["sha256"] == hashlib.sha256(content).hexdigest()

    async def test_a_document_over_the_limit_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("bayflow.api.routes.wallet.MAX_DOCUMENT_BYTES", 1024)
        response = await self._upload(hub, parties.bayline, b"x" * 1025)
        assert response.status_code == 413

    async def test_an_empty_document_or_a_path_as_name_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        assert (await self._upload(hub, parties.bayline, b"")).status_code == 422
        response = await self._upload(hub, parties.bayline, b"x", name="../../etc/passwd")
        assert response.status_code == 201
        assert response.json()["name"] == "passwd"


class TestAccessControl:
    """Another organisation learns nothing about a wallet: its ids answer like unknown ones."""

    async def test_another_organisation_gets_the_answer_for_an_unknown_id(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        issued = (await _issue(hub, parties.bayline, type="business-registration")).json()
        headers = {**await bearer(hub, parties.bayline, START), "Content-Type": "text/plain"}
        document = (
            await hub.post(
                "/wallet/documents",
                content=b"permit",
                params={"kind": "permit", "name": "permit.txt"},
                headers=headers,
            )
        ).json()
        bank = await bearer(hub, parties.lionrock, START)
        unknown = "cred_" + "a" * 26
        for path in (
            "/wallet/credentials/{}",
            "/wallet/documents/{}",
            "/wallet/documents/{}/content",
        ):
            real_id = document["id"] if "documents" in path else issued["id"]
            fake_id = unknown.replace("cred", "doc") if "documents" in path else unknown
            seen = await hub.get(path.format(real_id), headers=bank)
            absent = await hub.get(path.format(fake_id), headers=bank)
            assert seen.status_code == absent.status_code == 404
            assert seen.json()["detail"].replace(real_id, "X") == absent.json()["detail"].replace(
                fake_id, "X"
            )
        revoke = await hub.post(f"/wallet/credentials/{issued['id']}/revoke", headers=bank)
        assert revoke.status_code == 404
        wallet = (await hub.get("/wallet", headers=bank)).json()
        assert wallet == {
            "organisation_id": parties.lionrock.organisation,
            "credentials": [],
            "documents": [],
        }

    async def test_the_wallet_needs_a_token(self, hub: httpx.AsyncClient) -> None:
        assert (await hub.get("/wallet")).status_code == 401


class TestPublication:
    """The issuer's keys and its status lists are public."""

    async def test_the_issuer_metadata_names_the_hub_and_a_key_apart_from_the_token_key(
        self, hub: httpx.AsyncClient, hub_keys: HubKeys
    ) -> None:
        metadata = (await hub.get("/.well-known/jwt-vc-issuer")).json()
        assert metadata["issuer"] == HUB
        (key,) = JWKSet.from_dict(metadata["jwks"]).keys
        assert key.kid != hub_keys.kid

    async def test_an_unknown_status_list_is_not_found(self, hub: httpx.AsyncClient) -> None:
        assert (await hub.get("/status-lists/7")).status_code == 404
        assert (await hub.get("/status-lists/0")).status_code == 404

    async def test_a_status_list_expires_and_says_how_long_to_cache_it(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        await _issue(hub, parties.bayline, type="business-registration")
        response = await hub.get("/status-lists/1")
        assert response.headers["cache-control"] == "max-age=300"
        checker = await TestRevocation()._checker(hub)
        token = checker.load(f"{HUB}/status-lists/1", response.text, now=START)
        assert token.expires_at == START + timedelta(days=1)
