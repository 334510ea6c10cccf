"""Identifiers for things Bayflow creates: a short type prefix and 128 random bits.

``org_3kq4…`` reads as an organisation in a log line or a URL; the random part (base32,
lower case, 26 characters) is unguessable, so knowing one id reveals nothing about another.
"""

from __future__ import annotations

import base64
import re
import secrets

from bayflow.errors import InvalidInput

__all__ = ["check_id", "new_id"]

_ID = re.compile(r"[a-z]{2,8}_[a-z2-7]{26}")


def new_id(prefix: str) -> str:
    token = base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()
    return f"{prefix}_{token}"


def check_id(value: str, prefix: str) -> str:
    """Return ``value`` if it is a well-formed id with ``prefix``, else raise InvalidInput."""
    if not _ID.fullmatch(value) or not value.startswith(prefix + "_"):
        raise InvalidInput(f"{value!r} is not a valid {prefix} id")
    return value
