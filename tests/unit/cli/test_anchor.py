"""``bayflow anchor``, ``disclose`` and ``verify`` against a hub that speaks the anchoring API.

The hub here is an ``httpx.MockTransport`` over a :class:`~tests.tinylog.TinyLog`: it answers
``POST /ledger/v1/anchors`` and ``GET /ledger/key`` as the hub's contract says, so these tests
pin the client side of that contract and produce real proofs to verify offline.
"""

import base64
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayflow.cli import main
from bayflow.client import BayflowClient
from bayflow.identity.keyfile import KeyFile, KeyPair
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.note import Note, NoteSignature
from bayflow.ledger.proof import ProofBundle
from bayflow.ledger.revocation import RevocationProof, attach_revocation
from tests.tinylog import TinyLog, log_signer, witness_signer

ISSUER = "org_pearl_river"
HK = witness_signer("witness.hk.example/w1", 21)
SZ = witness_signer("witness.sz.example/w1", 22)
LOG_KEY = log_signer().verifier().vkey
VAT_SUMMARY = {
    "taxpayer": "91440300MA5G7K2P0C",
    "period": "2025",
    "total_sales": "48200000.00",
    "total_tax": "2892000.00",
    "invoices": 1873,
}


class FakeHub:
    """The anchoring API over an in-memory log; it records what it was sent."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.log = TinyLog(witnesses=[HK, SZ])
        self.issuer = issuer
        self.indexes: dict[bytes, int] = {}
        self.bodies: list[bytes] = []
        self.proving = True

    def anchor(self, entry: Entry) -> int:
        data = entry.to_bytes()
        if data not in self.indexes:
            self.indexes[data] = self.log.append(data)
        return self.indexes[data]

    def item(self, data: bytes) -> dict[str, Any]:
        """An item as the hub's API answers it (api/routes/ledger.py)."""
        entry, index = Entry.from_bytes(data), self.indexes[data]
        return {
            "index": index,
            "kind": entry.kind.value,
            "digest": entry.digest.hex(),
            "schema": entry.schema,
            "issuer": entry.issuer,
            "entry": base64.b64encode(data).decode(),
            "proof": self.log.proof(index).to_text() if self.proving else None,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        path = request.url.path
        if path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        if path == "/ledger/key":
            return httpx.Response(200, text=LOG_KEY + "\n")
        if path == "/ledger/v1/anchors":
            answers = []
            for item in json.loads(request.content):
                digest = bytes.fromhex(item["digest"])
                entry = Entry(EntryKind(item["kind"]), digest, item["schema"], self.issuer)
                self.anchor(entry)
                answers.append(self.item(entry.to_bytes()))
            return httpx.Response(200 if self.proving else 202, json={"anchors": answers})
        if path == "/ledger/v1/revocations":
            digest = bytes.fromhex(json.loads(request.content)["digest"])
            # The hub gives a revocation the revoked entry's schema.
            revoked = next(e for e in map(Entry.from_bytes, self.indexes) if e.digest == digest)
            revocation = self.revoke(digest, revoked.schema)
            return httpx.Response(200, json=self.item(revocation.entry.to_bytes()))
        if path.startswith("/ledger/v1/status/"):
            digest = bytes.fromhex(path.rsplit("/", 1)[1])
            found = [data for data in self.indexes if Entry.from_bytes(data).digest == digest]
            revocations = [d for d in found if Entry.from_bytes(d).kind is EntryKind.REVOCATION]
            document = {
                "commitment": digest.hex(),
                "entries": [self.item(d) for d in found if d not in revocations],
                "revocation": self.item(revocations[0]) if revocations else None,
                "revoked": bool(revocations),
            }
            return httpx.Response(200, json=document)
        return httpx.Response(404, json={"type": "urn:bayflow:problem:not-found"})

    def revoke(self, commitment: bytes, schema: str) -> RevocationProof:
        entry = Entry(EntryKind.REVOCATION, commitment, schema, self.issuer)
        return RevocationProof(entry, self.log.proof(self.anchor(entry)))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeHub:
    fake = FakeHub()
    key_file = KeyFile("http://hub.test", ISSUER, "per_chen_wei", KeyPair.generate())

    def open_client(_url: object, _key: object) -> BayflowClient:
        transport = httpx.MockTransport(fake.handle)
        return BayflowClient("http://hub.test", key_file, transport=transport)

    def public_client(url: str) -> BayflowClient:
        return BayflowClient(url, transport=httpx.MockTransport(fake.handle))

    monkeypatch.setattr("bayflow.cli.anchor.open_client", open_client)
    monkeypatch.setattr("bayflow.cli.anchor.BayflowClient", public_client)
    monkeypatch.chdir(tmp_path)
    return fake


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a socket fails the test."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        pytest.fail("offline verification tried to use the network")

    for name in ("socket", "create_connection", "getaddrinfo"):
        monkeypatch.setattr(socket, name, refuse)
    yield
    monkeypatch.undo()


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    return code if isinstance(code, int) else 1


def verify(path: str, *args: str, salt: bool = True, proof: str | None = None) -> int:
    options = ["--proof", proof or f"{path}.proof", "--log-key", LOG_KEY]
    if salt:
        options += ["--salt", f"{path}.salt"]
    return run("verify", path, *options, *args)


def witness_options(*witnesses: str) -> list[str]:
    keys = {"hk": HK.verifier().vkey, "sz": SZ.verifier().vkey}
    return [arg for name in witnesses for arg in ("--witness-key", keys[name])]


@pytest.fixture
def document(hub: FakeHub, tmp_path: Path) -> Path:
    path = tmp_path / "invoice-2025-0001.pdf"
    path.write_bytes(b"%PDF-1.7\nPearl River e-invoice 2025-0001\n")
    assert run("anchor", str(path), "--schema", "vat-e-invoice/1") == 0
    assert hub.log.leaves
    return path


@pytest.fixture
def record(hub: FakeHub, tmp_path: Path) -> Path:
    path = tmp_path / "vat-summary.json"
    path.write_text(json.dumps(VAT_SUMMARY))
    assert run("anchor", "--record", str(path), "--fields", "--schema", "vat-summary/1") == 0
    assert hub.log.leaves
    return path


def _output(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = capsys.readouterr().out
    return dict(json.loads(out[out.index("{") :]))


class TestAnchor:
    """Anchoring sends only the commitment and keeps the proof and the salt beside the file."""

    def test_writes_the_proof_and_a_private_salt_file(self, document: Path) -> None:
        proof = ProofBundle.from_bytes(Path(f"{document}.proof").read_bytes())
        assert proof.index == 0
        salt = Path(f"{document}.salt")
        assert salt.stat().st_mode & 0o777 == 0o600
        assert json.loads(salt.read_text())["type"] == "bayflow-salt/1"

    def test_the_content_never_reaches_the_hub(self, document: Path, hub: FakeHub) -> None:
        sent = b"".join(hub.bodies)
        assert b"Pearl River" not in sent
        assert base64.b64encode(document.read_bytes()) not in sent
        (item,) = json.loads(hub.bodies[-2])
        assert set(item) == {"digest", "schema", "kind"}
        assert item["kind"] == "document"

    @pytest.mark.usefixtures("record")
    def test_a_record_field_by_field_sends_one_commitment(self, hub: FakeHub) -> None:
        (item,) = json.loads(hub.bodies[-2])
        assert item["kind"] == "record-fields"
        assert b"MA5G7K2P0C" not in b"".join(hub.bodies)

    def test_anchoring_again_is_refused_while_the_salt_file_exists(self, document: Path) -> None:
        assert run("anchor", str(document)) == 65

    def test_a_proof_for_another_entry_is_refused_and_no_salt_is_kept(
        self, hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        hub.issuer = "org_someone_else"
        path = tmp_path / "file.bin"
        path.write_bytes(b"content")
        assert run("anchor", str(path)) == 10
        assert "not for the entry computed here" in capsys.readouterr().err
        assert not Path(f"{path}.salt").exists()
        assert not Path(f"{path}.proof").exists()

    def test_without_a_proof_yet_the_salt_is_kept_and_status_fetches_the_proof_later(
        self, hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        hub.proving = False
        path = tmp_path / "late.pdf"
        path.write_bytes(b"anchored before the checkpoint")
        assert run("anchor", str(path)) == 75
        assert "bayflow status" in capsys.readouterr().err
        assert Path(f"{path}.salt").exists()
        assert not Path(f"{path}.proof").exists()
        hub.proving = True
        assert run("status", str(path)) == 0
        assert "log entry 0" in capsys.readouterr().out
        assert verify(str(path)) == 0

    @pytest.mark.parametrize(
        "args",
        [
            [],
            ["a.bin", "--record", "r.json"],
            ["a.bin", "--fields"],
            ["a.bin", "--kind", "revocation"],
            ["--record", "r.json", "--kind", "access-receipt"],
        ],
        ids=["nothing", "both", "fields-for-a-file", "revocation-kind", "kind-for-a-record"],
    )
    def test_contradictory_options_are_refused(self, hub: FakeHub, args: list[str]) -> None:
        assert run("anchor", *args) == 65
        assert hub.bodies == []


class TestVerifyOffline:
    """Verification needs the file, its proof, its salt and trusted keys; no network."""

    @pytest.mark.usefixtures("no_network")
    def test_a_document_verifies_with_two_witnesses(
        self, document: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        assert verify(str(document), *witness_options("hk", "sz")) == 0
        result = _output(capsys)
        assert result["verified"] is True
        assert result["kind"] == "document"
        assert result["issuer"] == ISSUER
        assert result["cosigned_by"] == [HK.name, SZ.name]

    @pytest.mark.usefixtures("no_network")
    def test_keys_can_be_given_as_files(self, document: Path, tmp_path: Path) -> None:
        (tmp_path / "log.vkey").write_text(LOG_KEY + "\n")
        (tmp_path / "hk.vkey").write_text(HK.verifier().vkey + "\n")
        proof, salt = f"{document}.proof", f"{document}.salt"
        assert (
            run(
                "verify", str(document), "--proof", proof, "--salt", salt,
                "--log-key", str(tmp_path / "log.vkey"),
                "--witness-key", str(tmp_path / "hk.vkey"),
            )
            == 0
        )  # fmt: skip

    @pytest.mark.usefixtures("hub")
    def test_a_whole_record_verifies_in_any_key_order(
        self, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        path = tmp_path / "record.json"
        path.write_text(json.dumps(VAT_SUMMARY))
        assert run("anchor", "--record", str(path)) == 0
        path.write_text(json.dumps(dict(reversed(VAT_SUMMARY.items())), indent=4))
        # Anchoring needed the hub; only verification runs with the network cut.
        request.getfixturevalue("no_network")
        assert verify(str(path)) == 0

    def test_the_scenario_disclosure_reveals_three_fields_offline(
        self,
        record: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        request: pytest.FixtureRequest,
    ) -> None:
        disclosed = tmp_path / "vat-summary.disclosed.json"
        fields = "total_sales,total_tax,period"
        assert run("disclose", str(record), "--fields", fields, "--out", str(disclosed)) == 0
        assert "91440300MA5G7K2P0C" not in disclosed.read_text()
        request.getfixturevalue("no_network")
        capsys.readouterr()
        proof = f"{record}.proof"
        assert verify(str(disclosed), *witness_options("hk"), salt=False, proof=proof) == 0
        assert _output(capsys)["disclosed"] == {
            "period": "2025",
            "total_sales": "48200000.00",
            "total_tax": "2892000.00",
        }

    @pytest.mark.usefixtures("no_network")
    def test_the_holder_can_verify_the_whole_field_by_field_record(self, record: Path) -> None:
        assert verify(str(record)) == 0


class TestVerifyFailures:
    """Each failed check has its own message and exit code."""

    def test_changed_content_exits_17(
        self, document: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        document.write_bytes(document.read_bytes() + b" ")
        assert verify(str(document)) == 17
        assert "content or its salt does not match" in capsys.readouterr().err

    def test_another_files_salt_exits_17(self, document: Path) -> None:
        other = document.with_name("other.pdf")
        other.write_bytes(b"another document")
        assert run("anchor", str(other)) == 0
        assert verify(str(document), "--salt", f"{other}.salt") == 17

    def test_a_tampered_disclosed_value_exits_17(self, record: Path, tmp_path: Path) -> None:
        disclosed = tmp_path / "d.json"
        assert run("disclose", str(record), "--fields", "total_tax", "--out", str(disclosed)) == 0
        data = json.loads(disclosed.read_text())
        data["disclosed"][0][2] = "1.00"
        disclosed.write_text(json.dumps(data))
        assert verify(str(disclosed), salt=False, proof=f"{record}.proof") == 17

    def test_another_entrys_proof_exits_10(
        self, document: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        other = document.with_name("other.pdf")
        other.write_bytes(b"another document")
        assert run("anchor", str(other)) == 0
        assert verify(str(document), proof=f"{other}.proof") == 10
        assert "different root hash" in capsys.readouterr().err

    def test_a_bad_log_signature_exits_12(self, document: Path) -> None:
        _edit_signature(Path(f"{document}.proof"), log_signer().name)
        assert verify(str(document)) == 12

    def test_another_log_key_exits_13(self, document: Path) -> None:
        impostor = log_signer(seed=99).verifier().vkey
        proof, salt = f"{document}.proof", f"{document}.salt"
        args = ["verify", str(document), "--proof", proof, "--salt", salt]
        assert run(*args, "--log-key", impostor) == 13

    def test_a_bad_cosignature_exits_15(self, document: Path) -> None:
        _edit_signature(Path(f"{document}.proof"), HK.name)
        assert verify(str(document), *witness_options("hk")) == 15

    def test_too_few_cosignatures_exits_16(
        self, document: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _drop_signature(Path(f"{document}.proof"), SZ.name)
        assert verify(str(document), *witness_options("hk", "sz")) == 16
        assert "1 of 2 trusted witnesses cosigned; 2 required" in capsys.readouterr().err
        assert verify(str(document), *witness_options("hk", "sz"), "--min-cosignatures", "1") == 0

    def test_a_quorum_above_the_witnesses_given_is_refused(self, document: Path) -> None:
        assert verify(str(document), *witness_options("hk"), "--min-cosignatures", "2") == 65

    def test_a_revocation_carried_in_the_proof_exits_18(
        self, document: Path, hub: FakeHub, capsys: pytest.CaptureFixture[str]
    ) -> None:
        proof_path = Path(f"{document}.proof")
        bundle = ProofBundle.from_bytes(proof_path.read_bytes())
        commitment = json.loads(Path(f"{document}.salt").read_text())["commitment"]
        revocation = hub.revoke(bytes.fromhex(commitment), "vat-e-invoice/1")
        proof_path.write_bytes(attach_revocation(bundle, revocation).to_bytes())
        assert verify(str(document), *witness_options("hk", "sz")) == 18
        assert f"{ISSUER} revoked commitment {commitment}" in capsys.readouterr().err

    def test_a_revocation_in_a_status_document_exits_18(
        self, document: Path, hub: FakeHub, tmp_path: Path
    ) -> None:
        commitment = json.loads(Path(f"{document}.salt").read_text())["commitment"]
        status = tmp_path / "status.json"
        status.write_text(json.dumps({"commitment": commitment, "revocation": None}))
        assert verify(str(document), "--status", str(status)) == 0
        revocation = hub.revoke(bytes.fromhex(commitment), "vat-e-invoice/1")
        revoked = {
            "commitment": commitment,
            "revocation": {
                "entry": base64.b64encode(revocation.entry.to_bytes()).decode(),
                "proof": revocation.bundle.to_text(),
            },
        }
        status.write_text(json.dumps(revoked))
        assert verify(str(document), "--status", str(status)) == 18

    def test_a_status_saved_by_bayflow_status_reports_the_revocation(
        self, document: Path, hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        status = tmp_path / "status.json"
        assert run("status", str(document), "--out", str(status)) == 0
        assert "not revoked" in capsys.readouterr().out
        assert verify(str(document), "--status", str(status)) == 0
        commitment = json.loads(Path(f"{document}.salt").read_text())["commitment"]
        hub.revoke(bytes.fromhex(commitment), "vat-e-invoice/1")
        assert run("status", str(document), "--out", str(status)) == 0
        assert f"revoked by {ISSUER}" in capsys.readouterr().out
        assert verify(str(document), "--status", str(status)) == 18

    def test_bayflow_revoke_anchors_a_revocation_that_status_then_reports(
        self, document: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("revoke", str(document)) == 0
        assert "log entry 1" in capsys.readouterr().out
        status = tmp_path / "status.json"
        assert run("status", str(document), "--out", str(status)) == 0
        assert verify(str(document), "--status", str(status)) == 18

    def test_a_revocation_without_a_proof_yet_is_not_ignored(
        self, document: Path, hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commitment = json.loads(Path(f"{document}.salt").read_text())["commitment"]
        hub.revoke(bytes.fromhex(commitment), "vat-e-invoice/1")
        hub.proving = False
        status = tmp_path / "status.json"
        assert run("status", str(document), "--out", str(status)) == 0
        assert verify(str(document), "--status", str(status)) == 65
        assert "fetch the status again" in capsys.readouterr().err

    def test_a_revocation_by_another_issuer_is_refused(self, document: Path, hub: FakeHub) -> None:
        proof_path = Path(f"{document}.proof")
        commitment = json.loads(Path(f"{document}.salt").read_text())["commitment"]
        hub.issuer = "org_someone_else"
        revocation = hub.revoke(bytes.fromhex(commitment), "vat-e-invoice/1")
        bundle = ProofBundle.from_bytes(proof_path.read_bytes())
        proof_path.write_bytes(attach_revocation(bundle, revocation).to_bytes())
        assert verify(str(document)) == 65

    def test_a_malformed_proof_exits_65(self, document: Path) -> None:
        Path(f"{document}.proof").write_text("c2sp.org/tlog-proof@v1\nindex 01\n\n")
        assert verify(str(document)) == 65

    def test_a_record_without_salt_that_is_no_disclosure_is_explained(
        self, record: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert verify(str(record), salt=False) == 65
        assert "pass --salt" in capsys.readouterr().err

    def test_a_missing_file_exits_66(self, document: Path) -> None:
        assert verify(str(document.with_name("missing.pdf")), proof=f"{document}.proof") == 66


def _rewrite(path: Path, change: Callable[[list[NoteSignature]], list[NoteSignature]]) -> None:
    bundle = ProofBundle.from_bytes(path.read_bytes())
    note = bundle.checkpoint
    signatures = change(list(note.signatures))
    checkpoint = Note(note.text, tuple(signatures))
    path.write_bytes(ProofBundle(bundle.index, bundle.inclusion_proof, checkpoint).to_bytes())


def _edit_signature(path: Path, name: str) -> None:
    def flip(signatures: list[NoteSignature]) -> list[NoteSignature]:
        return [
            NoteSignature(s.name, s.key_id, s.signature[:-1] + bytes([s.signature[-1] ^ 1]))
            if s.name == name
            else s
            for s in signatures
        ]

    _rewrite(path, flip)


def _drop_signature(path: Path, name: str) -> None:
    _rewrite(path, lambda signatures: [s for s in signatures if s.name != name])
