import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.errors import (
    MalformedKey,
    MalformedNote,
    NoteSignatureInvalid,
    UntrustedNote,
)
from bayflow.ledger.note import (
    MAX_SIGNATURES,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    compute_key_id,
    sign_note,
)
from tests.strategies import key_names, note_texts

# c2sp.org/signed-note, "Verifier keys" example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFX"
    "mRKuwHjG1Yu72IneyaQM=\n"
)
# c2sp.org/signed-note, opening example (its key is not published).
SPEC_POEM = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFS"
    "QU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
# The known answer published with golang.org/x/mod/sumdb/note, the reference implementation.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpR"
    "Zb6KE6RyyBwJnAM=\n"
)


@pytest.fixture(scope="module")
def signer() -> Ed25519Signer:
    return Ed25519Signer("bayflow.example/log", SigningKey(bytes(range(32))))


class TestSpecExamples:
    """The examples in c2sp.org/signed-note and Go's reference implementation hold."""

    def test_spec_verifier_key_verifies_the_spec_note(self) -> None:
        verifier = Ed25519Verifier.from_vkey(SPEC_VKEY)
        note = Note.from_text(SPEC_NOTE)
        (signature,) = note.verify([verifier])
        assert signature.name == "example.com/foo"
        assert signature.key_id == 0x530D903A

    def test_spec_poem_separates_text_at_the_last_empty_line(self) -> None:
        note = Note.from_text(SPEC_POEM)
        assert note.text.endswith("\n\ned è subito sera.\n")
        assert note.signatures[0].name == "quasimodo.example/salvatore"
        assert note.to_text() == SPEC_POEM

    def test_go_private_key_signs_the_published_note_byte_for_byte(self) -> None:
        signer = Ed25519Signer.from_skey(GO_SKEY)
        assert signer.verifier().vkey == GO_VKEY
        assert sign_note(GO_TEXT, signer).to_text() == f"{GO_TEXT}\n{GO_SIGNATURE}"

    def test_go_verifier_key_round_trips(self) -> None:
        assert Ed25519Verifier.from_vkey(GO_VKEY).vkey == GO_VKEY

    def test_spec_key_id_is_the_truncated_hash_of_name_type_and_key(self) -> None:
        verifier = Ed25519Verifier.from_vkey(SPEC_VKEY)
        assert compute_key_id(verifier.name, 0x01, verifier.public_key) == 0x530D903A


class TestNoteVerify:
    """Notes verify under the signed-note rules for known and unknown keys."""

    def test_signatures_from_unknown_keys_are_ignored(self, signer: Ed25519Signer) -> None:
        stranger = Ed25519Signer.generate("stranger.example")
        note = sign_note("hello\n", stranger, signer)
        assert [s.name for s in note.verify([signer.verifier()])] == [signer.name]

    def test_a_key_sharing_only_the_name_is_unknown(self, signer: Ed25519Signer) -> None:
        impostor = Ed25519Signer.generate(signer.name)
        note = sign_note("hello\n", impostor, signer)
        assert len(note.verify([signer.verifier()])) == 1

    def test_a_note_without_a_trusted_signature_is_untrusted(self, signer: Ed25519Signer) -> None:
        note = sign_note("hello\n", Ed25519Signer.generate("other.example"))
        with pytest.raises(UntrustedNote):
            note.verify([signer.verifier()])

    def test_a_bad_signature_from_a_trusted_key_rejects_the_note(
        self, signer: Ed25519Signer
    ) -> None:
        good = sign_note("hello\n", signer)
        forged = Note("hellO\n", good.signatures)
        with pytest.raises(NoteSignatureInvalid):
            forged.verify([signer.verifier()])

    def test_a_bad_trusted_signature_fails_even_beside_a_good_one(
        self, signer: Ed25519Signer
    ) -> None:
        second = Ed25519Signer.generate("second.example")
        note = sign_note("hello\n", signer, second)
        tampered = Note(
            note.text, (note.signatures[0], NoteSignature(second.name, second.key_id, b"\0" * 64))
        )
        with pytest.raises(NoteSignatureInvalid):
            tampered.verify([signer.verifier(), second.verifier()])

    def test_with_signatures_appends_after_the_existing_ones(self, signer: Ed25519Signer) -> None:
        second = Ed25519Signer.generate("second.example")
        note = sign_note("hello\n", signer).with_signatures(second)
        assert [s.name for s in note.signatures] == [signer.name, second.name]
        assert len(note.verify([signer.verifier(), second.verifier()])) == 2

    @given(text=note_texts, name=key_names)
    def test_signed_notes_round_trip_and_verify(self, text: str, name: str) -> None:
        signer = Ed25519Signer(name, SigningKey(b"\x07" * 32))
        note = sign_note(text, signer)
        parsed = Note.from_bytes(note.to_bytes())
        assert parsed == note
        parsed.verify([signer.verifier()])

    @given(text=note_texts, data=st.data())
    def test_any_changed_text_byte_fails_verification(
        self, signer: Ed25519Signer, text: str, data: st.DataObject
    ) -> None:
        note = sign_note(text, signer)
        raw = bytearray(note.text.encode())
        position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[position] ^= 0x01
        try:
            altered = Note.from_bytes(bytes(raw) + b"\n" + note.to_bytes()[len(note.text) + 1 :])
        except MalformedNote:
            return  # The flip broke the format, which is also a rejection.
        with pytest.raises(NoteSignatureInvalid):
            altered.verify([signer.verifier()])


class TestNoteParsing:
    """The note parser accepts one spelling of each note and nothing else."""

    @pytest.mark.parametrize(
        ("note", "message"),
        [
            ("hello\n— a AAAAAAE=\n", "blank line"),
            ("hello\n\n", "end with a newline"),
            ("hello\n\n— a AAAAAAE=", "end with a newline"),
            ("hello\n\n- a AAAAAAE=\n", "em dash"),
            ("hello\n\n— aAAAAAAE=\n", "key name and a signature"),
            ("hello\n\n— a+b AAAAAAE=\n", "key name"),
            ("hello\n\n— a\u00a0b AAAAAAE=\n", "key name"),
            ("hello\n\n—  AAAAAAE=\n", "key name"),
            ("hello\n\n— a AAAAAA==\n", "key ID and signature"),
            ("hello\n\n— a AAAAAAE\n", "base64"),
            ("hello\n\n— a AAAAAAF=\n", "canonical"),
            ("hello\n\n— a AAAA AAE=\n", "base64"),
            ("he\tllo\n\n— a AAAAAAE=\n", "control"),
            ("hello\r\n\n— a AAAAAAE=\n", "control"),
            ("hello\n\n— a AAAAAAE=\n— a AAAAAAE=\n", "same key"),
            ("hello\n\n— a AAAAAAE=\n\n", "end with a newline"),
        ],
    )
    def test_rejects_malformed_notes(self, note: str, message: str) -> None:
        with pytest.raises(MalformedNote, match=message):
            Note.from_text(note)

    def test_rejects_invalid_utf8(self) -> None:
        with pytest.raises(MalformedNote, match="UTF-8"):
            Note.from_bytes(b"\xff\n\n\xe2\x80\x94 a AAAAAAE=\n")

    def test_accepts_sixteen_signatures_and_caps_the_count(self) -> None:
        lines = "".join(f"— k{i} AAAAAAE=\n" for i in range(MAX_SIGNATURES + 1))
        assert len(
            Note.from_text("hello\n\n" + "".join(lines.splitlines(keepends=True)[:16])).signatures
        )
        with pytest.raises(MalformedNote, match="at most"):
            Note.from_text("hello\n\n" + lines)

    def test_text_must_end_in_a_newline_when_signing(self, signer: Ed25519Signer) -> None:
        with pytest.raises(MalformedNote, match="newline"):
            sign_note("hello", signer)

    def test_signing_needs_a_signer(self) -> None:
        with pytest.raises(ValueError, match="signer"):
            sign_note("hello\n")

    def test_a_note_needs_a_signature(self) -> None:
        with pytest.raises(MalformedNote, match="at least one"):
            Note("hello\n", ())

    def test_lone_surrogates_are_refused(self) -> None:
        with pytest.raises(MalformedNote, match="control"):
            Note.from_text("a\ud800\n\n— a AAAAAAE=\n")

    @pytest.mark.parametrize(
        ("name", "key_id", "signature"),
        [("a", -1, b"x"), ("a", 1 << 32, b"x"), ("a", 1, b""), ("", 1, b"x")],
    )
    def test_signature_fields_are_checked(self, name: str, key_id: int, signature: bytes) -> None:
        with pytest.raises(MalformedNote):
            NoteSignature(name, key_id, signature)


class TestKeys:
    """Verifier and private keys parse strictly and must carry their own key ID."""

    def test_private_key_round_trips(self, signer: Ed25519Signer) -> None:
        again = Ed25519Signer.from_skey(signer.skey)
        assert again.key_id == signer.key_id
        assert again.verifier().vkey == signer.verifier().vkey

    def test_reprs_never_show_the_seed(self, signer: Ed25519Signer) -> None:
        seed_text = signer.skey.rsplit("+", 1)[1]
        assert seed_text not in repr(signer)
        assert "Ed25519Verifier('bayflow.example/log+" in repr(signer.verifier())

    @pytest.mark.parametrize(
        ("vkey", "message"),
        [
            ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "ID"),
            ("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "hex"),
            ("example.com/foo+530d903a+BekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "type"),
            ("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", "base64"),
            ("example.com/foo+530d903a+AQ==", "type byte and key"),
            ("example.com/foo+530d903a+AQID", "32 bytes"),
            ("example.com/foo+530d903a", "three parts"),
            ("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key name"),
            ("a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key name"),
        ],
    )
    def test_rejects_malformed_verifier_keys(self, vkey: str, message: str) -> None:
        with pytest.raises(MalformedKey, match=message):
            Ed25519Verifier.from_vkey(vkey)

    @pytest.mark.parametrize(
        ("skey", "message"),
        [
            (GO_SKEY.removeprefix("PRIVATE+KEY+"), "PRIVATE"),
            (GO_SKEY.replace("c74f20a3", "c74f20a4"), "ID"),
            (GO_SKEY.replace("+AYEK", "+BYEK"), "type"),
            ("PRIVATE+KEY+PeterNeumann+c74f20a3+AQID", "seed"),
        ],
    )
    def test_rejects_malformed_private_keys(self, skey: str, message: str) -> None:
        with pytest.raises(MalformedKey, match=message):
            Ed25519Signer.from_skey(skey)

    def test_names_with_plus_are_refused(self) -> None:
        with pytest.raises(MalformedKey):
            Ed25519Signer.generate("a+b")
