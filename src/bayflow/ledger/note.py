"""Signed notes, as specified by c2sp.org/signed-note@v1.0.0.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
``— <key name> base64(key ID || signature)``. The text means nothing until a signature by a
trusted key verifies, so the only way to read a note's text as trusted is
:meth:`Note.verify`, which follows the spec's "Signatures" rules:

- a signature whose (name, key ID) matches no trusted key is ignored;
- a signature from a trusted key that fails rejects the whole note;
- a note with no verified signature from a trusted key is rejected.

Keys are plain objects satisfying :class:`NoteSigner` / :class:`NoteVerifier`. This module
supplies the Ed25519 ones (signature type ``0x01``) with their text encodings: verifier keys
``<name>+<hex key ID>+<base64(0x01 || public key)>`` and private keys
``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``, as Go's ``golang.org/x/mod/sumdb/note``
writes them. The timestamped cosignature keys (type ``0x04``) live in
:mod:`bayflow.ledger.cosignature`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import ClassVar, Final, Protocol, Self

from bayflow.crypto import ed25519
from bayflow.crypto.errors import InvalidSignature
from bayflow.ledger._text import decode_base64, encode_base64
from bayflow.ledger.errors import (
    MalformedKey,
    MalformedNote,
    NoteSignatureInvalid,
    UntrustedNote,
)

__all__ = [
    "ED25519_TYPE",
    "MAX_SIGNATURES",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "compute_key_id",
    "sign_note",
]

ED25519_TYPE: Final = 0x01
"""Signature type byte of plain Ed25519 note signatures (signed-note, "Signature types")."""

MAX_SIGNATURES: Final = 64
"""The spec requires accepting at least 16 signatures and asks verifiers to cap the number;
64 leaves room for many witnesses while bounding the work an attacker can ask for."""

_SIGNATURE_PREFIX: Final = "\N{EM DASH} "
_SKEY_PREFIX: Final = "PRIVATE+KEY+"
_KEY_ID: Final = re.compile(r"[0-9a-f]{8}", re.ASCII)
# Control characters other than newline are forbidden anywhere in a note (signed-note, "Format").
# Lone surrogates are refused with them: a str holding one has no UTF-8 encoding.
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f\ud800-\udfff]")


class NoteVerifier(Protocol):
    """A trusted public key: the (name, key ID) pair it answers to and how to check a signature.

    ``verify`` raises a :class:`~bayflow.errors.VerificationFailed` subclass on failure.
    """

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> None: ...


class NoteSigner(Protocol):
    """A private key that produces the signature bytes following the 4-byte key ID."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes: ...


def check_key_name(name: str, error: type[MalformedNote | MalformedKey]) -> None:
    """Key names are non-empty and hold no Unicode space and no ``+`` (signed-note, "Format")."""
    if not name or "+" in name or any(char.isspace() for char in name) or _CONTROL.search(name):
        raise error(f"{name!r} is not a valid note key name")


def compute_key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """SHA-256(key name || 0x0A || signature type || public key)[:4] as a big-endian uint32.

    This is the spec's RECOMMENDED key ID, and the REQUIRED one for Ed25519 (type 0x01) and
    Ed25519 cosignature (type 0x04) keys.
    """
    digest = sha256(name.encode() + b"\n" + bytes((signature_type,)) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: who claims to have signed (name and key ID) and the signature bytes.

    ``signature`` excludes the 4-byte key ID that prefixes it on the wire.
    """

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name, MalformedNote)
        if not 0 <= self.key_id <= 0xFFFFFFFF:
            raise MalformedNote("a note key ID is a 32-bit unsigned integer")
        if not self.signature:
            raise MalformedNote("a note signature must not be empty")

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        """Parse ``— <name> <base64>`` (without the newline)."""
        if not line.startswith(_SIGNATURE_PREFIX):
            raise MalformedNote("a note signature line must start with an em dash and a space")
        name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not space:
            raise MalformedNote("a note signature line needs a key name and a signature")
        raw = decode_base64(encoded, "note signature", MalformedNote)
        if len(raw) < 5:
            raise MalformedNote("a note signature must hold a key ID and signature bytes")
        return cls(name, int.from_bytes(raw[:4], "big"), raw[4:])

    def to_line(self) -> str:
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIGNATURE_PREFIX}{self.name} {encode_base64(raw)}"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise MalformedNote("note text must end with a newline")
    if _CONTROL.search(text):
        raise MalformedNote("note text must not contain control characters other than newline")


@dataclass(frozen=True, slots=True)
class Note:
    """A signed note: text plus at least one signature line, in their order on the wire.

    Constructing one checks the format only; nothing about the signatures is trusted until
    :meth:`verify` succeeds. Use :func:`sign_note` to create one from text.
    """

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text)
        if not self.signatures:
            raise MalformedNote("a signed note needs at least one signature")
        if len(self.signatures) > MAX_SIGNATURES:
            raise MalformedNote(f"a note may carry at most {MAX_SIGNATURES} signatures")
        keys = {(signature.name, signature.key_id) for signature in self.signatures}
        # Two lines for one key are either redundant or contradictory; a strict parser refuses
        # both, so that no two verifiers can reach different answers about the same note.
        if len(keys) != len(self.signatures):
            raise MalformedNote("a note carries two signatures from the same key")

    @classmethod
    def from_text(cls, note: str) -> Note:
        """Parse a whole signed note (text, blank line, signature lines) strictly."""
        if _CONTROL.search(note):
            raise MalformedNote("a note must not contain control characters other than newline")
        split = note.rfind("\n\n")
        if split < 0:
            raise MalformedNote("a note needs a blank line before its signatures")
        text, block = note[: split + 1], note[split + 2 :]
        if not block.endswith("\n"):
            raise MalformedNote("a note's signature lines must end with a newline")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise MalformedNote(f"a note may carry at most {MAX_SIGNATURES} signatures")
        return cls(text, tuple(NoteSignature.from_line(line) for line in lines))

    @classmethod
    def from_bytes(cls, note: bytes) -> Note:
        try:
            decoded = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNote("a note must be valid UTF-8") from None
        return cls.from_text(decoded)

    def to_text(self) -> str:
        lines = "".join(f"{signature.to_line()}\n" for signature in self.signatures)
        return f"{self.text}\n{lines}"

    def to_bytes(self) -> bytes:
        return self.to_text().encode()

    def with_signatures(self, *signers: NoteSigner) -> Note:
        """This note with one more signature per signer, appended in order."""
        message = self.text.encode()
        added = tuple(
            NoteSignature(signer.name, signer.key_id, signer.sign(message)) for signer in signers
        )
        return Note(self.text, self.signatures + added)

    def verify(self, verifiers: Iterable[NoteVerifier]) -> tuple[NoteSignature, ...]:
        """Check every signature from a trusted key and return those, in note order.

        Raises:
            NoteSignatureInvalid: (or the verifier's own error) a trusted key's signature
                fails; per the spec the whole note is then rejected.
            UntrustedNote: no signature comes from a trusted key.
        """
        trusted = {(verifier.name, verifier.key_id): verifier for verifier in verifiers}
        message = self.text.encode()
        verified = []
        for signature in self.signatures:
            verifier = trusted.get((signature.name, signature.key_id))
            if verifier is None:
                continue
            verifier.verify(message, signature.signature)
            verified.append(signature)
        if not verified:
            raise UntrustedNote("the note carries no signature from a trusted key")
        return tuple(verified)


def sign_note(text: str, *signers: NoteSigner) -> Note:
    """Sign ``text`` (which must end in a newline) with each signer, in order."""
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    _check_text(text)
    message = text.encode()
    return Note(
        text,
        tuple(
            NoteSignature(signer.name, signer.key_id, signer.sign(message)) for signer in signers
        ),
    )


def parse_vkey(vkey: str) -> tuple[str, int, int, bytes]:
    """Split ``<name>+<hex key ID>+<base64(type || key)>`` into its parts, checking the form.

    Returns ``(name, key_id, signature_type, key material)``. The key ID is not checked against
    the key here because its derivation depends on the signature type.
    """
    # Only the last part may hold "+", which is a base64 character.
    name, first, rest = vkey.partition("+")
    key_id_hex, second, encoded = rest.partition("+")
    if not (first and second):
        raise MalformedKey("a key has three parts: name, key ID and key material")
    check_key_name(name, MalformedKey)
    if _KEY_ID.fullmatch(key_id_hex) is None:
        raise MalformedKey("a key ID is written as 8 lowercase hex digits")
    raw = decode_base64(encoded, "key material", MalformedKey)
    if len(raw) < 2:
        raise MalformedKey("a key holds a signature type byte and key material")
    return name, int(key_id_hex, 16), raw[0], raw[1:]


def parse_skey(skey: str) -> tuple[str, int, int, bytes]:
    """Split ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`` like :func:`parse_vkey`."""
    if not skey.startswith(_SKEY_PREFIX):
        raise MalformedKey("a private note key starts with PRIVATE+KEY+")
    return parse_vkey(skey[len(_SKEY_PREFIX) :])


def format_vkey(name: str, key_id: int, signature_type: int, key: bytes) -> str:
    return f"{name}+{key_id:08x}+{encode_base64(bytes((signature_type,)) + key)}"


class _Ed25519VerifierKey:
    """What every Ed25519 verifier key of a signed note shares: name, key, key ID, vkey form.

    Subclasses set the signature type byte (``0x01`` for note signatures, ``0x04`` for
    timestamped cosignatures) and how a signature is checked.
    """

    __slots__ = ("_key_id", "_name", "_public_key")
    SIGNATURE_TYPE: ClassVar[int]
    KIND: ClassVar[str]

    def __init__(self, name: str, public_key: bytes) -> None:
        check_key_name(name, MalformedKey)
        if len(public_key) != ed25519.PUBLIC_KEY_SIZE:
            raise MalformedKey("an Ed25519 public key is 32 bytes")
        self._name = name
        self._public_key = bytes(public_key)
        self._key_id = compute_key_id(name, self.SIGNATURE_TYPE, public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse a verifier key; its key ID must be the one the name and key imply."""
        name, key_id, signature_type, key = parse_vkey(vkey)
        if signature_type != cls.SIGNATURE_TYPE:
            raise MalformedKey(
                f"expected {cls.KIND} (type {cls.SIGNATURE_TYPE:#04x}), "
                f"got type {signature_type:#04x}"
            )
        verifier = cls(name, key)
        if verifier.key_id != key_id:
            raise MalformedKey("the verifier key's ID does not match its name and key")
        return verifier

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def vkey(self) -> str:
        return format_vkey(self._name, self._key_id, self.SIGNATURE_TYPE, self._public_key)


class Ed25519Verifier(_Ed25519VerifierKey):
    """A trusted Ed25519 note key (signature type ``0x01``)."""

    __slots__ = ()
    SIGNATURE_TYPE = ED25519_TYPE
    KIND = "an Ed25519 key"

    def verify(self, message: bytes, signature: bytes) -> None:
        try:
            ed25519.verify(self._public_key, signature, message)
        except InvalidSignature as exc:
            raise NoteSignatureInvalid(
                f"the signature by {self._name} ({self._key_id:08x}) does not verify"
            ) from exc

    def __repr__(self) -> str:
        return f"Ed25519Verifier({self.vkey!r})"


class Ed25519Signer:
    """An Ed25519 note signing key (signature type ``0x01``)."""

    __slots__ = ("_key", "_key_id", "_name")

    def __init__(self, name: str, key: ed25519.SigningKey) -> None:
        check_key_name(name, MalformedKey)
        self._name = name
        self._key = key
        self._key_id = compute_key_id(name, ED25519_TYPE, key.public_key)

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, ed25519.SigningKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519Signer:
        """Parse a private key; its key ID must be the one the name and key imply."""
        name, key_id, signature_type, seed = parse_skey(skey)
        if signature_type != ED25519_TYPE:
            raise MalformedKey(
                f"expected an Ed25519 key (type 0x01), got type {signature_type:#04x}"
            )
        if len(seed) != ed25519.SEED_SIZE:
            raise MalformedKey("an Ed25519 private key is a 32-byte seed")
        signer = cls(name, ed25519.SigningKey(seed))
        if signer.key_id != key_id:
            raise MalformedKey("the private key's ID does not match its name and key")
        return signer

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def skey(self) -> str:
        """The ``PRIVATE+KEY+…`` encoding. It holds the secret seed."""
        return _SKEY_PREFIX + format_vkey(self._name, self._key_id, ED25519_TYPE, self._key.seed)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._key.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        # Never the seed: reprs end up in logs.
        return f"Ed25519Signer(name={self._name!r}, key_id={self._key_id:08x})"
