"""Strict decoders shared by the C2SP text formats.

The specs say "base64" and "ASCII decimal with no leading zeroes"; Python's lenient defaults
(``base64.b64decode`` skipping junk, ``int()`` taking ``"+1"``, ``"1_000"`` or Arabic-Indic
digits) would accept several spellings of one value, so two parsers could disagree about what
a signed text says. These accept exactly one spelling.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from bayflow.ledger.errors import LedgerError

_DECIMAL: Final = re.compile(r"(?:0|[1-9][0-9]{0,19})", re.ASCII)
UINT64_MAX: Final = (1 << 64) - 1


def decode_base64(text: str, what: str, error: type[LedgerError]) -> bytes:
    """Standard padded base64 (RFC 4648 §4) in its one canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{what} is not valid base64") from None
    # Non-zero padding bits decode to the same bytes; re-encoding rejects them.
    if base64.b64encode(raw).decode("ascii") != text:
        raise error(f"{what} is not canonical base64")
    return raw


def encode_base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def decode_decimal(
    text: str, what: str, error: type[LedgerError], maximum: int = UINT64_MAX
) -> int:
    """An ASCII decimal with no sign, separators or leading zeroes, at most ``maximum``."""
    if _DECIMAL.fullmatch(text) is None:
        raise error(f"{what} is not a decimal number without leading zeroes")
    value = int(text)
    if value > maximum:
        raise error(f"{what} is larger than {maximum}")
    return value
