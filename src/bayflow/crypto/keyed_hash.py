"""Keyed hashing: HMAC-SHA256 (RFC 2104, FIPS 198-1) for pseudonyms and derived keys.

Domain code pseudonymises identifiers with :func:`hmac_sha256` under a secret key, never with a
bare or salted hash: a salted SHA-256 of an 11-digit phone number falls to a search of ~10^10
candidates, an HMAC without the key does not. :func:`derive_key` gives independent keys for
different purposes (or parties, or years) from one managed secret, with the label as the HMAC
message; labels must be unambiguous, so callers join their parts with a NUL byte.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

__all__ = ["KEY_SIZE", "derive_key", "hmac_sha256", "new_key"]

KEY_SIZE: Final = 32


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return secrets.token_bytes(KEY_SIZE)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    if len(key) < KEY_SIZE:
        raise ValueError(f"an HMAC key needs at least {KEY_SIZE} bytes")
    return hmac.new(key, message, hashlib.sha256).digest()


def derive_key(master: bytes, *label: str) -> bytes:
    """A 32-byte key for one purpose, derived from ``master`` and the label's parts."""
    if not label or any("\x00" in part for part in label):
        raise ValueError("a key label has one or more parts, none containing NUL")
    return hmac_sha256(master, "\x00".join(label).encode("utf-8"))
