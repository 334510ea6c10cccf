import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayflow.api import create_app
from bayflow.api.ledger import LedgerRuntime
from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.hub import bootstrap, load_log_policy
from bayflow.identity.auth import ASSERTION_TYPE
from bayflow.identity.keyfile import KeyFile
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.errors import CommitmentRevoked
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import Ed25519Verifier, Note
from bayflow.ledger.proof import ProofBundle, verify_proof
from bayflow.ledger.revocation import RevocationProof
from bayflow.ledger.tiles import decode_entry_bundle
from bayflow.store import Database, upgrade
from tests.unit.api.scenario import HUB, Parties, _assertion, admit_parties, bearer

pytestmark = pytest.mark.anyio

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@dataclass
class Hub:
    client: httpx.AsyncClient
    ledger: LedgerRuntime
    settings: Settings
    parties: Parties
    bayline: dict[str, str]
    lionrock: dict[str, str]


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    settings = Settings(data_dir=tmp_path, public_url=HUB, ledger_wait_s=0.5)
    clock = FixedClock(START)
    database = Database(settings.effective_database_url)
    upgrade(database)
    keys = bootstrap(settings, database, clock)
    app = create_app(settings, database=database, clock=clock, hub_keys=keys, configure_logs=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=HUB) as client:
        parties = await admit_parties(client, KeyFile.read(settings.operator_key_file), START)
        yield Hub(
            client,
            app.state.ledger,
            settings,
            parties,
            await bearer(client, parties.bayline, START),
            await bearer(client, parties.lionrock, START),
        )
    database.dispose()


def item(n: int, **extra: Any) -> dict[str, Any]:
    return {"digest": n.to_bytes(32, "big").hex(), "schema": "vat-annual-summary/1", **extra}


async def anchor(hub: Hub, items: list[dict[str, Any]], **params: str) -> httpx.Response:
    return await hub.client.post(
        "/ledger/v1/anchors", json=items, params=params, headers=hub.bayline
    )


async def sequenced(hub: Hub, pending: Any) -> httpx.Response:
    """Await a waiting request while the sequencer runs a round beside it."""
    task = asyncio.ensure_future(pending)
    await asyncio.sleep(0.05)
    hub.ledger.sequence_once()
    response: httpx.Response = await task
    return response


def log_key(hub: Hub) -> Ed25519Verifier:
    return load_log_policy(hub.settings).verifier


class TestReadSide:
    """The key, checkpoint and tiles are served as c2sp.org/tlog-tiles lays them out."""

    async def test_the_key_is_the_log_key_in_vkey_form(self, hub: Hub) -> None:
        response = await hub.client.get("/ledger/key")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text == f"{log_key(hub).vkey}\n"
        assert response.text.startswith("bayflow.local/ledger+")

    async def test_the_checkpoint_is_a_signed_note_with_a_short_cache(self, hub: Hub) -> None:
        assert (await hub.client.get("/ledger/checkpoint")).status_code == 404
        await anchor(hub, [item(1), item(2)], wait="false")
        hub.ledger.sequence_once()
        response = await hub.client.get("/ledger/checkpoint")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["cache-control"] == "public, max-age=1"
        note = Note.from_text(response.text)
        note.verify([log_key(hub)])
        assert note.text.split("\n")[:2] == ["bayflow.local/ledger", "2"]

    async def test_tiles_and_entry_bundles_with_their_cache_headers(self, hub: Hub) -> None:
        await anchor(hub, [item(n) for n in range(300)], wait="false")
        hub.ledger.sequence_once()
        full = await hub.client.get("/ledger/tile/0/000")
        assert full.status_code == 200
        assert full.headers["content-type"] == "application/octet-stream"
        assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(full.content) == 256 * 32
        partial = await hub.client.get("/ledger/tile/0/001.p/44")
        assert partial.headers["cache-control"] == "public, max-age=10"
        assert len(partial.content) == 44 * 32
        narrower = await hub.client.get("/ledger/tile/0/001.p/10")
        assert narrower.content == partial.content[: 10 * 32]
        bundle = await hub.client.get("/ledger/tile/entries/000")
        assert bundle.headers["content-encoding"] == "gzip"
        plain = await hub.client.get(
            "/ledger/tile/entries/000", headers={"Accept-Encoding": "identity"}
        )
        assert "content-encoding" not in plain.headers
        assert plain.content == bundle.content
        leaves = decode_entry_bundle(bundle.content, 256)
        assert [hash_leaf(leaf) for leaf in leaves] == [
            full.content[i : i + 32] for i in range(0, len(full.content), 32)
        ]
        assert Entry.from_bytes(leaves[5]).digest == (5).to_bytes(32, "big")

    @pytest.mark.parametrize(
        "path", ["tile/0/001", "tile/0/001.p/45", "tile/entries/001", "tile/1/000.p/2"]
    )
    async def test_tiles_beyond_the_tree_are_not_found(self, hub: Hub, path: str) -> None:
        await anchor(hub, [item(n) for n in range(300)], wait="false")
        hub.ledger.sequence_once()
        response = await hub.client.get(f"/ledger/{path}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize(
        "path", ["tile/0/1", "tile/64/000", "tile/0/x000/001", "tile/0/000.p/256"]
    )
    async def test_paths_that_name_no_tile_are_not_found(self, hub: Hub, path: str) -> None:
        assert (await hub.client.get(f"/ledger/{path}")).status_code == 404


class TestAnchoring:
    """Members anchor batches of commitments and get an index and a proof for each."""

    async def test_without_waiting_the_answer_has_indexes_and_no_proofs(self, hub: Hub) -> None:
        response = await anchor(hub, [item(1), item(2)], wait="false")
        assert response.status_code == 200
        answers = response.json()["anchors"]
        assert [(a["index"], a["created"], a["proof"]) for a in answers] == [
            (0, True, None),
            (1, True, None),
        ]
        first = answers[0]
        assert first["issuer"] == hub.parties.bayline.organisation
        assert first["kind"] == "document"
        assert first["schema"] == "vat-annual-summary/1"
        entry = Entry.from_bytes(base64.b64decode(first["entry"]))
        assert entry == Entry(
            EntryKind.DOCUMENT,
            (1).to_bytes(32, "big"),
            "vat-annual-summary/1",
            hub.parties.bayline.organisation,
        )

    async def test_waiting_answers_with_proofs_that_verify_offline(self, hub: Hub) -> None:
        base64url = base64.urlsafe_b64encode((2).to_bytes(32, "big")).rstrip(b"=").decode()
        batch = [item(1), {"digest": base64url, "schema": "r/1", "kind": "record"}]
        response = await sequenced(hub, anchor(hub, batch))
        assert response.status_code == 200
        for answer in response.json()["anchors"]:
            bundle = ProofBundle.from_text(answer["proof"])
            leaf = hash_leaf(base64.b64decode(answer["entry"]))
            checkpoint = verify_proof(bundle, leaf, log_key(hub), (), 0)
            assert checkpoint.size == 2

    async def test_a_resubmission_returns_the_original_index_and_proof(self, hub: Hub) -> None:
        first = await sequenced(hub, anchor(hub, [item(1)]))
        again = await anchor(hub, [item(1)])
        assert again.status_code == 200
        (answer,) = again.json()["anchors"]
        assert (answer["index"], answer["created"]) == (0, False)
        assert answer["proof"] == first.json()["anchors"][0]["proof"]

    async def test_no_checkpoint_in_time_answers_202_without_proofs(self, hub: Hub) -> None:
        response = await anchor(hub, [item(1)])
        assert response.status_code == 202
        assert response.json()["anchors"][0]["proof"] is None

    async def test_a_token_without_the_ledger_scope_is_refused(self, hub: Hub) -> None:
        token = await hub.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": _assertion(hub.parties.bayline, START),
                "scope": "org:read",
            },
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = await hub.client.post("/ledger/v1/anchors", json=[item(1)], headers=headers)
        assert response.status_code == 403
        assert "ledger" in response.json()["detail"]
        assert (await hub.client.post("/ledger/v1/anchors", json=[item(1)])).status_code == 401

    @pytest.mark.parametrize(
        ("body", "slug"),
        [
            ([], "invalid-input"),
            ([item(n) for n in range(1001)], "invalid-input"),
            ([{"digest": "00" * 31, "schema": "s/1"}], "ledger-malformed-entry"),
            ([item(1, schema="has space")], "ledger-malformed-entry"),
            ([item(1, kind="revocation")], "invalid-input"),
            ([item(1, kind="poem")], "invalid-input"),
            ([item(1, issuer="org_other")], "invalid-input"),
            ({"digest": "00" * 32}, "invalid-input"),
        ],
    )
    async def test_bad_input_is_a_problem_document(self, hub: Hub, body: Any, slug: str) -> None:
        response = await hub.client.post("/ledger/v1/anchors", json=body, headers=hub.bayline)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == f"urn:bayflow:problem:{slug}"


class TestStatusAndRevocation:
    """Anyone reads a commitment's status; only its issuer revokes it."""

    async def test_an_unknown_commitment_is_not_found(self, hub: Hub) -> None:
        response = await hub.client.get(f"/ledger/v1/status/{'00' * 32}")
        assert response.status_code == 404

    async def test_only_the_issuer_revokes_and_verifiers_see_it(self, hub: Hub) -> None:
        await sequenced(hub, anchor(hub, [item(1)]))
        body = {"digest": item(1)["digest"]}
        refused = await hub.client.post("/ledger/v1/revocations", json=body, headers=hub.lionrock)
        assert refused.status_code == 403
        revoked = await sequenced(
            hub, hub.client.post("/ledger/v1/revocations", json=body, headers=hub.bayline)
        )
        assert revoked.status_code == 200
        assert revoked.json()["kind"] == "revocation"
        assert revoked.json()["proof"] is not None

        status = (await hub.client.get(f"/ledger/v1/status/{item(1)['digest']}")).json()
        assert status["commitment"] == item(1)["digest"]
        assert status["revoked"] is True
        assert [entry["index"] for entry in status["entries"]] == [0]
        assert Note.from_text(status["checkpoint"]).text.split("\n")[1] == "2"
        # The verifier's half (bayflow verify --status) reads the same document.
        commitment = (1).to_bytes(32, "big")
        proof = RevocationProof.from_status(status, commitment)
        assert proof is not None
        original = Entry.from_bytes(base64.b64decode(status["entries"][0]["entry"]))
        with pytest.raises(CommitmentRevoked):
            proof.check(original, log_key(hub))

    async def test_a_commitment_not_in_the_log_cannot_be_revoked(self, hub: Hub) -> None:
        response = await hub.client.post(
            "/ledger/v1/revocations", json={"digest": "11" * 32}, headers=hub.bayline
        )
        assert response.status_code == 404
