"""The compliance API: decisions, volumes and GBA Standard Contracts over HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import rfc8785

from bayflow.compliance.volumes import pseudonymise
from bayflow.config import Settings
from bayflow.hub import HubKeys
from bayflow.identity.keyfile import KeyFile
from tests.unit.api.scenario import Parties, admit_parties, bearer

pytestmark = pytest.mark.anyio

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def parties(hub: httpx.AsyncClient, settings: Settings, hub_keys: HubKeys) -> Parties:
    assert hub_keys.kid
    return await admit_parties(hub, KeyFile.read(settings.operator_key_file), START)


def transfer(parties: Parties, **data: Any) -> dict[str, Any]:
    return {
        "schema": "bayflow-transfer/1",
        "exporter": {
            "organisation": parties.bayline.organisation,
            "jurisdiction": "CN",
            "city": "Shenzhen",
        },
        "recipient": {
            "organisation": parties.lionrock.organisation,
            "jurisdiction": "HK",
            "city": "Hong Kong",
        },
        "data": {"personal_information": True, **data},
    }


class TestDecisionsAPI:
    """POST /compliance/v1/decisions decides, stores and anchors; GET reads it back."""

    async def test_the_scenario_transfer_is_exempt_and_its_digest_is_the_canonical_hash(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        auth = await bearer(hub, parties.bayline, START)
        response = await hub.post(
            "/compliance/v1/decisions", json=transfer(parties, individuals=4_000), headers=auth
        )
        assert response.status_code == 201, response.text
        body = response.json()
        decision = body["decision"]
        assert decision["verdict"] == "exempt"
        assert [r["route"] for r in decision["routes"]] == ["gba_standard_contract_hk", "exempt"]
        assert "Not legal advice" in decision["notice"]
        assert body["digest"] == hashlib.sha256(rfc8785.dumps(decision)).hexdigest()
        as_bank = await bearer(hub, parties.lionrock, START)
        again = await hub.get(f"/compliance/v1/decisions/{decision['id']}", headers=as_bank)
        assert again.status_code == 200
        assert again.json() == body

    async def test_a_description_with_an_unknown_field_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        auth = await bearer(hub, parties.bayline, START)
        body = transfer(parties)
        body["data"]["secret"] = True
        response = await hub.post("/compliance/v1/decisions", json=body, headers=auth)
        assert response.status_code == 422

    async def test_deciding_needs_a_token(self, hub: httpx.AsyncClient) -> None:
        response = await hub.post("/compliance/v1/decisions", json={})
        assert response.status_code == 401

    async def test_the_rules_in_force_are_published_to_participants(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        auth = await bearer(hub, parties.lionrock, START)
        rules = (await hub.get("/compliance/v1/rules", headers=auth)).json()
        assert rules["version"] == "2026.11.1"
        assert rules["thresholds"]["exemption_nonsensitive_individuals"] == 100_000


class TestVolumesAPI:
    """An exporter fetches its key, reports pseudonyms, and reads distinct counts."""

    async def test_pseudonyms_reported_twice_count_once(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        auth = await bearer(hub, parties.bayline, START)
        issued = (await hub.get("/compliance/v1/volumes/key", headers=auth)).json()
        assert issued["year"] == 2026
        assert issued["algorithm"] == "HMAC-SHA256"
        key = bytes.fromhex(issued["key"])
        names = [pseudonymise(key, f"K23456{n}(6)") for n in range(5)]
        first = await hub.post(
            "/compliance/v1/volumes", json={"nonsensitive": names[:3]}, headers=auth
        )
        assert first.json()["added_nonsensitive"] == 3
        second = await hub.post(
            "/compliance/v1/volumes",
            json={"nonsensitive": names, "sensitive": names[:1]},
            headers=auth,
        )
        assert second.status_code == 200, second.text
        assert (second.json()["nonsensitive"], second.json()["sensitive"]) == (5, 1)
        totals = (await hub.get("/compliance/v1/volumes", headers=auth)).json()
        assert (totals["nonsensitive"], totals["sensitive"]) == (5, 1)

    async def test_a_raw_identifier_is_refused(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        auth = await bearer(hub, parties.bayline, START)
        response = await hub.post(
            "/compliance/v1/volumes", json={"nonsensitive": ["K234567(6)"]}, headers=auth
        )
        assert response.status_code == 422
        assert response.json()["type"] == "urn:bayflow:problem:invalid-pseudonym"

    async def test_each_exporter_gets_its_own_key(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        mine = await bearer(hub, parties.bayline, START)
        theirs = await bearer(hub, parties.lionrock, START)
        a = (await hub.get("/compliance/v1/volumes/key", headers=mine)).json()["key"]
        b = (await hub.get("/compliance/v1/volumes/key", headers=theirs)).json()["key"]
        assert a != b


class TestContractsAPI:
    """Parties register, file and list GBA Standard Contracts; others cannot see them."""

    async def test_register_file_and_remind(self, hub: httpx.AsyncClient, parties: Parties) -> None:
        bayline = await bearer(hub, parties.bayline, START)
        bank = await bearer(hub, parties.lionrock, START)
        created = await hub.post(
            "/compliance/v1/contracts",
            json={
                "exporter": parties.bayline.organisation,
                "recipient": parties.lionrock.organisation,
                "effective_on": "2026-11-16",
            },
            headers=bayline,
        )
        assert created.status_code == 201, created.text
        contract = created.json()
        assert contract["route"] == "gba_standard_contract_hk"
        assert contract["lineage_tag"] == "gba_sc_restricted"
        assert contract["exporter"]["deadline"] == "2026-11-30"
        due = (await hub.get("/compliance/v1/contracts/reminders", headers=bank)).json()
        assert [d["state"] for d in due] == []
        filed = await hub.post(
            f"/compliance/v1/contracts/{contract['id']}/filing",
            json={"filing_ref": "DPO-GBA-0001"},
            headers=bank,
        )
        assert filed.status_code == 200, filed.text
        assert filed.json()["recipient"]["filed_on"] == "2026-11-23"
        listed = (await hub.get("/compliance/v1/contracts", headers=bank)).json()
        assert [c["id"] for c in listed] == [contract["id"]]
        soon = await hub.get(
            "/compliance/v1/contracts/reminders", params={"within_days": 10}, headers=bayline
        )
        assert [(d["organisation"], d["state"]) for d in soon.json()] == [
            (parties.bayline.organisation, "due_soon")
        ]

    async def test_a_member_without_admin_rights_cannot_register(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        chen = await bearer(hub, parties.chen, START)
        response = await hub.post(
            "/compliance/v1/contracts",
            json={
                "exporter": parties.bayline.organisation,
                "recipient": parties.lionrock.organisation,
                "effective_on": "2026-11-16",
            },
            headers=chen,
        )
        assert response.status_code == 403

    async def test_an_unknown_contract_is_not_found(
        self, hub: httpx.AsyncClient, parties: Parties
    ) -> None:
        auth = await bearer(hub, parties.bayline, START)
        response = await hub.get("/compliance/v1/contracts/gsc_nothing", headers=auth)
        assert response.status_code == 404
