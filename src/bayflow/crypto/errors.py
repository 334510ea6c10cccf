"""Errors raised by :mod:`bayflow.crypto`.

::

    VerificationFailed          (bayflow.errors)
    └── CryptoError             a cryptographic check did not hold
        └── InvalidSignature    a signature does not verify under the given key

Primitives never return a bare ``False``: a failed check raises one of these, so a caller that
forgets to look at a result cannot accept a forgery.
"""

from __future__ import annotations

from bayflow.errors import VerificationFailed

__all__ = ["CryptoError", "InvalidSignature"]


class CryptoError(VerificationFailed):
    """A cryptographic check did not hold."""

    slug = "crypto-failed"
    title = "Cryptographic check failed"


class InvalidSignature(CryptoError):
    """A signature does not verify under the given public key, or is not well formed."""

    slug = "invalid-signature"
    title = "Invalid signature"
