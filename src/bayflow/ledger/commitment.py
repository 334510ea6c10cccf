"""Salted commitments: what a participant anchors instead of its data (issue 4, point 6).

The hub never sees a document or a record, only a 32-byte commitment to it. This module computes
commitments on the participant's machine, writes the secret needed to open one later, and
checks an opening. It is pure: the caller reads and writes the files.

Construction
============

Every string below is UTF-8 and every part is length-prefixed, ``lp(x) = u64be(len(x)) || x``,
so the encoding of a tuple of parts is injective: no two different tuples hash the same bytes,
whatever the parts contain. ``H`` is SHA-256. ::

    commitment   = H( lp("bayflow/commitment/v1") || lp(kind) || lp(salt)
                      || lp(schema) || lp(issuer) || lp(content) )

- ``kind`` is the ledger entry kind (:class:`~bayflow.ledger.entry.EntryKind`): ``document``
  and the other byte-content kinds, ``record`` or ``record-fields``. Binding it means the same
  bytes committed as a file and as a record give unrelated commitments.
- ``salt`` is 32 bytes (256 bits) from the operating system's CSPRNG, fresh for every
  commitment. It never leaves the participant except inside a file it chooses to hand over.
- ``schema`` and ``issuer`` are the entry's metadata, so the log entry's claim ("issuer I
  committed to content of schema S") is bound to the content, not merely stored beside it.
- ``content`` is the file's raw bytes (``document`` and the other byte kinds); the RFC 8785
  canonical JSON of the record (``record``); or, for ``record-fields``, the concatenation of
  the record's sorted field digests (below).

The domain strings (``bayflow/commitment/v1`` here, ``…/field`` for field digests) keep the
two hashes apart from each other and from every other SHA-256 input in Bayflow; a new
construction gets a new domain string, never a reinterpretation of an old one.

Why a salt (the security argument)
----------------------------------

A bare hash of a low-entropy value can be inverted by trying every candidate: an HKID number, a
loan amount or a date has at most a few billion values, which a laptop hashes in minutes. With
the salt, each guess also has to guess 256 unknown bits, so the commitment reveals nothing about
the content to anyone without the salt (SHA-256 modelled as a random oracle: hiding), while
nobody can find two different openings of one commitment (collision resistance: binding). The
cost of a brute-force search is 2^256 per candidate, not 1.

Field-by-field records (selective disclosure, in the style of SD-JWT, RFC 9901 §4.2)
-------------------------------------------------------------------------------------

A JSON object can be committed so that its holder can later reveal chosen top-level fields
only. Each field ``(name, value)`` gets its own fresh 32-byte salt and a digest::

    field digest = H( lp("bayflow/commitment/v1/field") || lp(field salt)
                      || lp(name) || lp(RFC 8785 canonical JSON of value) )

Decoy digests (32 random bytes each, indistinguishable from real digests) pad the list to
:func:`padded_count` entries — the next power of two, and at least 16 — so the list shows only
a bucket for the number of fields. The list is sorted bytewise, so its order reveals nothing
about the record's field order, and the sorted concatenation is the ``content`` of a
``record-fields`` commitment. Disclosing a field hands over its ``(salt, name, value)``; the
verifier recomputes the field digest, finds it in the list, and recomputes the commitment from
the list. Each undisclosed digest stays hidden behind its own salt, exactly as above.

Files
=====

Both files are single UTF-8 JSON objects with exactly the members listed (no more, no fewer),
no duplicate member names, and lowercase hex for every binary value (64 hex digits for 32
bytes). Unknown ``type`` versions are refused.

``FILE.salt`` — the secret that opens a commitment (keep it like a key; mode 0600)::

    {"type": "bayflow-salt/1", "kind": "document", "schema": "...", "issuer": "org_...",
     "salt": "<hex>", "commitment": "<hex>"}

A ``record-fields`` secret also has ``"fields": {"<name>": "<hex field salt>", ...}`` (one per
top-level field of the record) and ``"decoys": ["<hex>", ...]``. ``commitment`` is redundant (it
can be recomputed) and is kept so that a verifier can tell "the content or salt is wrong" from
"the proof is for another entry".

``R.disclosed.json`` — a partial disclosure of a ``record-fields`` commitment::

    {"type": "bayflow-disclosure/1", "kind": "record-fields", "schema": "...",
     "issuer": "org_...", "salt": "<hex>", "commitment": "<hex>",
     "digests": ["<hex>", ...],                      (sorted, all field and decoy digests)
     "disclosed": [["<hex field salt>", "<name>", <value>], ...]}   (sorted by name)

It reveals the disclosed fields and the bucket size of the record; nothing else.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Self

import rfc8785

from bayflow.errors import InvalidInput
from bayflow.ledger.entry import DIGEST_SIZE, Entry, EntryKind
from bayflow.ledger.errors import ContentMismatch, MalformedCommitment

__all__ = [
    "DISCLOSURE_TYPE",
    "DOMAIN",
    "FIELD_DOMAIN",
    "MAX_FIELDS",
    "SALT_SIZE",
    "SALT_TYPE",
    "CommitmentSecret",
    "FieldDisclosure",
    "RecordDisclosure",
    "canonical_json",
    "commit",
    "commit_chunks",
    "commit_document",
    "commit_record",
    "commit_record_fields",
    "disclose",
    "field_digest",
    "new_salt",
    "padded_count",
    "parse_record",
    "verify_content",
    "verify_content_chunks",
]

DOMAIN: Final = b"bayflow/commitment/v1"
FIELD_DOMAIN: Final = b"bayflow/commitment/v1/field"
SALT_SIZE: Final = 32
SALT_TYPE: Final = "bayflow-salt/1"
DISCLOSURE_TYPE: Final = "bayflow-disclosure/1"

MIN_DIGESTS: Final = 16
MAX_FIELDS: Final = 4096
"""A record committed field by field has at most this many top-level fields (and digests)."""

_BYTE_KINDS: Final = frozenset(EntryKind) - {
    EntryKind.RECORD,
    EntryKind.RECORD_FIELDS,
    # A revocation's digest is the revoked commitment, not a salted commitment to content.
    EntryKind.REVOCATION,
}
_HEX32: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)


def _lp(part: bytes) -> bytes:
    return len(part).to_bytes(8, "big") + part


def new_salt() -> bytes:
    """A fresh 256-bit salt from the operating system's CSPRNG."""
    return secrets.token_bytes(SALT_SIZE)


def _check_salt(salt: bytes, what: str = "a salt") -> None:
    if len(salt) != SALT_SIZE:
        raise MalformedCommitment(f"{what} is {SALT_SIZE} bytes")


def commit_chunks(
    kind: EntryKind,
    salt: bytes,
    schema: str,
    issuer: str,
    chunks: Iterable[bytes],
    *,
    length: int,
) -> bytes:
    """The commitment to content given as ``chunks`` totalling ``length`` bytes.

    Streaming lets a large file be committed without reading it into memory; its length must be
    known first because it is the prefix of the content part.

    Raises:
        ContentMismatch: the chunks do not add up to ``length`` (the file changed while read).
    """
    _check_salt(salt)
    hasher = hashlib.sha256()
    for part in (DOMAIN, kind.value.encode(), salt, schema.encode(), issuer.encode()):
        hasher.update(_lp(part))
    hasher.update(length.to_bytes(8, "big"))
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        hasher.update(chunk)
    if seen != length:
        raise ContentMismatch(f"the content was {seen} bytes long, expected {length}")
    return hasher.digest()


def commit(kind: EntryKind, salt: bytes, schema: str, issuer: str, content: bytes) -> bytes:
    """``H(lp(DOMAIN) || lp(kind) || lp(salt) || lp(schema) || lp(issuer) || lp(content))``."""
    return commit_chunks(kind, salt, schema, issuer, (content,), length=len(content))


def field_digest(salt: bytes, name: str, value: Any) -> bytes:
    """``H(lp(FIELD_DOMAIN) || lp(salt) || lp(name) || lp(JCS(value)))`` for one field."""
    _check_salt(salt, "a field salt")
    parts = (FIELD_DOMAIN, salt, name.encode(), canonical_json(value))
    return hashlib.sha256(b"".join(_lp(part) for part in parts)).digest()


def padded_count(fields: int) -> int:
    """How many digests a record of ``fields`` fields commits to: a power of two, at least 16."""
    if not 0 <= fields <= MAX_FIELDS:
        raise InvalidInput(f"a record committed field by field has at most {MAX_FIELDS} fields")
    return max(MIN_DIGESTS, 1 << max(fields - 1, 0).bit_length())


# JSON.


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        # Two parsers may keep different duplicates, so a record with them has no one meaning.
        raise ValueError("duplicate member name")
    return members


def _loads(data: bytes | str, what: str, error: type[InvalidInput]) -> Any:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_unique_members, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from exc


def parse_record(data: bytes | str, what: str = "the record") -> dict[str, Any]:
    """A record: a strict JSON object (UTF-8, unique member names, finite numbers)."""
    value = _loads(data, what, InvalidInput)
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} is not a JSON object")
    return value


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON of ``value``.

    Raises:
        InvalidInput: the value is outside I-JSON, e.g. an integer beyond ±2**53, which JSON
            numbers (IEEE doubles) cannot carry exactly; write such a value as a string.
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput(f"value cannot be canonicalised (RFC 8785): {exc}") from exc


def _hex(value: bytes) -> str:
    return value.hex()


def _unhex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or _HEX32.fullmatch(value) is None:
        raise MalformedCommitment(f"{what} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedCommitment(f"{what} must be a string")
    return value


def _members(data: Any, expected: Collection[str], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedCommitment(f"{what} is not a JSON object")
    if set(data) != set(expected):
        missing = sorted(set(expected) - set(data))
        extra = sorted(set(data) - set(expected))
        raise MalformedCommitment(f"{what} has missing members {missing} or unknown ones {extra}")
    return data


def _kind(value: Any) -> EntryKind:
    try:
        return EntryKind(_text(value, "kind"))
    except ValueError:
        raise MalformedCommitment(f"unknown commitment kind {value!r}") from None


# The secret file.

_SECRET_MEMBERS: Final = ("type", "kind", "schema", "issuer", "salt", "commitment")
_FIELD_MEMBERS: Final = (*_SECRET_MEMBERS, "fields", "decoys")


@dataclass(frozen=True, slots=True)
class CommitmentSecret:
    """What opens one commitment: its kind, metadata and salt(s); the ``FILE.salt`` file.

    ``fields`` (name to field salt) and ``decoys`` are set for ``record-fields`` commitments only
    and empty otherwise. Holding this and the content is enough to prove the content was
    anchored; holding this alone lets anyone test guesses of the content, so it is a secret.
    """

    kind: EntryKind
    schema: str
    issuer: str
    salt: bytes
    commitment: bytes
    fields: Mapping[str, bytes] = field(default_factory=dict)
    decoys: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _check_salt(self.salt)
        if self.kind is EntryKind.REVOCATION:
            raise MalformedCommitment("a revocation is not a commitment to content")
        # The entry's own checks (printable ASCII schema and issuer, 32-byte digest) apply.
        self.entry()
        if self.kind is EntryKind.RECORD_FIELDS:
            for salt in self.fields.values():
                _check_salt(salt, "a field salt")
            if any(len(decoy) != DIGEST_SIZE for decoy in self.decoys):
                raise MalformedCommitment("a decoy digest is 32 bytes")
            if len(self.fields) + len(self.decoys) > MAX_FIELDS:
                raise MalformedCommitment(f"a record commits to at most {MAX_FIELDS} digests")
        elif self.fields or self.decoys:
            raise MalformedCommitment(f"a {self.kind.value} commitment has no field salts")

    def entry(self) -> Entry:
        """The ledger entry that anchors this commitment."""
        return Entry(self.kind, self.commitment, self.schema, self.issuer)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": SALT_TYPE,
            "kind": self.kind.value,
            "schema": self.schema,
            "issuer": self.issuer,
            "salt": _hex(self.salt),
            "commitment": _hex(self.commitment),
        }
        if self.kind is EntryKind.RECORD_FIELDS:
            data["fields"] = {name: _hex(salt) for name, salt in sorted(self.fields.items())}
            data["decoys"] = [_hex(decoy) for decoy in self.decoys]
        return data

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse strictly: the exact members of ``bayflow-salt/1`` for the kind, hex values."""
        if not isinstance(data, dict) or data.get("type") != SALT_TYPE:
            raise MalformedCommitment(f"not a salt file (expected type {SALT_TYPE})")
        kind = _kind(data.get("kind"))
        is_fields = kind is EntryKind.RECORD_FIELDS
        _members(data, _FIELD_MEMBERS if is_fields else _SECRET_MEMBERS, "the salt file")
        fields: dict[str, bytes] = {}
        decoys: tuple[bytes, ...] = ()
        if is_fields:
            raw_fields, raw_decoys = data["fields"], data["decoys"]
            if not isinstance(raw_fields, dict) or not isinstance(raw_decoys, list):
                raise MalformedCommitment("fields is an object and decoys a list")
            fields = {name: _unhex(salt, f"salt of {name!r}") for name, salt in raw_fields.items()}
            decoys = tuple(_unhex(decoy, "a decoy digest") for decoy in raw_decoys)
        return cls(
            kind,
            _text(data["schema"], "schema"),
            _text(data["issuer"], "issuer"),
            _unhex(data["salt"], "salt"),
            _unhex(data["commitment"], "commitment"),
            fields,
            decoys,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls.from_json(_loads(data, "the salt file", MalformedCommitment))


def _field_digests(
    record: Mapping[str, Any], salts: Mapping[str, bytes], decoys: Iterable[bytes]
) -> list[bytes]:
    digests = [field_digest(salts[name], name, value) for name, value in record.items()]
    digests.extend(decoys)
    digests.sort()
    return digests


def commit_document(
    content: bytes,
    schema: str,
    issuer: str,
    *,
    kind: EntryKind = EntryKind.DOCUMENT,
    salt: bytes | None = None,
) -> CommitmentSecret:
    """Commit to raw bytes with a fresh salt (or ``salt``, for known-answer tests)."""
    if kind not in _BYTE_KINDS:
        raise InvalidInput(f"kind {kind.value!r} does not commit to raw bytes")
    salt = new_salt() if salt is None else salt
    return CommitmentSecret(kind, schema, issuer, salt, commit(kind, salt, schema, issuer, content))


def commit_record(
    record: Mapping[str, Any], schema: str, issuer: str, *, salt: bytes | None = None
) -> CommitmentSecret:
    """Commit to a record whole: its RFC 8785 canonical JSON, salted."""
    salt = new_salt() if salt is None else salt
    content = canonical_json(record)
    kind = EntryKind.RECORD
    return CommitmentSecret(kind, schema, issuer, salt, commit(kind, salt, schema, issuer, content))


def commit_record_fields(record: Mapping[str, Any], schema: str, issuer: str) -> CommitmentSecret:
    """Commit to a record field by field, padded with decoys, so fields can be disclosed alone."""
    count = padded_count(len(record))
    salts = {name: new_salt() for name in record}
    decoys = tuple(secrets.token_bytes(DIGEST_SIZE) for _ in range(count - len(record)))
    salt = new_salt()
    kind = EntryKind.RECORD_FIELDS
    content = b"".join(_field_digests(record, salts, decoys))
    commitment = commit(kind, salt, schema, issuer, content)
    return CommitmentSecret(kind, schema, issuer, salt, commitment, salts, decoys)


def _record_fields_content(secret: CommitmentSecret, record: Mapping[str, Any]) -> bytes:
    if set(record) != set(secret.fields):
        raise ContentMismatch("the record's fields are not the ones that were committed")
    return b"".join(_field_digests(record, secret.fields, secret.decoys))


def verify_content(secret: CommitmentSecret, content: bytes) -> None:
    """Check that ``content`` (a file's bytes, or a record's JSON) opens ``secret.commitment``.

    Raises:
        ContentMismatch: the content or the salt is not the committed one.
        InvalidInput: a record commitment's content is not a JSON object.
    """
    verify_content_chunks(secret, (content,), length=len(content))


def verify_content_chunks(
    secret: CommitmentSecret, chunks: Iterable[bytes], *, length: int
) -> None:
    """:func:`verify_content` for content read in chunks (large files are not held in memory)."""
    kind = secret.kind
    if kind in _BYTE_KINDS:
        recomputed = commit_chunks(
            kind, secret.salt, secret.schema, secret.issuer, chunks, length=length
        )
    else:
        record = parse_record(b"".join(chunks))
        if kind is EntryKind.RECORD:
            content = canonical_json(record)
        else:
            content = _record_fields_content(secret, record)
        recomputed = commit(kind, secret.salt, secret.schema, secret.issuer, content)
    if not secrets.compare_digest(recomputed, secret.commitment):
        raise ContentMismatch(
            f"the content or its salt does not match the {kind.value} commitment "
            f"{secret.commitment.hex()}"
        )


# Partial disclosures.


@dataclass(frozen=True, slots=True)
class FieldDisclosure:
    """One revealed field: ``[salt, name, value]``, as an SD-JWT object-property disclosure."""

    salt: bytes
    name: str
    value: Any

    def __post_init__(self) -> None:
        _check_salt(self.salt, "a field salt")

    @property
    def digest(self) -> bytes:
        return field_digest(self.salt, self.name, self.value)

    def to_json(self) -> list[Any]:
        return [_hex(self.salt), self.name, self.value]

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if not isinstance(data, list) or len(data) != 3:
            raise MalformedCommitment("a disclosed field is a [salt, name, value] array")
        salt, name, value = data
        return cls(_unhex(salt, "a disclosed field's salt"), _text(name, "a field name"), value)


_DISCLOSURE_MEMBERS: Final = (
    "type",
    "kind",
    "schema",
    "issuer",
    "salt",
    "commitment",
    "digests",
    "disclosed",
)


@dataclass(frozen=True, slots=True)
class RecordDisclosure:
    """Some fields of a ``record-fields`` commitment, and what a verifier needs to check them.

    ``digests`` is the commitment's whole sorted digest list (fields and decoys); ``disclosed``
    is sorted by field name. Construction checks the format only; :meth:`verify` checks that
    the disclosed values are the committed ones.
    """

    schema: str
    issuer: str
    salt: bytes
    commitment: bytes
    digests: tuple[bytes, ...]
    disclosed: tuple[FieldDisclosure, ...]

    def __post_init__(self) -> None:
        _check_salt(self.salt)
        self.entry()
        if not 0 < len(self.digests) <= MAX_FIELDS:
            raise MalformedCommitment(f"a disclosure lists 1 to {MAX_FIELDS} digests")
        if any(len(digest) != DIGEST_SIZE for digest in self.digests):
            raise MalformedCommitment("a field digest is 32 bytes")
        # Strictly ascending: one canonical order, and no digest listed twice.
        if any(a >= b for a, b in zip(self.digests, self.digests[1:], strict=False)):
            raise MalformedCommitment("the digests must be sorted and distinct")
        names = [item.name for item in self.disclosed]
        if names != sorted(set(names)):
            raise MalformedCommitment("disclosed fields must be sorted by name, each once")

    @property
    def kind(self) -> EntryKind:
        return EntryKind.RECORD_FIELDS

    def entry(self) -> Entry:
        return Entry(EntryKind.RECORD_FIELDS, self.commitment, self.schema, self.issuer)

    def verify(self) -> dict[str, Any]:
        """Check the disclosed fields against the commitment and return them as a record.

        Raises:
            ContentMismatch: a disclosed value is not the committed one, or the digest list
                does not give the commitment.
        """
        listed = frozenset(self.digests)
        for item in self.disclosed:
            if item.digest not in listed:
                raise ContentMismatch(
                    f"the disclosed value of field {item.name!r} does not match its commitment"
                )
        content = b"".join(self.digests)
        recomputed = commit(self.kind, self.salt, self.schema, self.issuer, content)
        if not secrets.compare_digest(recomputed, self.commitment):
            raise ContentMismatch(
                f"the disclosed digests do not give the commitment {self.commitment.hex()}"
            )
        return {item.name: item.value for item in self.disclosed}

    def to_json(self) -> dict[str, Any]:
        return {
            "type": DISCLOSURE_TYPE,
            "kind": self.kind.value,
            "schema": self.schema,
            "issuer": self.issuer,
            "salt": _hex(self.salt),
            "commitment": _hex(self.commitment),
            "digests": [_hex(digest) for digest in self.digests],
            "disclosed": [item.to_json() for item in self.disclosed],
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if not isinstance(data, dict) or data.get("type") != DISCLOSURE_TYPE:
            raise MalformedCommitment(f"not a disclosure file (expected type {DISCLOSURE_TYPE})")
        _members(data, _DISCLOSURE_MEMBERS, "the disclosure file")
        if _kind(data["kind"]) is not EntryKind.RECORD_FIELDS:
            raise MalformedCommitment("only record-fields commitments can be disclosed in part")
        digests, disclosed = data["digests"], data["disclosed"]
        if not isinstance(digests, list) or not isinstance(disclosed, list):
            raise MalformedCommitment("digests and disclosed are lists")
        return cls(
            _text(data["schema"], "schema"),
            _text(data["issuer"], "issuer"),
            _unhex(data["salt"], "salt"),
            _unhex(data["commitment"], "commitment"),
            tuple(_unhex(digest, "a field digest") for digest in digests),
            tuple(FieldDisclosure.from_json(item) for item in disclosed),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls.from_json(_loads(data, "the disclosure file", MalformedCommitment))


def disclose(
    secret: CommitmentSecret, record: Mapping[str, Any], names: Iterable[str]
) -> RecordDisclosure:
    """A disclosure of the fields ``names`` of ``record``, committed field by field in ``secret``.

    The record is checked against the commitment first, so a holder cannot hand over a
    disclosure that would fail.

    Raises:
        InvalidInput: the commitment is not field by field, or a name is not a field.
        ContentMismatch: the record is not the committed one.
    """
    if secret.kind is not EntryKind.RECORD_FIELDS:
        raise InvalidInput(
            f"a {secret.kind.value} commitment cannot be disclosed in part; "
            "anchor the record with --fields"
        )
    content = _record_fields_content(secret, record)
    recomputed = commit(secret.kind, secret.salt, secret.schema, secret.issuer, content)
    if not secrets.compare_digest(recomputed, secret.commitment):
        raise ContentMismatch("the record or its salts do not match the commitment")
    chosen = sorted(set(names))
    unknown = [name for name in chosen if name not in record]
    if unknown:
        raise InvalidInput(f"the record has no field(s) {', '.join(map(repr, unknown))}")
    return RecordDisclosure(
        secret.schema,
        secret.issuer,
        secret.salt,
        secret.commitment,
        tuple(sorted(content[i : i + DIGEST_SIZE] for i in range(0, len(content), DIGEST_SIZE))),
        tuple(FieldDisclosure(secret.fields[name], name, record[name]) for name in chosen),
    )
