"""Errors raised by :mod:`bayflow.crypto`.

::

    VerificationFailed          (bayflow.errors)
    └── CryptoError             a cryptographic check did not hold
        ├── InvalidSignature    a signature does not verify under the given key
        ├── MalformedJOSE       a JWS, JWT or JWK breaks its RFC (also InvalidInput)
        │   └── UnsupportedAlgorithm   alg, kty or crv not accepted, or not the key's
        └── UnknownKey          no trusted key for the issuer and key id

Primitives never return a bare ``False``: a failed check raises one of these, so a caller that
forgets to look at a result cannot accept a forgery.
"""

from __future__ import annotations

from bayflow.errors import InvalidInput, VerificationFailed

__all__ = [
    "CryptoError",
    "InvalidSignature",
    "MalformedJOSE",
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
