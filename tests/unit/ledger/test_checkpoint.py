import base64

import pytest
from hypothesis import given

from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from bayflow.ledger.errors import (
    CheckpointInvalid,
    MalformedCheckpoint,
    NoteSignatureInvalid,
    UntrustedNote,
)
from bayflow.ledger.merkle import EMPTY_ROOT
from bayflow.ledger.note import Ed25519Signer, Note, sign_note
from tests.strategies import checkpoints

# c2sp.org/tlog-checkpoint, the opening example.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcy"
    "v2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
ROOT = base64.b64encode(EMPTY_ROOT).decode()


@pytest.fixture(scope="module")
def log() -> Ed25519Signer:
    return Ed25519Signer("bayflow.example/log", SigningKey(b"\x01" * 32))


class TestCheckpointText:
    """Checkpoint bodies parse strictly and round-trip exactly."""

    def test_parses_the_spec_example(self) -> None:
        checkpoint = Checkpoint.from_text(Note.from_text(SPEC_CHECKPOINT).text)
        assert checkpoint.origin == "example.com/behind-the-sofa"
        assert checkpoint.size == 20852163
        assert checkpoint.root_hash == base64.b64decode(
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        )
        assert checkpoint.extensions == ()

    def test_keeps_extension_lines_in_order(self) -> None:
        text = f"o\n0\n{ROOT}\next one\next two\n"
        checkpoint = Checkpoint.from_text(text)
        assert checkpoint.extensions == ("ext one", "ext two")
        assert checkpoint.to_text() == text

    @given(checkpoints)
    def test_text_round_trips(self, checkpoint: Checkpoint) -> None:
        assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (f"o\n1\n{ROOT}", "newline"),
            ("o\n1\n", "origin, a size and a root"),
            (f"\n1\n{ROOT}\n", "origin"),
            (f"o\n01\n{ROOT}\n", "leading zeroes"),
            (f"o\n+1\n{ROOT}\n", "leading zeroes"),
            (f"o\n1_0\n{ROOT}\n", "leading zeroes"),
            (f"o\n\u0661\n{ROOT}\n", "leading zeroes"),
            (f"o\n18446744073709551616\n{ROOT}\n", "larger"),
            (f"o\n-1\n{ROOT}\n", "leading zeroes"),
            ("o\n1\nAAAA\n", "32-byte"),
            ("o\n1\nnot base64!\n", "base64"),
            (f"o\n1\n{ROOT[:-2]}V=\n", "canonical"),
            (f"o\n1\n{ROOT}\n\n", "non-empty"),
            (f"o\n1\n{ROOT}\next\n\n", "non-empty"),
        ],
    )
    def test_rejects_malformed_bodies(self, text: str, message: str) -> None:
        with pytest.raises(MalformedCheckpoint, match=message):
            Checkpoint.from_text(text)

    def test_the_largest_uint64_size_is_accepted(self) -> None:
        assert Checkpoint.from_text(f"o\n18446744073709551615\n{ROOT}\n").size == (1 << 64) - 1

    @pytest.mark.parametrize(
        "fields",
        [("", 0, EMPTY_ROOT), ("o", -1, EMPTY_ROOT), ("o", 0, b"x"), ("a\nb", 0, EMPTY_ROOT)],
    )
    def test_constructor_upholds_the_format(self, fields: tuple[str, int, bytes]) -> None:
        with pytest.raises(MalformedCheckpoint):
            Checkpoint(*fields)


class TestSignedCheckpoints:
    """A checkpoint is only read after the log's own signature verifies."""

    def test_sign_then_open_returns_the_checkpoint(self, log: Ed25519Signer) -> None:
        checkpoint = Checkpoint(log.name, 7, EMPTY_ROOT)
        note = Note.from_text(sign_checkpoint(checkpoint, log).to_text())
        assert open_checkpoint(note, log.verifier()) == checkpoint

    def test_rejects_a_checkpoint_for_another_origin(self, log: Ed25519Signer) -> None:
        note = sign_checkpoint(Checkpoint("elsewhere.example/log", 7, EMPTY_ROOT), log)
        with pytest.raises(CheckpointInvalid, match="elsewhere"):
            open_checkpoint(note, log.verifier())

    def test_accepts_an_explicit_origin_that_differs_from_the_key_name(
        self, log: Ed25519Signer
    ) -> None:
        note = sign_checkpoint(Checkpoint("bayflow.example/other", 7, EMPTY_ROOT), log)
        assert open_checkpoint(note, log.verifier(), origin="bayflow.example/other").size == 7

    def test_rejects_a_checkpoint_signed_by_another_key(self, log: Ed25519Signer) -> None:
        note = sign_checkpoint(
            Checkpoint(log.name, 7, EMPTY_ROOT), Ed25519Signer.generate(log.name)
        )
        with pytest.raises(UntrustedNote):
            open_checkpoint(note, log.verifier())

    def test_rejects_a_changed_size(self, log: Ed25519Signer) -> None:
        note = sign_checkpoint(Checkpoint(log.name, 7, EMPTY_ROOT), log)
        forged = Note(note.text.replace("\n7\n", "\n8\n"), note.signatures)
        with pytest.raises(NoteSignatureInvalid):
            open_checkpoint(forged, log.verifier())

    def test_signed_text_that_is_not_a_checkpoint_is_malformed(self, log: Ed25519Signer) -> None:
        with pytest.raises(MalformedCheckpoint):
            open_checkpoint(sign_note("just text\n", log), log.verifier())

    def test_extension_lines_that_break_the_note_format_are_refused(
        self, log: Ed25519Signer
    ) -> None:
        with pytest.raises(MalformedCheckpoint, match="cannot be signed"):
            sign_checkpoint(Checkpoint(log.name, 0, EMPTY_ROOT, ("bell\a",)), log)
