"""The bytes of one ledger entry: a commitment and its metadata, version 1.

The log's leaves are these bytes (RFC 9162 hashes them with the 0x00 leaf prefix); the entry
bundles served under ``tile/entries/`` hold them verbatim, so any auditor can decode every
entry with this description alone::

    entry   = version kind digest schema issuer
    version = %x01                      ; this layout
    kind    = u8-length ASCII           ; what the digest commits to (see EntryKind)
    digest  = 32 bytes                  ; SHA-256 commitment computed by the participant
    schema  = u8-length ASCII           ; the content's schema, e.g. "vat-annual-summary/1"
    issuer  = u8-length ASCII           ; the anchoring organisation, e.g. "org_…"

Strings are printable ASCII (0x21–0x7E), 1 to 255 bytes. There is deliberately no timestamp and
no free text: an entry says only what the participant committed to, so its bytes depend on
nothing but the submission and a resubmission maps to the same entry. A revocation is an entry
of kind ``revocation`` whose digest is the revoked commitment, anchored by its issuer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Self

from bayflow.ledger.errors import MalformedEntry

__all__ = ["DIGEST_SIZE", "ENTRY_VERSION", "Entry", "EntryKind"]

ENTRY_VERSION: Final = 1
DIGEST_SIZE: Final = 32


class EntryKind(StrEnum):
    """The kinds of commitment the hub accepts. New kinds are added here, never reused."""

    DOCUMENT = "document"  # raw bytes of a file
    RECORD = "record"  # RFC 8785 canonical JSON of a record, committed whole
    RECORD_FIELDS = "record-fields"  # a record committed field by field (selective disclosure)
    REVOCATION = "revocation"  # withdraws a commitment the same issuer anchored
    CONSENT_EVENT = "consent-event"  # a signed consent lifecycle event
    ACCESS_RECEIPT = "access-receipt"  # a delivery of data under a consent
    DELETION_RECEIPT = "deletion-receipt"  # a consumer's purge of data at end of life
    SIGNATURE = "signature"  # a digital signature made through Corp ID
    DECISION = "decision"  # a compliance decision


# One regular expression instead of a per-byte loop: every anchored entry passes here twice, and
# the loop was a third of the cost of anchoring a batch.
_PRINTABLE: Final = re.compile(rb"[\x21-\x7e]{1,255}")


def _check_text(value: str, what: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedEntry(f"entry {what} must be ASCII") from exc
    if _PRINTABLE.fullmatch(raw) is None:
        raise MalformedEntry(f"entry {what} must be 1-255 printable ASCII characters, no spaces")
    return raw


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    digest: bytes
    schema: str
    issuer: str

    def __post_init__(self) -> None:
        if len(self.digest) != DIGEST_SIZE:
            raise MalformedEntry(f"entry digest must be {DIGEST_SIZE} bytes")
        _check_text(self.schema, "schema")
        _check_text(self.issuer, "issuer")

    def to_bytes(self) -> bytes:
        kind = self.kind.value.encode("ascii")
        schema = self.schema.encode("ascii")
        issuer = self.issuer.encode("ascii")
        return b"".join(
            (
                bytes((ENTRY_VERSION, len(kind))),
                kind,
                self.digest,
                bytes((len(schema),)),
                schema,
                bytes((len(issuer),)),
                issuer,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Strictly decode: the version, every length, and no trailing bytes."""
        view = memoryview(data)
        if len(view) < 2 or view[0] != ENTRY_VERSION:
            raise MalformedEntry("not a version 1 ledger entry")
        pos = 1

        def take(n: int) -> bytes:
            nonlocal pos
            if pos + n > len(view):
                raise MalformedEntry("ledger entry is truncated")
            chunk = bytes(view[pos : pos + n])
            pos += n
            return chunk

        def text(what: str) -> str:
            raw = take(take(1)[0])
            _check_text(raw.decode("ascii", errors="replace"), what)
            return raw.decode("ascii")

        kind_text = text("kind")
        try:
            kind = EntryKind(kind_text)
        except ValueError as exc:
            raise MalformedEntry(f"unknown ledger entry kind {kind_text!r}") from exc
        digest = take(DIGEST_SIZE)
        schema = text("schema")
        issuer = text("issuer")
        if pos != len(view):
            raise MalformedEntry("ledger entry has trailing bytes")
        return cls(kind, digest, schema, issuer)
