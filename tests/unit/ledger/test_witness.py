import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.checkpoint import Checkpoint, sign_checkpoint
from bayflow.ledger.cosignature import CosignatureSigner, WitnessPolicy
from bayflow.ledger.errors import (
    ConsistencyProofInvalid,
    MalformedCheckpoint,
    MalformedNote,
    MalformedWitnessRequest,
    NoteSignatureInvalid,
    UntrustedNote,
)
from bayflow.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    hash_leaf,
    hash_reader_for_leaves,
    root_hash,
)
from bayflow.ledger.note import Ed25519Signer, Note, NoteSignature
from bayflow.ledger.witness import (
    AddCheckpointRequest,
    OldSizeMismatch,
    UnknownLog,
    Witness,
    WitnessState,
    origin_hash,
    parse_cosignatures,
)

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
LOG = Ed25519Signer("bayflow.example/ledger", SigningKey(b"\x01" * 32))
OTHER_LOG = Ed25519Signer("other.example/log", SigningKey(b"\x02" * 32))
IMPOSTOR = Ed25519Signer(LOG.name, SigningKey(b"\x03" * 32))
HK_WITNESS = CosignatureSigner("witness.hk.example/w1", SigningKey(b"\x04" * 32))
LEAVES = [hash_leaf(f"entry {i}".encode()) for i in range(64)]
FORKED = [*LEAVES[:20], *(hash_leaf(f"forked {i}".encode()) for i in range(20, 64))]
READER = hash_reader_for_leaves(LEAVES)
FORKED_READER = hash_reader_for_leaves(FORKED)


def _note(size: int, reader: object = READER, signer: Ed25519Signer = LOG) -> Note:
    root = EMPTY_ROOT if size == 0 else root_hash(size, reader)  # type: ignore[arg-type]
    return sign_checkpoint(Checkpoint(signer.name, size, root), signer)


def _request(old: int, size: int, reader: object = READER) -> AddCheckpointRequest:
    proof = consistency_proof(old, size, reader) if 0 < old < size else []  # type: ignore[arg-type]
    return AddCheckpointRequest(old, tuple(proof), _note(size, reader))


def _witness(**kwargs: object) -> Witness:
    return Witness(HK_WITNESS, [LOG.verifier()], **kwargs)  # type: ignore[arg-type]


def _at_size(size: int) -> Witness:
    witness = _witness()
    witness.add_checkpoint(_request(0, size), NOW)
    return witness


class TestRequestFormat:
    """add-checkpoint bodies are parsed and written as c2sp.org/tlog-witness lays them out."""

    def test_the_spec_example_parses(self) -> None:
        body = (
            "old 20852014\n"
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
            "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
            "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
            "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
            "\n"
            "example.com/behind-the-sofa\n"
            "20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
            "\n"
            "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
            "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        ).encode()
        request = AddCheckpointRequest.from_bytes(body)
        assert request.old_size == 20852014
        assert len(request.proof) == 4
        assert request.to_bytes() == body

    def test_an_empty_proof_round_trips(self) -> None:
        request = _request(0, 5)
        assert request.to_bytes().startswith(b"old 0\n\nbayflow.example/ledger\n5\n")
        assert AddCheckpointRequest.from_bytes(request.to_bytes()) == request

    @pytest.mark.parametrize(
        ("head", "message"),
        [
            (b"old 1\n", "proof line"),
            (b"new 1\n\n", "'old <size>'"),
            (b"old 01\n\n", "leading zeroes"),
            (b"old 1\nnot base64!\n\n", "base64"),
            (b"old 1\nAAAA\n\n", "32-byte"),
            (b"old 1\n" + b"A" * 43 + b"=\n" * 64 + b"\n", "at most 63"),
        ],
        ids=[
            "no-separator",
            "no-old-line",
            "leading-zero",
            "bad-base64",
            "short-hash",
            "too-many-lines",
        ],
    )
    def test_malformed_heads_are_refused(self, head: bytes, message: str) -> None:
        body = head + _note(5).to_bytes()
        with pytest.raises(MalformedWitnessRequest, match=message):
            AddCheckpointRequest.from_bytes(body)

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"\xff", "UTF-8"),
            (b"old 0\n", "empty line"),
            (b"old 0\n\nno signatures\n", "checkpoint is malformed"),
        ],
        ids=["not-utf8", "no-checkpoint", "unsigned-checkpoint"],
    )
    def test_malformed_bodies_are_refused(self, body: bytes, message: str) -> None:
        with pytest.raises(MalformedWitnessRequest, match=message):
            AddCheckpointRequest.from_bytes(body)

    def test_cosignature_answers_parse(self) -> None:
        witness = _witness()
        lines = witness.add_checkpoint(_request(0, 3), NOW)
        body = "".join(f"{line.to_line()}\n" for line in lines).encode()
        assert parse_cosignatures(body) == lines
        with pytest.raises(MalformedNote):
            parse_cosignatures(b"")


class TestWitnessCosigns:
    """The witness cosigns checkpoints that extend what it saw before."""

    def test_the_first_checkpoint_is_cosigned_from_old_size_zero(self) -> None:
        witness = _witness()
        (cosignature,) = witness.add_checkpoint(_request(0, 10), NOW)
        cosigned = Note(_note(10).text, (*_note(10).signatures, cosignature))
        verified = WitnessPolicy((HK_WITNESS.verifier(),), 1).check(cosigned)
        assert verified[0].timestamp == int(NOW.timestamp())
        assert witness.state.latest(LOG.name) == Checkpoint.from_text(_note(10).text)

    def test_consistent_growth_is_cosigned(self) -> None:
        witness = _at_size(10)
        witness.add_checkpoint(_request(10, 37), NOW)
        latest = witness.state.latest(LOG.name)
        assert latest is not None
        assert latest.size == 37

    def test_the_same_checkpoint_is_cosigned_again(self) -> None:
        witness = _at_size(10)
        assert witness.add_checkpoint(_request(10, 10), NOW)

    def test_an_empty_log_is_cosigned(self) -> None:
        witness = _witness()
        witness.add_checkpoint(_request(0, 0), NOW)
        witness.add_checkpoint(_request(0, 4), NOW)

    def test_signatures_from_unknown_keys_are_ignored(self) -> None:
        note = _note(10).with_signatures(OTHER_LOG)
        witness = _witness()
        witness.add_checkpoint(AddCheckpointRequest(0, (), note), NOW)
        kept = witness.checkpoint(origin_hash(LOG.name))
        assert kept is not None
        assert [signature.name for signature in kept.signatures] == [LOG.name, HK_WITNESS.name]

    def test_the_monitoring_checkpoint_carries_log_and_witness_signatures(self) -> None:
        witness = _at_size(10)
        note = witness.checkpoint(hashlib.sha256(LOG.name.encode()).hexdigest())
        assert note is not None
        note.verify([LOG.verifier()])
        WitnessPolicy((HK_WITNESS.verifier(),), 1).check(note)
        assert witness.checkpoint(origin_hash(OTHER_LOG.name)) is None

    @given(sizes=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=6))
    def test_any_growing_sequence_is_cosigned(self, sizes: list[int]) -> None:
        witness = _witness()
        old = 0
        for size in sorted(sizes):
            witness.add_checkpoint(_request(old, size), NOW)
            old = size


class TestWitnessRefuses:
    """The witness never cosigns a fork, a rollback or a checkpoint the log did not sign."""

    def test_a_fork_of_the_same_size_is_refused(self) -> None:
        witness = _at_size(30)
        with pytest.raises(ConsistencyProofInvalid):
            witness.add_checkpoint(AddCheckpointRequest(30, (), _note(30, FORKED_READER)), NOW)

    def test_a_larger_tree_that_rewrites_history_is_refused(self) -> None:
        witness = _at_size(30)
        with pytest.raises(ConsistencyProofInvalid):
            witness.add_checkpoint(_request(30, 40, FORKED_READER), NOW)

    @given(old=st.integers(min_value=21, max_value=63), grow=st.integers(min_value=0, max_value=10))
    def test_no_proof_from_a_forked_tree_is_accepted(self, old: int, grow: int) -> None:
        witness = _at_size(old)
        size = min(old + grow, 64)
        with pytest.raises(ConsistencyProofInvalid):
            witness.add_checkpoint(_request(old, size, FORKED_READER), NOW)

    def test_a_rollback_with_the_current_old_size_is_a_bad_request(self) -> None:
        witness = _at_size(30)
        with pytest.raises(MalformedWitnessRequest, match="exceeds"):
            witness.add_checkpoint(AddCheckpointRequest(30, (), _note(20)), NOW)

    def test_a_rollback_from_an_older_size_conflicts(self) -> None:
        witness = _at_size(30)
        with pytest.raises(OldSizeMismatch) as refused:
            witness.add_checkpoint(_request(10, 20), NOW)
        assert refused.value.size == 30

    def test_a_wrong_old_size_conflicts_and_names_the_known_size(self) -> None:
        witness = _at_size(10)
        with pytest.raises(OldSizeMismatch) as refused:
            witness.add_checkpoint(_request(12, 20), NOW)
        assert refused.value.size == 10
        assert refused.value.exit_code == 75

    def test_a_first_request_with_a_nonzero_old_size_conflicts_with_size_zero(self) -> None:
        with pytest.raises(OldSizeMismatch) as refused:
            _witness().add_checkpoint(_request(5, 10), NOW)
        assert refused.value.size == 0

    def test_a_bad_log_signature_is_refused(self) -> None:
        note = _note(10)
        signature = note.signatures[0]
        forged = Note(
            note.text.replace("\n10\n", "\n11\n"),
            (NoteSignature(signature.name, signature.key_id, signature.signature),),
        )
        with pytest.raises(NoteSignatureInvalid):
            _witness().add_checkpoint(AddCheckpointRequest(0, (), forged), NOW)

    def test_a_checkpoint_signed_by_another_key_for_the_origin_is_refused(self) -> None:
        with pytest.raises(UntrustedNote):
            _witness().add_checkpoint(AddCheckpointRequest(0, (), _note(10, signer=IMPOSTOR)), NOW)

    def test_an_unknown_origin_is_not_found(self) -> None:
        request = AddCheckpointRequest(0, (), _note(10, signer=OTHER_LOG))
        with pytest.raises(UnknownLog, match=OTHER_LOG.name):
            _witness().add_checkpoint(request, NOW)

    def test_a_proof_from_size_zero_is_refused(self) -> None:
        request = AddCheckpointRequest(0, (LEAVES[0],), _note(10))
        with pytest.raises(ConsistencyProofInvalid, match="size 0"):
            _witness().add_checkpoint(request, NOW)

    def test_an_empty_checkpoint_must_have_the_empty_root(self) -> None:
        note = sign_checkpoint(Checkpoint(LOG.name, 0, LEAVES[0]), LOG)
        with pytest.raises(ConsistencyProofInvalid, match="empty tree"):
            _witness().add_checkpoint(AddCheckpointRequest(0, (), note), NOW)

    def test_a_signed_note_that_is_not_a_checkpoint_is_a_bad_request(self) -> None:
        text = f"{LOG.name}\nnot a size\n"
        note = Note(text, (NoteSignature(LOG.name, LOG.key_id, LOG.sign(text.encode())),))
        with pytest.raises(MalformedWitnessRequest):
            _witness().add_checkpoint(AddCheckpointRequest(0, (), note), NOW)

    def test_a_refusal_leaves_the_state_unchanged(self) -> None:
        witness = _at_size(30)
        before = witness.state
        with pytest.raises(ConsistencyProofInvalid):
            witness.add_checkpoint(_request(30, 40, FORKED_READER), NOW)
        assert witness.state is before


class TestWitnessState:
    """The state is persisted before an answer and survives a restart."""

    def test_the_state_is_persisted_before_the_answer(self) -> None:
        saved: list[WitnessState] = []
        witness = _witness(persist=saved.append)
        witness.add_checkpoint(_request(0, 10), NOW)
        assert saved[-1] is witness.state
        assert saved[-1].latest(LOG.name) == Checkpoint.from_text(_note(10).text)

    def test_nothing_is_cosigned_when_persisting_fails(self) -> None:
        def fail(_state: WitnessState) -> None:
            raise OSError("disk full")

        witness = _witness(persist=fail)
        with pytest.raises(OSError, match="disk full"):
            witness.add_checkpoint(_request(0, 10), NOW)
        assert witness.state.latest(LOG.name) is None

    def test_a_restarted_witness_still_refuses_a_rollback(self) -> None:
        witness = _at_size(30)
        restarted = _witness(state=WitnessState.from_bytes(witness.state.to_bytes()))
        with pytest.raises(OldSizeMismatch) as refused:
            restarted.add_checkpoint(_request(0, 10), NOW)
        assert refused.value.size == 30
        restarted.add_checkpoint(_request(30, 31), NOW)

    @pytest.mark.parametrize(
        "data",
        [
            b"not json",
            b'{"type": "bayflow-witness-state/2", "checkpoints": []}',
            b'{"type": "bayflow-witness-state/1", "checkpoints": [], "extra": 1}',
            b'{"type": "bayflow-witness-state/1", "checkpoints": [1]}',
        ],
        ids=["not-json", "future-version", "extra-member", "not-notes"],
    )
    def test_a_malformed_state_is_refused(self, data: bytes) -> None:
        with pytest.raises(MalformedCheckpoint):
            WitnessState.from_bytes(data)

    def test_two_checkpoints_for_one_log_are_refused(self) -> None:
        state = _at_size(3).state.to_json()
        state["checkpoints"] *= 2
        with pytest.raises(MalformedCheckpoint, match="two checkpoints"):
            WitnessState.from_json(state)

    def test_a_witness_needs_a_log(self) -> None:
        with pytest.raises(ValueError, match="at least one log"):
            Witness(HK_WITNESS, [])
