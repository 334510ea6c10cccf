import base64
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bayflow.ledger
from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.checkpoint import Checkpoint, sign_checkpoint
from bayflow.ledger.cosignature import CosignatureSigner, cosign
from bayflow.ledger.errors import (
    CheckpointInvalid,
    CosignatureInvalid,
    InclusionProofInvalid,
    LedgerError,
    MalformedProof,
    NoteSignatureInvalid,
    TooFewCosignatures,
    UntrustedNote,
)
from bayflow.ledger.merkle import (
    hash_leaf,
    hash_reader_for_leaves,
    inclusion_proof,
    root_hash,
)
from bayflow.ledger.note import Ed25519Signer, Note, NoteSignature
from bayflow.ledger.proof import PROOF_HEADER, ProofBundle, verify_proof

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
SIZE = 300
INDEX = 137
LEAVES = [hash_leaf(f"commitment {i}".encode()) for i in range(SIZE)]
READER = hash_reader_for_leaves(LEAVES)
LOG = Ed25519Signer("bayflow.example/log", SigningKey(b"\x01" * 32))
WITNESSES = [CosignatureSigner(f"w{i}.example", SigningKey(bytes([i + 2]) * 32)) for i in range(3)]
WITNESS_KEYS = [witness.verifier() for witness in WITNESSES]


def _checkpoint_note(size: int = SIZE, cosigners: int = 2) -> Note:
    note = sign_checkpoint(Checkpoint(LOG.name, size, root_hash(size, READER)), LOG)
    for witness in WITNESSES[:cosigners]:
        note = cosign(note, witness, NOW)
    return note


def _bundle(index: int = INDEX, size: int = SIZE, extra: bytes | None = None) -> ProofBundle:
    return ProofBundle(
        index, tuple(inclusion_proof(index, size, READER)), _checkpoint_note(size), extra
    )


@pytest.fixture(scope="module")
def bundle() -> ProofBundle:
    return _bundle()


class TestProofFormat:
    """Proof bundles are written and parsed exactly as c2sp.org/tlog-proof lays them out."""

    def test_layout_matches_the_spec(self, bundle: ProofBundle) -> None:
        lines = bundle.to_text().split("\n")
        assert lines[0] == "c2sp.org/tlog-proof@v1"
        assert lines[1] == f"index {INDEX}"
        proof_lines = lines[2 : 2 + len(bundle.inclusion_proof)]
        assert [base64.b64decode(line) for line in proof_lines] == list(bundle.inclusion_proof)
        assert lines[2 + len(bundle.inclusion_proof)] == ""
        assert "\n".join(lines[3 + len(bundle.inclusion_proof) :]) == bundle.checkpoint.to_text()

    def test_extra_data_comes_second(self) -> None:
        text = _bundle(extra=b"salt").to_text()
        assert text.split("\n")[1] == f"extra {base64.b64encode(b'salt').decode()}"

    @given(
        index=st.integers(min_value=0, max_value=SIZE - 1),
        extra=st.none() | st.binary(min_size=1, max_size=40),
    )
    def test_text_round_trips(self, index: int, extra: bytes | None) -> None:
        bundle = _bundle(index, extra=extra)
        assert ProofBundle.from_bytes(bundle.to_bytes()) == bundle

    def test_a_single_leaf_tree_has_no_proof_lines(self) -> None:
        bundle = _bundle(0, 1)
        assert bundle.inclusion_proof == ()
        assert "index 0\n\nbayflow.example/log\n1\n" in bundle.to_text()
        assert ProofBundle.from_text(bundle.to_text()) == bundle

    @pytest.mark.parametrize(
        ("mangle", "message"),
        [
            (lambda t: t.replace(PROOF_HEADER, "c2sp.org/tlog-proof@v2"), "starts with"),
            (lambda t: t.replace("index 137", "index 0137"), "leading zeroes"),
            (lambda t: t.replace("index 137", "index  137"), "leading zeroes"),
            (lambda t: t.replace("index 137", "idx 137"), "index line"),
            (lambda t: t.replace("index 137\n", "index 137\nextra AAAA\n"), "base64"),
            (lambda t: t.replace("index 137\n", "extra \nindex 137\n"), "must not be empty"),
            (lambda t: t.replace("index 137\n", "extra !!\nindex 137\n"), "base64"),
            (lambda t: t.replace("index 137\n", "index 137\nAAAA\n"), "32-byte"),
            (lambda t: t.replace("\n\nbayflow", "\nbayflow", 1), "empty line|base64"),
            (lambda t: t.replace("\n300\n", "\n0300\n"), "checkpoint is malformed"),
            (lambda t: t.replace("— bayflow", "-- bayflow"), "checkpoint is malformed"),
            (lambda t: t[: t.index("index")], "empty line"),
        ],
    )
    def test_rejects_malformed_bundles(
        self, bundle: ProofBundle, mangle: Callable[[str], str], message: str
    ) -> None:
        with pytest.raises(MalformedProof, match=message):
            ProofBundle.from_text(mangle(bundle.to_text()))

    def test_rejects_invalid_utf8(self) -> None:
        with pytest.raises(MalformedProof, match="UTF-8"):
            ProofBundle.from_bytes(b"\xff")

    def test_rejects_more_hashes_than_any_tree_needs(self, bundle: ProofBundle) -> None:
        many = "\n".join([base64.b64encode(b"\x00" * 32).decode()] * 65)
        text = bundle.to_text().replace("index 137\n", f"index 137\n{many}\n")
        with pytest.raises(MalformedProof, match="at most 64"):
            ProofBundle.from_text(text)
        with pytest.raises(MalformedProof, match="at most 64"):
            ProofBundle(0, (b"\x00" * 32,) * 65, bundle.checkpoint)

    @pytest.mark.parametrize("index", [-1, (1 << 64) - 1])
    def test_constructor_refuses_impossible_indices(self, bundle: ProofBundle, index: int) -> None:
        with pytest.raises(MalformedProof, match="index"):
            ProofBundle(index, (), bundle.checkpoint)

    def test_constructor_refuses_empty_extra_data(self, bundle: ProofBundle) -> None:
        with pytest.raises(MalformedProof, match="extra"):
            ProofBundle(0, (), bundle.checkpoint, b"")


class TestVerifyProof:
    """Offline verification checks the log, the witnesses and the inclusion, in spec order."""

    def test_a_valid_bundle_returns_the_verified_checkpoint(self, bundle: ProofBundle) -> None:
        checkpoint = verify_proof(bundle, LEAVES[INDEX], LOG.verifier(), WITNESS_KEYS, 2)
        assert checkpoint == Checkpoint(LOG.name, SIZE, root_hash(SIZE, READER))

    def test_every_leaf_of_a_tree_verifies(self) -> None:
        note = _checkpoint_note(20)
        for index in range(20):
            proof = ProofBundle(index, tuple(inclusion_proof(index, 20, READER)), note)
            verify_proof(proof, LEAVES[index], LOG.verifier(), WITNESS_KEYS, 2)

    def test_another_leaf_is_not_included(self, bundle: ProofBundle) -> None:
        with pytest.raises(InclusionProofInvalid):
            verify_proof(bundle, LEAVES[INDEX + 1], LOG.verifier(), WITNESS_KEYS, 2)

    def test_another_log_key_is_untrusted(self, bundle: ProofBundle) -> None:
        other = Ed25519Signer.generate(LOG.name)
        with pytest.raises(UntrustedNote):
            verify_proof(bundle, LEAVES[INDEX], other.verifier(), WITNESS_KEYS, 2)

    def test_another_origin_is_refused(self, bundle: ProofBundle) -> None:
        with pytest.raises(CheckpointInvalid, match=r"expected 'other\.example/log'"):
            verify_proof(
                bundle, LEAVES[INDEX], LOG.verifier(), WITNESS_KEYS, 2, origin="other.example/log"
            )

    def test_a_forged_log_signature_is_invalid(self, bundle: ProofBundle) -> None:
        log_signature = bundle.checkpoint.signatures[0]
        forged = NoteSignature(log_signature.name, log_signature.key_id, b"\x00" * 64)
        note = Note(bundle.checkpoint.text, (forged, *bundle.checkpoint.signatures[1:]))
        with pytest.raises(NoteSignatureInvalid):
            verify_proof(
                ProofBundle(INDEX, bundle.inclusion_proof, note),
                LEAVES[INDEX],
                LOG.verifier(),
                WITNESS_KEYS,
                2,
            )

    def test_too_few_witnesses_is_reported(self, bundle: ProofBundle) -> None:
        with pytest.raises(TooFewCosignatures):
            verify_proof(bundle, LEAVES[INDEX], LOG.verifier(), WITNESS_KEYS, 3)

    def test_a_forged_cosignature_is_invalid(self, bundle: ProofBundle) -> None:
        signatures = list(bundle.checkpoint.signatures)
        signatures[1] = NoteSignature(signatures[1].name, signatures[1].key_id, b"\x00" * 72)
        note = Note(bundle.checkpoint.text, tuple(signatures))
        with pytest.raises(CosignatureInvalid):
            verify_proof(
                ProofBundle(INDEX, bundle.inclusion_proof, note),
                LEAVES[INDEX],
                LOG.verifier(),
                WITNESS_KEYS,
                1,
            )

    def test_an_index_beyond_the_checkpoint_is_refused(self) -> None:
        note = _checkpoint_note(10)
        with pytest.raises(CheckpointInvalid, match="cannot contain entry 10"):
            verify_proof(ProofBundle(10, (), note), LEAVES[10], LOG.verifier(), [], 0)

    def test_an_impossible_policy_is_a_programming_error(self, bundle: ProofBundle) -> None:
        with pytest.raises(ValueError, match="cannot require"):
            verify_proof(bundle, LEAVES[INDEX], LOG.verifier(), WITNESS_KEYS, 4)

    @given(st.data())
    def test_flipping_any_byte_of_the_bundle_fails(
        self, bundle: ProofBundle, data: st.DataObject
    ) -> None:
        raw = bytearray(bundle.to_bytes())
        position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[position] ^= data.draw(st.integers(min_value=1, max_value=255))
        with pytest.raises(LedgerError):
            verify_proof(
                ProofBundle.from_bytes(bytes(raw)), LEAVES[INDEX], LOG.verifier(), WITNESS_KEYS, 2
            )

    def test_failures_map_to_distinct_exit_codes(self) -> None:
        codes = {
            error.exit_code
            for error in (
                InclusionProofInvalid,
                CheckpointInvalid,
                CosignatureInvalid,
                NoteSignatureInvalid,
                TooFewCosignatures,
                UntrustedNote,
            )
        }
        assert len(codes) == 6
        assert all(10 <= code <= 19 for code in codes)


class TestPublicSurface:
    """The ledger package exports exactly the names it lists."""

    def test_every_exported_name_exists(self) -> None:
        assert all(hasattr(bayflow.ledger, name) for name in bayflow.ledger.__all__)
        assert len(set(bayflow.ledger.__all__)) == len(bayflow.ledger.__all__)
