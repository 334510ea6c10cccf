"""Year-to-date volumes: distinct individuals per exporter, counted by keyed pseudonym.

The thresholds of the CAC Provisions (100,000 / 1,000,000 individuals, 10,000 with sensitive
personal information) count distinct individuals since 1 January, across every transfer, so
splitting a transfer cannot dodge them. The hub keeps that count without ever holding an
identifier:

1. The exporter asks the hub for its *volume key* for the year (``GET
   /compliance/v1/volumes/key``): ``HMAC-SHA256(hub secret, "bayflow-volume-key/1" NUL exporter
   NUL year)``. The hub secret stays in ``keys/volume-pseudonym.key``; each exporter's key is
   different and changes every year, so pseudonyms cannot be linked across exporters or years.
2. The exporter pseudonymises each individual's identifier on its own machine
   (:func:`pseudonymise`: NFKC, spaces, hyphens and brackets removed, upper case, then
   HMAC-SHA256 under its key) and reports the hex pseudonyms, sensitive and non-sensitive apart.
3. The hub stores the pseudonyms it has not seen this year for this exporter and counts them.

The raw identifier never reaches the hub. An exporter that reports a person twice, or in two
transfers, is counted once; a person reported both with and without sensitive data counts in
both totals. Keyed pseudonyms are personal information still (PIPL Art. 73): the table is
protected like any other.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Final

from bayflow.compliance.errors import InvalidPseudonym
from bayflow.crypto.keyed_hash import KEY_SIZE, derive_key, hmac_sha256, new_key
from bayflow.errors import ConfigurationError

__all__ = [
    "PSEUDONYM_ALGORITHM",
    "VOLUME_KEY_FILE",
    "exporter_volume_key",
    "load_volume_secret",
    "normalise_identifier",
    "parse_pseudonym",
    "pseudonymise",
]

VOLUME_KEY_FILE: Final = "volume-pseudonym.key"
PSEUDONYM_ALGORITHM: Final = "HMAC-SHA256"
_KEY_LABEL: Final = "bayflow-volume-key/1"
_SEPARATORS: Final = re.compile(r"[\s\-()/.]")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def load_volume_secret(keys_dir: Path) -> bytes:
    """The hub's volume-pseudonym secret, created on first use (readable by the owner only)."""
    path = keys_dir / VOLUME_KEY_FILE
    if not path.exists():
        # Written under a private name and linked into place, so concurrent first uses agree.
        keys_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_key())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    secret = path.read_bytes()
    if len(secret) != KEY_SIZE:
        raise ConfigurationError(f"{path} is not a {KEY_SIZE}-byte key")
    return secret


def exporter_volume_key(secret: bytes, exporter: str, year: int) -> bytes:
    return derive_key(secret, _KEY_LABEL, exporter, str(year))


def normalise_identifier(identifier: str) -> str:
    """One written form per identifier: ``A123456(3)``, ``a 123456 3`` and full-width agree."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", identifier)).upper()
    # Upper-casing can leave a string that NFKC composes differently ("A" + U+0308 -> "Ä").
    text = unicodedata.normalize("NFKC", text)
    if not text:
        raise InvalidPseudonym("an empty identifier cannot be pseudonymised")
    return text


def pseudonymise(key: bytes, identifier: str) -> str:
    """The hex pseudonym an exporter reports for one individual's identifier."""
    return hmac_sha256(key, normalise_identifier(identifier).encode("utf-8")).hex()


def parse_pseudonym(text: str) -> bytes:
    """32 bytes from 64 lower-case hex digits, or :class:`InvalidPseudonym`."""
    if not isinstance(text, str) or not _HEX64.fullmatch(text):
        raise InvalidPseudonym("a pseudonym is 64 lower-case hex digits (HMAC-SHA256)")
    return bytes.fromhex(text)
