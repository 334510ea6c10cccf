from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayflow.crypto import errors as crypto_errors
from bayflow.crypto import hpke
from bayflow.crypto.errors import (
    DecryptionFailed,
    EnvelopeMismatch,
    InvalidSignature,
    MalformedEnvelope,
    UnsupportedAlgorithm,
    WrongRecipient,
)
from bayflow.crypto.jose import PrivateJWK, PublicJWK, b64url_encode, sign_detached
from bayflow.exchange.envelope import (
    ENVELOPE_TYP,
    MAX_PLAINTEXT_SIZE,
    Envelope,
    EnvelopeHeader,
    open_payload,
    seal_payload,
)

VECTORS = Path(__file__).parents[2] / "vectors"
CONSENT = "con_2io3khcdaoc2q5npg7t4aygvxa"
REQUEST = "req_tlhhjj5bndceuqvyesft34sney"
OTHER_REQUEST = "req_g5yhfpqmq3cxemdmrlw4wffhti"
MODEST = settings(max_examples=20, deadline=None)


@pytest.fixture(scope="module")
def consumer() -> hpke.PrivateKey:
    return hpke.PrivateKey.generate()


@pytest.fixture(scope="module")
def provider() -> PrivateJWK:
    return PrivateJWK.generate()


def _seal(
    consumer: hpke.PrivateKey,
    provider: PrivateJWK,
    plaintext: bytes = b'{"total_sales_cny":"1284500.00"}',
    **overrides: Any,
) -> Envelope:
    args: dict[str, Any] = {
        "content_type": "application/json",
        "consent_id": CONSENT,
        "request_id": REQUEST,
        "consumer_public_x25519": consumer.public_key,
        "consumer_kid": "bank-x25519-1",
        "provider_key": provider,
    }
    return seal_payload(plaintext, **(args | overrides))


def _open(
    envelope: Envelope, consumer: hpke.PrivateKey, provider: PublicJWK, request: str = REQUEST
) -> tuple[bytes, str]:
    return open_payload(
        envelope,
        consumer_private_x25519=consumer,
        provider_public=provider,
        consent_id=CONSENT,
        request_id=request,
    )


def _frame(header_bytes: bytes, signature: str, ciphertext: bytes) -> bytes:
    sig = signature.encode()
    return (
        struct.pack(">4sBI", b"BFEN", 1, len(header_bytes))
        + header_bytes
        + struct.pack(">H", len(sig))
        + sig
        + ciphertext
    )


def _resigned(envelope: Envelope, provider: PrivateJWK, **changes: Any) -> bytes:
    """The envelope with header members changed and the header signed again, canonically."""
    header = envelope.header.to_json() | changes
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    signature = sign_detached(provider, header_bytes, typ=ENVELOPE_TYP)
    return _frame(header_bytes, signature, envelope.ciphertext)


class TestRoundTrip:
    """A sealed payload opens to the same bytes and content type after the wire format."""

    @MODEST
    @given(plaintext=st.binary(max_size=4096), chacha=st.booleans())
    def test_open_returns_the_sealed_plaintext_and_content_type(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK, plaintext: bytes, chacha: bool
    ) -> None:
        suite = hpke.Suite(hpke.AEADId.CHACHA20_POLY1305) if chacha else hpke.DEFAULT_SUITE
        envelope = _seal(consumer, provider, plaintext, content_type="text/csv", suite=suite)
        received = Envelope.from_bytes(envelope.to_bytes())
        assert _open(received, consumer, provider.public) == (plaintext, "text/csv")

    def test_a_one_mebibyte_payload_round_trips(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        plaintext = bytes(range(256)) * 4096
        data = _seal(consumer, provider, plaintext).to_bytes()
        # The ciphertext travels as it is: the envelope adds a header, not a base64 expansion.
        assert len(data) - len(plaintext) < 1024
        assert _open(Envelope.from_bytes(data), consumer, provider.public)[0] == plaintext

    def test_the_wire_form_is_stable_across_a_parse(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        data = _seal(consumer, provider).to_bytes()
        assert Envelope.from_bytes(data).to_bytes() == data

    def test_two_seals_of_one_payload_differ(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        first, second = _seal(consumer, provider), _seal(consumer, provider)
        assert first.header.enc != second.header.enc
        assert first.ciphertext != second.ciphertext
        assert first.header.plaintext_commitment != second.header.plaintext_commitment

    def test_the_header_hides_the_plaintext_and_its_plain_digest(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        import hashlib  # noqa: PLC0415 - only this test needs it

        plaintext = b'{"hkid":"K234567(6)"}'
        envelope = _seal(consumer, provider, plaintext)
        data = envelope.to_bytes()
        assert plaintext not in data
        assert b64url_encode(hashlib.sha256(plaintext).digest()).encode() not in data

    def test_the_ciphertext_digest_is_sha256_of_the_ciphertext(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        import hashlib  # noqa: PLC0415 - only this test needs it

        envelope = _seal(consumer, provider)
        assert envelope.ciphertext_digest == hashlib.sha256(envelope.ciphertext).digest()
        assert envelope.ciphertext_digest == envelope.header.ciphertext_sha256

    def test_repr_names_the_request_not_the_content(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        assert REQUEST in repr(_seal(consumer, provider))


class TestHubCheck:
    """The hub checks signature, ciphertext and binding with public keys alone."""

    def test_the_relay_check_passes_without_any_private_key(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = Envelope.from_bytes(_seal(consumer, provider).to_bytes())
        public_only = PublicJWK.from_dict(provider.public.to_dict())
        envelope.check_relay(CONSENT, REQUEST, public_only, consumer_public=consumer.public_key)

    def test_the_relay_check_refuses_another_request(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        with pytest.raises(EnvelopeMismatch, match="expected"):
            envelope.check_relay(CONSENT, OTHER_REQUEST, provider.public)
        with pytest.raises(EnvelopeMismatch):
            envelope.check_relay("con_aaaaaaaaaaaaaaaaaaaaaaaaaa", REQUEST, provider.public)

    def test_the_relay_check_refuses_a_key_other_than_the_consumers(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        with pytest.raises(WrongRecipient):
            envelope.check_relay(
                CONSENT,
                REQUEST,
                provider.public,
                consumer_public=hpke.PrivateKey.generate().public_key,
            )

    def test_the_relay_check_refuses_another_providers_key(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        with pytest.raises(InvalidSignature):
            _seal(consumer, provider).check_relay(CONSENT, REQUEST, PrivateJWK.generate().public)

    def test_the_relay_check_refuses_a_replaced_ciphertext(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        replaced = bytes(len(envelope.ciphertext))
        swapped = Envelope(envelope.header_bytes, envelope.signature, replaced)
        with pytest.raises(DecryptionFailed, match="not the one the provider signed"):
            swapped.check_relay(CONSENT, REQUEST, provider.public)


class TestReplayAndRecipient:
    """An envelope opens only for its own request and its own consumer."""

    def test_an_envelope_replayed_under_another_request_id_fails(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        with pytest.raises(EnvelopeMismatch):
            _open(envelope, consumer, provider.public, request=OTHER_REQUEST)

    def test_a_ciphertext_moved_under_a_signed_header_for_another_request_does_not_open(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        # Even the provider cannot re-label a ciphertext: the request is in the HPKE info.
        envelope = _seal(consumer, provider)
        moved = Envelope.from_bytes(_resigned(envelope, provider, request_id=OTHER_REQUEST))
        moved.check_relay(CONSENT, OTHER_REQUEST, provider.public)
        with pytest.raises(DecryptionFailed):
            _open(moved, consumer, provider.public, request=OTHER_REQUEST)

    def test_another_consumer_is_told_it_is_the_wrong_recipient(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        with pytest.raises(WrongRecipient, match="bank-x25519-1"):
            _open(_seal(consumer, provider), hpke.PrivateKey.generate(), provider.public)

    def test_a_header_naming_another_consumer_key_cannot_open_for_that_key(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        # The header claims the thief's key; the HPKE shared secret is still the consumer's.
        thief = hpke.PrivateKey.generate()
        envelope = _seal(consumer, provider)
        stolen = _resigned(
            envelope, provider, consumer_key=b64url_encode(thief.public_key.to_bytes())
        )
        with pytest.raises(DecryptionFailed):
            _open(Envelope.from_bytes(stolen), thief, provider.public)


class TestTampering:
    """Altering any part of an envelope fails with the error that names what was altered."""

    @pytest.mark.parametrize(
        ("member", "value"),
        [
            ("consent_id", "con_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("request_id", OTHER_REQUEST),
            ("content_type", "text/plain"),
            ("consumer_kid", "another-kid"),
            ("enc", b64url_encode(hpke.PrivateKey.generate().public_key.to_bytes())),
            ("ciphertext_sha256", b64url_encode(bytes(32))),
            ("plaintext_commitment", b64url_encode(bytes(32))),
            ("plaintext_size", 9),
        ],
    )
    def test_a_changed_header_member_breaks_the_signature(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK, member: str, value: object
    ) -> None:
        envelope = _seal(consumer, provider, b"0123456789")
        header = envelope.header.to_json() | {member: value}
        ciphertext = envelope.ciphertext
        if member == "plaintext_size":
            # A shorter payload claimed, and the ciphertext cut to fit the claim.
            header["ciphertext_size"] = 9 + 16
            ciphertext = ciphertext[:-1]
        header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        forged = Envelope(header_bytes, envelope.signature, ciphertext)
        with pytest.raises(InvalidSignature):
            forged.check_relay(CONSENT, REQUEST, provider.public)
        with pytest.raises(InvalidSignature):
            _open(forged, consumer, provider.public)

    @MODEST
    @given(data=st.data())
    def test_any_flipped_ciphertext_bit_is_a_decryption_failure(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK, data: st.DataObject
    ) -> None:
        envelope = _seal(consumer, provider)
        index = data.draw(st.integers(0, len(envelope.ciphertext) - 1))
        altered = bytearray(envelope.ciphertext)
        altered[index] ^= 1 << data.draw(st.integers(0, 7))
        tampered = Envelope(envelope.header_bytes, envelope.signature, bytes(altered))
        with pytest.raises(DecryptionFailed):
            _open(tampered, consumer, provider.public)

    def test_a_corrupted_signature_is_an_invalid_signature(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        head, _, signature = envelope.signature.partition("..")
        flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
        tampered = Envelope(envelope.header_bytes, f"{head}..{flipped}", envelope.ciphertext)
        with pytest.raises(InvalidSignature):
            _open(tampered, consumer, provider.public)

    def test_a_commitment_that_is_not_the_plaintexts_fails_at_the_consumer_only(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        forged = Envelope.from_bytes(
            _resigned(envelope, provider, plaintext_commitment=b64url_encode(bytes(32)))
        )
        forged.check_relay(CONSENT, REQUEST, provider.public)
        with pytest.raises(InvalidSignature, match="does not cover the decrypted plaintext"):
            _open(forged, consumer, provider.public)

    def test_truncation_anywhere_is_a_malformed_envelope(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        data = _seal(consumer, provider, b"x" * 40).to_bytes()
        for length in range(len(data)):
            with pytest.raises(MalformedEnvelope):
                Envelope.from_bytes(data[:length])

    def test_trailing_bytes_are_a_malformed_envelope(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        with pytest.raises(MalformedEnvelope, match="the header says"):
            Envelope.from_bytes(_seal(consumer, provider).to_bytes() + b"\x00")


class TestStrictParsing:
    """Only the one encoding of a version 1 envelope parses."""

    @pytest.mark.parametrize(
        ("offset", "replacement", "message"),
        [
            (0, b"BFEX", "not a Bayflow payload envelope"),
            (4, b"\x02", "version 2 is not supported"),
            (5, b"\x00\x01\x00\x00", "header is longer"),
        ],
    )
    def test_the_fixed_prefix_is_checked(
        self,
        consumer: hpke.PrivateKey,
        provider: PrivateJWK,
        offset: int,
        replacement: bytes,
        message: str,
    ) -> None:
        data = bytearray(_seal(consumer, provider).to_bytes())
        data[offset : offset + len(replacement)] = replacement
        with pytest.raises(MalformedEnvelope, match=message):
            Envelope.from_bytes(bytes(data))

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"v": 2}, "version 2"),
            ({"v": True}, "must be a int"),
            ({"extra": 1}, "unknown"),
            ({"suite": {"aead": 9, "kdf": 1, "kem": 32}}, "not supported"),
            ({"suite": {"aead": 1, "kdf": 1}}, "exactly aead, kdf and kem"),
            ({"enc": "AAAA"}, "must decode to 32 bytes"),
            ({"enc": "not base64!"}, "base64url"),
            ({"consumer_kid": "has space"}, "printable ASCII"),
            ({"content_type": "json"}, "not a media type"),
            ({"plaintext_size": -1}, "out of range"),
            ({"plaintext_size": MAX_PLAINTEXT_SIZE + 1}, "larger than an envelope"),
            ({"plaintext_size": 5}, "does not fit"),
        ],
    )
    def test_header_rules_are_enforced(
        self,
        consumer: hpke.PrivateKey,
        provider: PrivateJWK,
        change: dict[str, Any],
        message: str,
    ) -> None:
        envelope = _seal(consumer, provider)
        with pytest.raises(MalformedEnvelope, match=message):
            Envelope.from_bytes(_resigned(envelope, provider, **change))

    def test_a_missing_member_is_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        header = _seal(consumer, provider).header.to_json()
        del header["provider_kid"]
        with pytest.raises(MalformedEnvelope, match="missing \\['provider_kid'\\]"):
            EnvelopeHeader.from_bytes(json.dumps(header, sort_keys=True).encode())

    @pytest.mark.parametrize(
        "spelling",
        [
            lambda h: json.dumps(h, sort_keys=True, separators=(", ", ":")),
            lambda h: json.dumps(h, separators=(",", ":")).replace('"v":1', '"v":1.0'),
            lambda h: json.dumps(dict(reversed(h.items())), separators=(",", ":")),
        ],
        ids=["whitespace", "float", "key-order"],
    )
    def test_a_header_in_any_other_spelling_is_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK, spelling: Any
    ) -> None:
        header_bytes = spelling(_seal(consumer, provider).header.to_json()).encode()
        with pytest.raises(MalformedEnvelope):
            EnvelopeHeader.from_bytes(header_bytes)

    def test_duplicate_members_are_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        header_bytes = _seal(consumer, provider).header_bytes
        with pytest.raises(MalformedEnvelope, match="duplicate"):
            EnvelopeHeader.from_bytes(header_bytes[:-1] + b',"v":1}')

    def test_a_signature_of_another_type_is_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        other = sign_detached(provider, envelope.header_bytes, typ="consent-event+jwt")
        with pytest.raises(MalformedEnvelope, match="typ"):
            Envelope(envelope.header_bytes, other, envelope.ciphertext)

    def test_a_signature_naming_another_key_id_is_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        other = sign_detached(PrivateJWK.generate(), envelope.header_bytes, typ=ENVELOPE_TYP)
        with pytest.raises(MalformedEnvelope, match="provider_kid"):
            Envelope(envelope.header_bytes, other, envelope.ciphertext)

    def test_an_es256_signature_is_refused(self, consumer: hpke.PrivateKey) -> None:
        p256 = PrivateJWK.generate("ES256")
        with pytest.raises(UnsupportedAlgorithm):
            _seal(consumer, p256)

    def test_a_non_ascii_signature_is_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        sig = envelope.signature.encode()
        data = envelope.to_bytes().replace(sig, b"\xff" + sig[1:])
        with pytest.raises(MalformedEnvelope, match="not ASCII"):
            Envelope.from_bytes(data)

    def test_an_oversized_signature_length_is_refused(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider)
        data = bytearray(envelope.to_bytes())
        offset = 9 + len(envelope.header_bytes)
        data[offset : offset + 2] = (2048).to_bytes(2, "big")
        with pytest.raises(MalformedEnvelope, match="signature is longer"):
            Envelope.from_bytes(bytes(data))

    @pytest.mark.parametrize(
        ("argument", "value", "message"),
        [
            ("consent_id", "", "consent id"),
            ("request_id", "req 1", "request id"),
            ("consumer_kid", "é", "consumer key id"),
            ("content_type", "application json", "not a media type"),
        ],
    )
    def test_sealing_refuses_values_the_header_cannot_carry(
        self,
        consumer: hpke.PrivateKey,
        provider: PrivateJWK,
        argument: str,
        value: str,
        message: str,
    ) -> None:
        with pytest.raises(MalformedEnvelope, match=message):
            _seal(consumer, provider, **{argument: value})

    def test_sealing_refuses_a_payload_over_the_limit(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from bayflow.exchange import envelope as module  # noqa: PLC0415 - patched below

        monkeypatch.setattr(module, "MAX_PLAINTEXT_SIZE", 8)
        with pytest.raises(MalformedEnvelope, match="larger than 8 bytes"):
            _seal(consumer, provider, b"123456789")

    def test_media_type_parameters_are_allowed(
        self, consumer: hpke.PrivateKey, provider: PrivateJWK
    ) -> None:
        envelope = _seal(consumer, provider, content_type="text/csv; charset=utf-8")
        assert _open(envelope, consumer, provider.public)[1] == "text/csv; charset=utf-8"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_envelope_vectors", VECTORS / "generate_envelope_vectors.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENVELOPE_VECTORS = sorted((VECTORS / "envelope").glob("*.json"))


class TestEnvelopeVectors:
    """The checked-in envelope vectors are current and each yields its stated outcome."""

    def test_the_vectors_match_what_the_generator_writes(self) -> None:
        files = _load_generator().build()
        assert sorted(files) == [p.name for p in ENVELOPE_VECTORS]
        for path in ENVELOPE_VECTORS:
            assert path.read_text() == files[path.name], f"{path.name} is stale"

    @pytest.mark.parametrize("path", ENVELOPE_VECTORS, ids=lambda p: p.stem)
    def test_each_vector_yields_its_outcome(self, path: Path) -> None:
        case = json.loads(path.read_text())
        provider = PublicJWK.from_dict(case["provider_public_jwk"])
        consumer = hpke.PrivateKey(bytes.fromhex(case["consumer_private_x25519"]))
        assert consumer.public_key.to_bytes().hex() == case["consumer_public_x25519"]

        def relay() -> None:
            Envelope.from_bytes(bytes.fromhex(case["envelope"])).check_relay(
                case["consent_id"], case["request_id"], provider,
                consumer_public=consumer.public_key,
            )  # fmt: skip

        def consume() -> tuple[bytes, str]:
            return open_payload(
                Envelope.from_bytes(bytes.fromhex(case["envelope"])),
                consumer_private_x25519=consumer,
                provider_public=provider,
                consent_id=case["consent_id"],
                request_id=case["request_id"],
            )

        if case["relay_error"] is None:
            relay()
        else:
            with pytest.raises(getattr(crypto_errors, case["relay_error"])):
                relay()
        if case["open_error"] is None:
            assert consume() == (bytes.fromhex(case["plaintext"]), case["content_type"])
        else:
            with pytest.raises(getattr(crypto_errors, case["open_error"])):
                consume()
