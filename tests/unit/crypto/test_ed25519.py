import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.crypto import ed25519
from bayflow.crypto.ed25519 import SigningKey, verify
from bayflow.crypto.errors import CryptoError, InvalidSignature
from bayflow.errors import VerificationFailed

# RFC 8032 §7.1, TEST 2: a one-byte message.
RFC8032_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC8032_MESSAGE = bytes.fromhex("72")
RFC8032_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


class TestSigningKey:
    """Signing keys derive from a 32-byte seed and sign deterministically."""

    def test_matches_the_rfc_8032_test_vector(self) -> None:
        key = SigningKey.from_seed(RFC8032_SEED)
        assert key.public_key == RFC8032_PUBLIC
        assert key.sign(RFC8032_MESSAGE) == RFC8032_SIGNATURE
        assert key.seed == RFC8032_SEED

    def test_generated_keys_differ(self) -> None:
        assert SigningKey.generate().public_key != SigningKey.generate().public_key

    @pytest.mark.parametrize("length", [0, 31, 33, 64])
    def test_seeds_must_be_32_bytes(self, length: int) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            SigningKey(b"\x00" * length)

    def test_repr_shows_the_public_key_only(self) -> None:
        text = repr(SigningKey.from_seed(RFC8032_SEED))
        assert RFC8032_PUBLIC.hex() in text
        assert RFC8032_SEED.hex() not in text


class TestVerify:
    """Verification returns nothing on success and raises InvalidSignature otherwise."""

    def test_accepts_the_rfc_8032_test_vector(self) -> None:
        verify(RFC8032_PUBLIC, RFC8032_SIGNATURE, RFC8032_MESSAGE)

    def test_rejects_another_message(self) -> None:
        with pytest.raises(InvalidSignature, match="does not verify"):
            verify(RFC8032_PUBLIC, RFC8032_SIGNATURE, b"\x73")

    @pytest.mark.parametrize(
        ("public_key", "signature", "message"),
        [
            (RFC8032_PUBLIC[:31], RFC8032_SIGNATURE, "public key"),
            (RFC8032_PUBLIC, RFC8032_SIGNATURE[:63], "signature"),
        ],
    )
    def test_rejects_wrong_lengths(self, public_key: bytes, signature: bytes, message: str) -> None:
        with pytest.raises(InvalidSignature, match=message):
            verify(public_key, signature, RFC8032_MESSAGE)

    def test_rejects_a_small_order_public_key(self) -> None:
        # The identity point: every signature "verifies" under it unless the library refuses it.
        identity = bytes([1]) + bytes(31)
        with pytest.raises(InvalidSignature):
            verify(identity, bytes(64), b"")

    @given(st.binary(max_size=200), st.integers(min_value=0, max_value=63), st.data())
    def test_any_flipped_signature_bit_fails(
        self, message: bytes, byte: int, data: st.DataObject
    ) -> None:
        key = SigningKey(b"\x05" * 32)
        signature = bytearray(key.sign(message))
        verify(key.public_key, bytes(signature), message)
        signature[byte] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
        with pytest.raises(InvalidSignature):
            verify(key.public_key, bytes(signature), message)

    def test_errors_are_verification_failures(self) -> None:
        assert issubclass(InvalidSignature, CryptoError)
        assert issubclass(CryptoError, VerificationFailed)
        assert InvalidSignature.slug != CryptoError.slug

    def test_sizes_are_the_rfc_8032_sizes(self) -> None:
        assert (ed25519.SEED_SIZE, ed25519.PUBLIC_KEY_SIZE, ed25519.SIGNATURE_SIZE) == (32, 32, 64)
