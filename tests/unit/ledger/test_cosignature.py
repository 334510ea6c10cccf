import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.checkpoint import Checkpoint, sign_checkpoint
from bayflow.ledger.cosignature import (
    COSIGNATURE_TYPE,
    Cosignature,
    CosignatureSigner,
    CosignatureVerifier,
    WitnessPolicy,
    cosign,
    cosigned_message,
)
from bayflow.ledger.errors import CosignatureInvalid, MalformedKey, TooFewCosignatures
from bayflow.ledger.merkle import EMPTY_ROOT
from bayflow.ledger.note import Ed25519Signer, Ed25519Verifier, Note, NoteSignature, compute_key_id

# c2sp.org/tlog-cosignature, the opening example (the witness key is not published).
SPEC_COSIGNED = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcy"
    "v2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def log() -> Ed25519Signer:
    return Ed25519Signer("bayflow.example/log", SigningKey(b"\x01" * 32))


@pytest.fixture(scope="module")
def witnesses() -> list[CosignatureSigner]:
    return [
        CosignatureSigner(f"witness{i}.example", SigningKey(bytes([i + 10]) * 32)) for i in range(3)
    ]


@pytest.fixture
def checkpoint_note(log: Ed25519Signer) -> Note:
    return sign_checkpoint(Checkpoint(log.name, 42, EMPTY_ROOT), log)


class TestCosignatureFormat:
    """Cosignatures follow the cosignature/v1 message and key ID rules."""

    def test_signed_message_matches_the_spec_example(self) -> None:
        body = (
            b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        )
        assert cosigned_message(body, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + body

    def test_spec_cosignature_carries_its_timestamp_first(self) -> None:
        signature = Note.from_text(SPEC_COSIGNED).signatures[1]
        assert signature.name == "witness.example.com/w1"
        assert int.from_bytes(signature.signature[:8], "big") == 1679315147
        assert len(signature.signature) == 72

    def test_key_id_uses_the_cosignature_type_byte(
        self, witnesses: list[CosignatureSigner]
    ) -> None:
        verifier = witnesses[0].verifier()
        assert verifier.key_id == compute_key_id(verifier.name, 0x04, verifier.public_key)
        plain = Ed25519Verifier(verifier.name, verifier.public_key)
        assert plain.key_id != verifier.key_id

    def test_vkey_and_skey_round_trip(self, witnesses: list[CosignatureSigner]) -> None:
        signer = witnesses[0]
        assert CosignatureVerifier.from_vkey(signer.verifier().vkey).key_id == signer.key_id
        assert CosignatureSigner.from_skey(signer.skey).verifier().vkey == signer.verifier().vkey
        assert base64.b64decode(signer.verifier().vkey.split("+", 2)[2])[0] == 0x04
        assert "witness0.example" in repr(signer)
        assert signer.skey.rsplit("+", 1)[1] not in repr(signer)
        assert "CosignatureVerifier(" in repr(signer.verifier())

    @pytest.mark.parametrize(
        "vkey",
        [
            Ed25519Signer("w.example", SigningKey(b"\x02" * 32)).verifier().vkey,
            "w.example+00000000+BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ],
    )
    def test_rejects_vkeys_of_another_type_or_id(self, vkey: str) -> None:
        with pytest.raises(MalformedKey):
            CosignatureVerifier.from_vkey(vkey)

    @pytest.mark.parametrize(
        "skey",
        [
            Ed25519Signer("w.example", SigningKey(b"\x02" * 32)).skey,
            "PRIVATE+KEY+w.example+00000000+BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "PRIVATE+KEY+w.example+00000000+BAECAw==",
        ],
    )
    def test_rejects_skeys_of_another_type_id_or_length(self, skey: str) -> None:
        with pytest.raises(MalformedKey):
            CosignatureSigner.from_skey(skey)

    def test_public_keys_must_be_32_bytes(self) -> None:
        with pytest.raises(MalformedKey):
            CosignatureVerifier("w.example", b"short")

    def test_type_byte_is_four(self) -> None:
        assert COSIGNATURE_TYPE == 0x04


class TestCosigning:
    """Witnesses cosign at a given time, and the cosignature verifies only for that note."""

    def test_cosignature_verifies_and_reports_its_time(
        self, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        note = cosign(checkpoint_note, witnesses[0], NOW)
        policy = WitnessPolicy.of([witnesses[0].verifier()], 1)
        assert policy.check(note) == (
            Cosignature("witness0.example", witnesses[0].key_id, int(NOW.timestamp())),
        )

    def test_times_in_other_zones_are_the_same_instant(
        self, witnesses: list[CosignatureSigner]
    ) -> None:
        hong_kong = NOW.astimezone(timezone(timedelta(hours=8)))
        assert witnesses[0].sign_at(b"x\n", hong_kong)[:8] == witnesses[0].sign_at(b"x\n", NOW)[:8]

    @pytest.mark.parametrize("now", [datetime(2026, 1, 1), -1, 1 << 63])  # noqa: DTZ001
    def test_refuses_naive_or_out_of_range_times(
        self, witnesses: list[CosignatureSigner], now: datetime | int
    ) -> None:
        with pytest.raises(ValueError, match=r"timezone-aware|between"):
            witnesses[0].at(now)

    def test_cosignature_fails_on_a_different_checkpoint(
        self, log: Ed25519Signer, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        cosigned = cosign(checkpoint_note, witnesses[0], NOW)
        other = sign_checkpoint(Checkpoint(log.name, 43, EMPTY_ROOT), log)
        moved = Note(other.text, (other.signatures[0], cosigned.signatures[1]))
        with pytest.raises(CosignatureInvalid, match="does not verify"):
            WitnessPolicy.of([witnesses[0].verifier()], 1).check(moved)

    @given(st.integers(min_value=0, max_value=7), st.integers(min_value=0, max_value=7))
    def test_flipping_any_timestamp_bit_breaks_the_cosignature(
        self, witnesses: list[CosignatureSigner], byte: int, bit: int
    ) -> None:
        signature = bytearray(witnesses[0].sign_at(b"note\n", NOW))
        signature[byte] ^= 1 << bit
        with pytest.raises(CosignatureInvalid):
            witnesses[0].verifier().verify(b"note\n", bytes(signature))

    @pytest.mark.parametrize("length", [0, 8, 71, 73])
    def test_rejects_signatures_of_the_wrong_length(
        self, witnesses: list[CosignatureSigner], length: int
    ) -> None:
        with pytest.raises(CosignatureInvalid, match="length"):
            witnesses[0].verifier().verify(b"note\n", b"\x00" * length)

    def test_rejects_timestamps_above_the_signed_range(
        self, witnesses: list[CosignatureSigner]
    ) -> None:
        signature = b"\xff" * 8 + witnesses[0].sign_at(b"note\n", NOW)[8:]
        with pytest.raises(CosignatureInvalid, match="timestamp"):
            witnesses[0].verifier().verify(b"note\n", signature)


class TestWitnessPolicy:
    """A witness policy counts distinct trusted witnesses and enforces its quorum."""

    def _cosigned(self, note: Note, signers: list[CosignatureSigner]) -> Note:
        for signer in signers:
            note = cosign(note, signer, NOW)
        return note

    def test_quorum_met_returns_the_verified_cosignatures(
        self, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        note = self._cosigned(checkpoint_note, witnesses[:2])
        policy = WitnessPolicy.of([w.verifier() for w in witnesses], 2)
        assert [c.name for c in policy.check(note)] == ["witness0.example", "witness1.example"]

    def test_too_few_cosignatures_are_reported_with_counts(
        self, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        note = self._cosigned(checkpoint_note, witnesses[:1])
        policy = WitnessPolicy.of([w.verifier() for w in witnesses], 2)
        with pytest.raises(TooFewCosignatures, match="1 of 3 trusted witnesses cosigned; 2"):
            policy.check(note)

    def test_cosignatures_from_unknown_witnesses_do_not_count(
        self, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        stranger = CosignatureSigner.generate("stranger.example")
        note = self._cosigned(checkpoint_note, [stranger, witnesses[0]])
        with pytest.raises(TooFewCosignatures):
            WitnessPolicy.of([w.verifier() for w in witnesses], 2).check(note)

    def test_a_bad_cosignature_from_a_trusted_witness_rejects_the_note(
        self, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        good = self._cosigned(checkpoint_note, witnesses[:2])
        bad = NoteSignature(witnesses[2].name, witnesses[2].key_id, b"\x00" * 72)
        note = Note(good.text, (*good.signatures, bad))
        with pytest.raises(CosignatureInvalid):
            WitnessPolicy.of([w.verifier() for w in witnesses], 1).check(note)

    def test_the_log_signature_is_not_a_cosignature(
        self, checkpoint_note: Note, witnesses: list[CosignatureSigner]
    ) -> None:
        with pytest.raises(TooFewCosignatures, match="0 of 1"):
            WitnessPolicy.of([witnesses[0].verifier()], 1).check(checkpoint_note)

    def test_a_zero_quorum_trusts_the_log_alone(self, checkpoint_note: Note) -> None:
        assert WitnessPolicy.of([], 0).check(checkpoint_note) == ()

    @pytest.mark.parametrize("minimum", [-1, 4])
    def test_impossible_quorums_are_refused(
        self, witnesses: list[CosignatureSigner], minimum: int
    ) -> None:
        with pytest.raises(ValueError, match="cannot require"):
            WitnessPolicy.of([w.verifier() for w in witnesses], minimum)

    def test_one_key_under_two_names_is_refused(self, witnesses: list[CosignatureSigner]) -> None:
        key = witnesses[0].verifier().public_key
        twins = [CosignatureVerifier("a.example", key), CosignatureVerifier("b.example", key)]
        with pytest.raises(ValueError, match="own name and its own key"):
            WitnessPolicy.of(twins, 2)

    def test_one_name_for_two_keys_is_refused(self, witnesses: list[CosignatureSigner]) -> None:
        twins = [CosignatureVerifier("a.example", w.verifier().public_key) for w in witnesses[:2]]
        with pytest.raises(ValueError, match="own name and its own key"):
            WitnessPolicy.of(twins, 1)
