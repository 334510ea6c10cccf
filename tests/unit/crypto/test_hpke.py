from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhpke import AEADId as PyAEADId
from pyhpke import CipherSuite
from pyhpke import KDFId as PyKDFId
from pyhpke import KEMId as PyKEMId

from bayflow.crypto import hpke
from bayflow.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    MalformedKey,
    MessageLimitReached,
)
from bayflow.crypto.hpke import (
    DEFAULT_SUITE,
    AEADId,
    KDFId,
    KEMId,
    Mode,
    PrivateKey,
    PublicKey,
    Suite,
)
from bayflow.errors import DevelopmentModeWarning, InvalidInput

VECTORS = Path(__file__).parents[2] / "vectors" / "hpke"
SUITES = [Suite(aead) for aead in AEADId]
MODEST = settings(max_examples=25, deadline=None)

# RFC 7748 §5 lists these as producing the all-zero output for any scalar (points of order 1, 4).
SMALL_ORDER_POINTS = [bytes(32), (1).to_bytes(32, "little")]


def _rfc_vectors() -> list[Any]:
    out = []
    for path in sorted(VECTORS.glob("rfc9180-*.json")):
        out += [pytest.param(v, id=v["section"]) for v in json.loads(path.read_text())["vectors"]]
    return out


RFC_VECTORS = _rfc_vectors()


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def _suite(vector: dict[str, Any]) -> Suite:
    return Suite(AEADId(vector["aead_id"]), KEMId(vector["kem_id"]), KDFId(vector["kdf_id"]))


def _sender_key(vector: dict[str, Any]) -> PrivateKey | None:
    return PrivateKey.derive(_h(vector["ikmS"])) if vector["mode"] == Mode.AUTH else None


def _setup_sender(vector: dict[str, Any]) -> tuple[bytes, hpke.SenderContext]:
    with pytest.warns(DevelopmentModeWarning):
        return hpke.setup_sender(
            PublicKey(_h(vector["pkRm"])),
            _h(vector["info"]),
            suite=_suite(vector),
            sender_private=_sender_key(vector),
            unsafe_ephemeral=PrivateKey.derive(_h(vector["ikmE"])),
        )


def _setup_recipient(vector: dict[str, Any]) -> hpke.RecipientContext:
    sender = _sender_key(vector)
    return hpke.setup_recipient(
        PrivateKey.derive(_h(vector["ikmR"])),
        _h(vector["enc"]),
        _h(vector["info"]),
        suite=_suite(vector),
        sender_public=None if sender is None else sender.public_key,
    )


def _pyhpke_suite(suite: Suite) -> CipherSuite:
    return CipherSuite.new(
        PyKEMId(int(suite.kem)), PyKDFId(int(suite.kdf)), PyAEADId(int(suite.aead))
    )


class TestRFC9180Vectors:
    """Every value in RFC 9180 Appendix A for the implemented suites and modes is reproduced."""

    def test_the_vector_files_cover_both_implemented_modes_of_two_suites(self) -> None:
        sections = sorted(p.values[0]["section"] for p in RFC_VECTORS)
        assert sections == ["A.1.1", "A.1.3", "A.2.1", "A.2.3"]

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_derive_key_pair_gives_the_listed_keys(self, vector: dict[str, Any]) -> None:
        for role in ("E", "R", "S"):
            if f"ikm{role}" in vector:
                key = PrivateKey.derive(_h(vector[f"ikm{role}"]))
                assert key.to_bytes().hex() == vector[f"sk{role}m"]
                assert key.public_key.to_bytes().hex() == vector[f"pk{role}m"]

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_encap_and_decap_give_the_listed_shared_secret(self, vector: dict[str, Any]) -> None:
        sender = _sender_key(vector)
        recipient = PrivateKey.derive(_h(vector["ikmR"]))
        ephemeral = PrivateKey.derive(_h(vector["ikmE"]))
        shared, enc = hpke._encap(recipient.public_key, sender, ephemeral)
        assert enc.hex() == vector["enc"]
        assert shared.hex() == vector["shared_secret"]
        sender_public = None if sender is None else sender.public_key
        assert hpke._decap(enc, recipient, sender_public).hex() == vector["shared_secret"]

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_key_schedule_gives_the_listed_intermediates(self, vector: dict[str, Any]) -> None:
        suite_id = _suite(vector).suite_id
        context = (
            bytes((vector["mode"],))
            + hpke._labeled_extract(suite_id, b"", b"psk_id_hash", b"")
            + hpke._labeled_extract(suite_id, b"", b"info_hash", _h(vector["info"]))
        )
        assert context.hex() == vector["key_schedule_context"]
        secret = hpke._labeled_extract(suite_id, _h(vector["shared_secret"]), b"secret", b"")
        assert secret.hex() == vector["secret"]
        for ctx in (_setup_sender(vector)[1], _setup_recipient(vector)):
            assert ctx._key.hex() == vector["key"]
            assert ctx._base_nonce.to_bytes(12, "big").hex() == vector["base_nonce"]
            assert ctx._exporter_secret.hex() == vector["exporter_secret"]

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_sender_produces_the_listed_ciphertexts_in_sequence(
        self, vector: dict[str, Any]
    ) -> None:
        enc, context = _setup_sender(vector)
        assert enc.hex() == vector["enc"]
        expected = {e["sequence_number"]: e for e in vector["encryptions"]}
        for seq in range(max(expected) + 1):
            if seq in expected:
                e = expected[seq]
                assert context._nonce().hex() == e["nonce"]
                assert context.seal(_h(e["aad"]), _h(e["pt"])).hex() == e["ct"]
            else:
                context.seal(b"", b"")
        assert context.seq == max(expected) + 1

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_recipient_opens_the_listed_ciphertexts(self, vector: dict[str, Any]) -> None:
        context = _setup_recipient(vector)
        for e in vector["encryptions"]:
            context._seq = e["sequence_number"]
            assert context.open(_h(e["aad"]), _h(e["ct"])).hex() == e["pt"]

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_both_sides_export_the_listed_values(self, vector: dict[str, Any]) -> None:
        for ctx in (_setup_sender(vector)[1], _setup_recipient(vector)):
            for e in vector["exports"]:
                exported = ctx.export(_h(e["exporter_context"]), e["L"])
                assert exported.hex() == e["exported_value"]

    @pytest.mark.parametrize("vector", RFC_VECTORS)
    def test_pyhpke_agrees_with_the_transcribed_exports(self, vector: dict[str, Any]) -> None:
        # An independent check on the transcription itself, not on Bayflow's code.
        suite = _pyhpke_suite(_suite(vector))
        sender = _sender_key(vector)
        context = suite.create_recipient_context(
            _h(vector["enc"]),
            suite.kem.deserialize_private_key(_h(vector["skRm"])),
            _h(vector["info"]),
            pks=None if sender is None else suite.kem.deserialize_public_key(_h(vector["pkSm"])),
        )
        for e in vector["exports"]:
            assert context.export(_h(e["exporter_context"]), e["L"]).hex() == e["exported_value"]


class TestPyHPKECrossCheck:
    """Bayflow and the independent pyhpke implementation interoperate in every suite and mode."""

    @MODEST
    @given(
        suite=st.sampled_from(SUITES),
        auth=st.booleans(),
        info=st.binary(max_size=64),
        aad=st.binary(max_size=64),
        plaintext=st.binary(max_size=2048),
    )
    def test_pyhpke_opens_what_bayflow_seals(
        self, suite: Suite, auth: bool, info: bytes, aad: bytes, plaintext: bytes
    ) -> None:
        recipient, sender = PrivateKey.generate(), PrivateKey.generate()
        enc, ciphertext = hpke.seal(
            recipient.public_key, info, aad, plaintext, suite=suite,
            sender_private=sender if auth else None,
        )  # fmt: skip
        theirs = _pyhpke_suite(suite)
        pks = theirs.kem.deserialize_public_key(sender.public_key.to_bytes()) if auth else None
        # pyhpke 0.6 offers single-shot calls only as stubs; its contexts do the work.
        context = theirs.create_recipient_context(
            enc, theirs.kem.deserialize_private_key(recipient.to_bytes()), info, pks=pks
        )
        assert context.open(ciphertext, aad) == plaintext

    @MODEST
    @given(
        suite=st.sampled_from(SUITES),
        auth=st.booleans(),
        info=st.binary(max_size=64),
        aad=st.binary(max_size=64),
        plaintext=st.binary(max_size=2048),
    )
    def test_bayflow_opens_what_pyhpke_seals(
        self, suite: Suite, auth: bool, info: bytes, aad: bytes, plaintext: bytes
    ) -> None:
        recipient, sender = PrivateKey.generate(), PrivateKey.generate()
        theirs = _pyhpke_suite(suite)
        sks = theirs.kem.deserialize_private_key(sender.to_bytes()) if auth else None
        enc, context = theirs.create_sender_context(
            theirs.kem.deserialize_public_key(recipient.public_key.to_bytes()), info, sks=sks
        )
        ciphertext = context.seal(plaintext, aad)
        opened = hpke.open(
            recipient, enc, info, aad, ciphertext, suite=suite,
            sender_public=sender.public_key if auth else None,
        )  # fmt: skip
        assert opened == plaintext

    @MODEST
    @given(
        suite=st.sampled_from(SUITES),
        info=st.binary(max_size=64),
        exporter_context=st.binary(max_size=64),
        length=st.integers(min_value=1, max_value=200),
    )
    def test_exported_secrets_are_equal(
        self, suite: Suite, info: bytes, exporter_context: bytes, length: int
    ) -> None:
        recipient = PrivateKey.generate()
        enc, ours = hpke.setup_sender(recipient.public_key, info, suite=suite)
        theirs = _pyhpke_suite(suite)
        context = theirs.create_recipient_context(
            enc, theirs.kem.deserialize_private_key(recipient.to_bytes()), info
        )
        assert ours.export(exporter_context, length) == context.export(exporter_context, length)


class TestSealAndOpen:
    """Single-shot sealing round-trips, and any change to its inputs makes opening raise."""

    @MODEST
    @given(suite=st.sampled_from(SUITES), plaintext=st.binary(max_size=4096))
    def test_open_returns_what_seal_was_given(self, suite: Suite, plaintext: bytes) -> None:
        key = PrivateKey.generate()
        enc, ciphertext = hpke.seal(key.public_key, b"info", b"aad", plaintext, suite=suite)
        assert len(ciphertext) == len(plaintext) + suite.overhead
        assert hpke.open(key, enc, b"info", b"aad", ciphertext, suite=suite) == plaintext

    @MODEST
    @given(
        field=st.sampled_from(["enc", "ciphertext", "aad", "info"]),
        data=st.data(),
    )
    def test_any_flipped_byte_makes_opening_fail(self, field: str, data: st.DataObject) -> None:
        key = PrivateKey.generate()
        parts = {"info": b"consent 42", "aad": b"request 7"}
        parts["enc"], parts["ciphertext"] = hpke.seal(
            key.public_key, parts["info"], parts["aad"], b"payload"
        )
        index = data.draw(st.integers(min_value=0, max_value=len(parts[field]) - 1))
        bit = data.draw(st.integers(min_value=0, max_value=7))
        altered = bytearray(parts[field])
        altered[index] ^= 1 << bit
        parts[field] = bytes(altered)
        with pytest.raises(DecryptionFailed):
            hpke.open(key, parts["enc"], parts["info"], parts["aad"], parts["ciphertext"])

    def test_another_recipient_key_cannot_open(self) -> None:
        enc, ciphertext = hpke.seal(PrivateKey.generate().public_key, b"", b"", b"secret")
        with pytest.raises(DecryptionFailed):
            hpke.open(PrivateKey.generate(), enc, b"", b"", ciphertext)

    def test_another_suite_cannot_open(self) -> None:
        key = PrivateKey.generate()
        enc, ciphertext = hpke.seal(key.public_key, b"", b"", b"secret")
        with pytest.raises(DecryptionFailed):
            hpke.open(key, enc, b"", b"", ciphertext, suite=Suite(AEADId.CHACHA20_POLY1305))

    def test_auth_mode_fails_under_another_sender_key(self) -> None:
        key, sender = PrivateKey.generate(), PrivateKey.generate()
        enc, ciphertext = hpke.seal(key.public_key, b"", b"", b"x", sender_private=sender)
        assert hpke.open(key, enc, b"", b"", ciphertext, sender_public=sender.public_key) == b"x"
        with pytest.raises(DecryptionFailed):
            hpke.open(key, enc, b"", b"", ciphertext, sender_public=key.public_key)
        with pytest.raises(DecryptionFailed):
            hpke.open(key, enc, b"", b"", ciphertext)

    @pytest.mark.parametrize("point", SMALL_ORDER_POINTS, ids=["zero", "one"])
    def test_a_small_order_enc_is_refused_as_a_failed_decryption(self, point: bytes) -> None:
        with pytest.raises(DecryptionFailed, match="not usable"):
            hpke.open(PrivateKey.generate(), point, b"", b"", bytes(16))

    @pytest.mark.parametrize("point", SMALL_ORDER_POINTS, ids=["zero", "one"])
    def test_sealing_to_a_small_order_key_is_refused(self, point: bytes) -> None:
        with pytest.raises(MalformedKey, match="small order"):
            hpke.seal(PublicKey(point), b"", b"", b"x")

    def test_an_enc_of_the_wrong_length_is_a_failed_decryption(self) -> None:
        key = PrivateKey.generate()
        enc, ciphertext = hpke.seal(key.public_key, b"", b"", b"x")
        with pytest.raises(DecryptionFailed, match="31 bytes"):
            hpke.open(key, enc[:-1], b"", b"", ciphertext)

    def test_decryption_failure_is_a_crypto_error_not_bad_input(self) -> None:
        assert issubclass(DecryptionFailed, CryptoError)
        assert not issubclass(DecryptionFailed, InvalidInput)


class TestContexts:
    """Contexts keep sender and recipient nonces in step and refuse to wrap around."""

    def test_messages_open_in_the_order_they_were_sealed(self) -> None:
        key = PrivateKey.generate()
        enc, sender = hpke.setup_sender(key.public_key, b"stream")
        recipient = hpke.setup_recipient(key, enc, b"stream")
        sealed = [sender.seal(b"", bytes([i])) for i in range(3)]
        assert [recipient.open(b"", c) for c in sealed] == [b"\x00", b"\x01", b"\x02"]
        assert sender.seq == recipient.seq == 3

    def test_an_out_of_order_message_fails_and_does_not_advance_the_sequence(self) -> None:
        key = PrivateKey.generate()
        enc, sender = hpke.setup_sender(key.public_key, b"")
        recipient = hpke.setup_recipient(key, enc, b"")
        first, second = sender.seal(b"", b"1"), sender.seal(b"", b"2")
        with pytest.raises(DecryptionFailed):
            recipient.open(b"", second)
        assert recipient.seq == 0
        assert recipient.open(b"", first) == b"1"

    def test_the_last_sequence_number_is_never_used(self) -> None:
        key = PrivateKey.generate()
        _, sender = hpke.setup_sender(key.public_key, b"")
        sender._seq = (1 << 96) - 2
        sender.seal(b"", b"last")
        with pytest.raises(MessageLimitReached):
            sender.seal(b"", b"one too many")

    @pytest.mark.parametrize("length", [0, 255 * 32 + 1])
    def test_export_lengths_outside_the_kdf_bound_are_refused(self, length: int) -> None:
        _, sender = hpke.setup_sender(PrivateKey.generate().public_key, b"")
        with pytest.raises(ValueError, match="export length"):
            sender.export(b"", length)

    def test_the_longest_export_is_allowed(self) -> None:
        _, sender = hpke.setup_sender(PrivateKey.generate().public_key, b"")
        assert len(sender.export(b"", 255 * 32)) == 255 * 32

    def test_a_fixed_ephemeral_key_warns_that_it_is_for_vectors_only(self) -> None:
        with pytest.warns(DevelopmentModeWarning, match="test vectors only"):
            hpke.setup_sender(
                PrivateKey.generate().public_key, b"", unsafe_ephemeral=PrivateKey.generate()
            )


class TestKeys:
    """Keys are 32 raw bytes, derive deterministically and never print their secret."""

    @pytest.mark.parametrize("size", [0, 31, 33])
    def test_keys_of_the_wrong_length_are_refused(self, size: int) -> None:
        with pytest.raises(MalformedKey):
            PublicKey.from_bytes(bytes(size))
        with pytest.raises(MalformedKey):
            PrivateKey.from_bytes(bytes(size))

    def test_raw_bytes_round_trip(self) -> None:
        key = PrivateKey.generate()
        again = PrivateKey.from_bytes(key.to_bytes())
        assert again.public_key == key.public_key
        assert hash(again.public_key) == hash(key.public_key)
        assert PublicKey.from_bytes(key.public_key.to_bytes()) == key.public_key
        assert key.public_key != PrivateKey.generate().public_key
        assert key.public_key != key.public_key.to_bytes()

    def test_derivation_is_deterministic_and_input_sensitive(self) -> None:
        assert PrivateKey.derive(b"a" * 32).to_bytes() == PrivateKey.derive(b"a" * 32).to_bytes()
        assert PrivateKey.derive(b"a" * 32).to_bytes() != PrivateKey.derive(b"b" * 32).to_bytes()

    def test_repr_shows_the_public_key_only(self) -> None:
        key = PrivateKey.generate()
        assert key.to_bytes().hex() not in repr(key)
        assert key.public_key.to_bytes().hex() in repr(key)
        assert repr(key.public_key) == f"PublicKey({key.public_key.to_bytes().hex()})"


class TestSuite:
    """A suite names IANA identifiers and refuses the ones not implemented."""

    def test_the_default_is_x25519_hkdf_sha256_aes_128_gcm(self) -> None:
        assert DEFAULT_SUITE.suite_id == b"HPKE\x00\x20\x00\x01\x00\x01"
        assert DEFAULT_SUITE.key_size == 16

    def test_key_sizes_follow_the_aead(self) -> None:
        assert Suite(AEADId.AES_256_GCM).key_size == 32
        assert Suite(AEADId.CHACHA20_POLY1305).key_size == 32

    @pytest.mark.parametrize("aead", [0x0000, 0xFFFF])
    def test_unimplemented_aead_identifiers_are_refused(self, aead: int) -> None:
        with pytest.raises(ValueError, match="is not a valid AEADId"):
            Suite(aead)  # type: ignore[arg-type]

    def test_integer_identifiers_become_enum_members(self) -> None:
        assert Suite(3) == Suite(AEADId.CHACHA20_POLY1305)  # type: ignore[arg-type]
