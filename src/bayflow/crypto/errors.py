"""Errors raised by :mod:`bayflow.crypto`.

::

    VerificationFailed          (bayflow.errors)
    └── CryptoError             a cryptographic check did not hold
        ├── InvalidSignature    a signature does not verify under the given key
        ├── MalformedJOSE       a JWS, JWT or JWK breaks its RFC (also InvalidInput)
        │   └── UnsupportedAlgorithm   alg, kty or crv not accepted, or not the key's
        ├── UnknownKey          no trusted key for the issuer and key id
        ├── DecryptionFailed    a ciphertext does not open, or is not the one that was signed
        │   └── WrongRecipient  it was sealed to another public key
        ├── MalformedKey        key bytes are not a usable key (also InvalidInput)
        ├── MessageLimitReached        an HPKE context has used up its sequence numbers
        ├── MalformedEnvelope   a payload envelope breaks its format (also InvalidInput)
        └── EnvelopeMismatch    an envelope is bound to another consent or request

Primitives never return a bare ``False``: a failed check raises one of these, so a caller that
forgets to look at a result cannot accept a forgery.
"""

from __future__ import annotations

from bayflow.errors import InvalidInput, VerificationFailed

__all__ = [
    "CryptoError",
    "DecryptionFailed",
    "EnvelopeMismatch",
    "InvalidSignature",
    "MalformedEnvelope",
    "MalformedJOSE",
    "MalformedKey",
    "MessageLimitReached",
    "UnknownKey",
    "UnsupportedAlgorithm",
]


class CryptoError(VerificationFailed):
    """A cryptographic check did not hold."""

    slug = "crypto-failed"
    title = "Cryptographic check failed"


class InvalidSignature(CryptoError):
    """A signature does not verify under the given public key, or is not well formed."""

    slug = "invalid-signature"
    title = "Invalid signature"


# JOSE (RFC 7515, 7517, 7519) errors, raised by bayflow.crypto.jose. A malformed token is both
# bad input and a failed check: callers that catch CryptoError see it, and the CLI exits 65 for
# it as it does for the ledger's parse errors.


class MalformedJOSE(InvalidInput, CryptoError):
    """A JWS, JWT or JWK does not parse, or breaks a rule of its RFC."""

    slug = "malformed-jose"
    title = "Malformed JOSE object"


class UnsupportedAlgorithm(MalformedJOSE):
    """An ``alg``, ``kty`` or ``crv`` is not one Bayflow accepts, or does not fit the key."""

    slug = "unsupported-algorithm"
    title = "Unsupported algorithm"


class UnknownKey(CryptoError):
    """No trusted key matches the issuer and key id a signed object names."""

    slug = "unknown-key"
    title = "Unknown key"


# HPKE (RFC 9180) errors, raised by bayflow.crypto.hpke, and the payload envelope's errors,
# raised by bayflow.exchange.envelope. Opening never returns garbage or a flag: a ciphertext
# that does not authenticate raises DecryptionFailed, whatever the reason, so that an attacker
# probing with altered ciphertexts learns nothing from the kind of failure (RFC 9180 §8.2).


class DecryptionFailed(CryptoError):
    """A ciphertext does not open under the given key and context, or was altered after signing.

    The key, ``enc``, ``info``, ``aad`` or ciphertext differ from what the sender used; which
    one cannot be told apart, by design of the AEAD.
    """

    slug = "decryption-failed"
    title = "Decryption failed"


class WrongRecipient(DecryptionFailed):
    """An envelope names a recipient public key other than the one trying to open it."""

    slug = "wrong-recipient"
    title = "Sealed to another recipient"


class MalformedKey(InvalidInput, CryptoError):
    """Key bytes have the wrong length, or an X25519 public key is of small order."""

    slug = "malformed-key"
    title = "Malformed key"


class MessageLimitReached(CryptoError):
    """An HPKE context's sequence number would overflow (RFC 9180 §5.2); set up a new one."""

    slug = "message-limit-reached"
    title = "HPKE message limit reached"


class MalformedEnvelope(InvalidInput, CryptoError):
    """A payload envelope does not parse, or breaks a rule of its version's format."""

    slug = "malformed-envelope"
    title = "Malformed payload envelope"


class EnvelopeMismatch(CryptoError):
    """An envelope is bound to a consent or request other than the one the caller expects.

    This is what a replayed envelope looks like: authentic, but answering another request.
    """

    slug = "envelope-mismatch"
    title = "Envelope bound to another consent or request"
