"""Ed25519 signatures (RFC 8032), the one place Bayflow touches the primitive.

The implementation is libsodium through PyNaCl's low-level bindings: on the development machine
it verifies about twice as fast as OpenSSL through ``cryptography`` (see DESIGN.md, "Measured
costs"), and signature verification is the dominant cost of checking an offline ledger proof.
libsodium's verifier is also the strict one: it rejects non-canonical signatures and
small-order public keys, so a signature that verifies here verifies everywhere.
"""

from __future__ import annotations

import secrets
from typing import Final

from nacl import bindings as _sodium
from nacl.exceptions import BadSignatureError as _BadSignatureError

from bayflow.crypto.errors import InvalidSignature

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "SigningKey",
    "verify",
]

PUBLIC_KEY_SIZE: Final = 32
SEED_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64


class SigningKey:
    """An Ed25519 private key, kept as its 32-byte RFC 8032 seed.

    The seed is the portable form (it is what the signed-note ``PRIVATE+KEY`` encoding stores);
    libsodium's 64-byte expanded key is derived once here so that signing does no key setup.
    """

    __slots__ = ("_public_key", "_secret", "_seed")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, got {len(seed)}")
        self._seed = bytes(seed)
        self._public_key, self._secret = _sodium.crypto_sign_seed_keypair(self._seed)

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        return cls(seed)

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed. Treat it as a secret."""
        return self._seed

    @property
    def public_key(self) -> bytes:
        """The 32-byte RFC 8032 encoding of the public key."""
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        """The 64-byte RFC 8032 signature of ``message``."""
        # crypto_sign returns signature || message; only the detached signature is wanted.
        return _sodium.crypto_sign(message, self._secret)[:SIGNATURE_SIZE]

    def __repr__(self) -> str:
        # The seed must never reach logs or tracebacks.
        return f"SigningKey(public_key={self._public_key.hex()})"


def verify(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Check an RFC 8032 Ed25519 signature; raise :class:`InvalidSignature` if it does not hold.

    Wrong-length keys and signatures raise the same error, because they reach this function
    from untrusted input as often as valid ones do.
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidSignature("Ed25519 public key has the wrong length")
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidSignature("Ed25519 signature has the wrong length")
    try:
        _sodium.crypto_sign_open(signature + message, public_key)
    except (_BadSignatureError, ValueError) as exc:
        raise InvalidSignature("Ed25519 signature does not verify") from exc
