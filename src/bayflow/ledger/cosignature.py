"""Witness cosignatures, as specified by c2sp.org/tlog-cosignature (Ed25519, ``cosignature/v1``).

A cosignature is a signed-note signature (type ``0x04``) whose bytes are
``timestamp (big-endian u64) || Ed25519 signature`` over the message::

    cosignature/v1
    time <timestamp>
    <checkpoint note text>

It states that, at ``timestamp``, the witness had verified that the checkpoint is consistent
with everything it had seen of the log. :class:`WitnessPolicy` turns a set of trusted
witnesses and a quorum into one check: "at least M of these cosigned". The ML-DSA-44
cosignature type of the same spec is not implemented.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bayflow.crypto import ed25519
from bayflow.crypto.errors import InvalidSignature
from bayflow.ledger.errors import CosignatureInvalid, MalformedKey, TooFewCosignatures
from bayflow.ledger.note import (
    Note,
    NoteSignature,
    _Ed25519VerifierKey,
    check_key_name,
    compute_key_id,
    format_vkey,
    parse_skey,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "Cosignature",
    "CosignatureSigner",
    "CosignatureVerifier",
    "WitnessPolicy",
    "cosign",
    "cosigned_message",
]

COSIGNATURE_TYPE: Final = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (signed-note, "Signature types")."""

_HEADER: Final = b"cosignature/v1\ntime "
_SIGNATURE_SIZE: Final = 8 + ed25519.SIGNATURE_SIZE
_MAX_TIMESTAMP: Final = (1 << 63) - 1


def cosigned_message(note_text: bytes, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosignature signs (tlog-cosignature, "Ed25519 signed message")."""
    return b"%s%d\n%s" % (_HEADER, timestamp, note_text)


def _timestamp(now: datetime | int) -> int:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("cosignature times must be timezone-aware")
        # POSIX seconds, truncated: a cosignature cannot claim a time later than it was made.
        seconds = int(now.timestamp())
    else:
        seconds = now
    if not 0 <= seconds <= _MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp is between 0 and 2**63 - 1")
    return seconds


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: which witness, and the POSIX time it claims to have signed at."""

    name: str
    key_id: int
    timestamp: int


class CosignatureVerifier(_Ed25519VerifierKey):
    """A trusted witness key for Ed25519 ``cosignature/v1`` signatures (type ``0x04``).

    It satisfies :class:`~bayflow.ledger.note.NoteVerifier`, so a checkpoint's cosignatures are
    checked with the same :meth:`Note.verify` as the log's signature.
    """

    __slots__ = ()
    SIGNATURE_TYPE = COSIGNATURE_TYPE
    KIND = "a cosignature key"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check a ``timestamped_signature`` over the note text ``message``.

        Raises:
            CosignatureInvalid: wrong length, a timestamp above 2**63 - 1, or a bad signature.
        """
        self.verify_timestamped(message, signature)

    def verify_timestamped(self, message: bytes, signature: bytes) -> int:
        """Like :meth:`verify`, returning the verified timestamp."""
        if len(signature) != _SIGNATURE_SIZE:
            raise CosignatureInvalid(f"the cosignature by {self._name} has the wrong length")
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            raise CosignatureInvalid(f"the cosignature by {self._name} has an invalid timestamp")
        try:
            ed25519.verify(self._public_key, signature[8:], cosigned_message(message, timestamp))
        except InvalidSignature as exc:
            raise CosignatureInvalid(
                f"the cosignature by {self._name} ({self._key_id:08x}) does not verify"
            ) from exc
        return timestamp

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.vkey!r})"


class CosignatureSigner:
    """A witness's Ed25519 cosigning key.

    It is not a :class:`~bayflow.ledger.note.NoteSigner` on its own, because every cosignature
    carries a time: :meth:`at` binds one and returns a signer that is.
    """

    __slots__ = ("_key", "_key_id", "_name")

    def __init__(self, name: str, key: ed25519.SigningKey) -> None:
        check_key_name(name, MalformedKey)
        self._name = name
        self._key = key
        self._key_id = compute_key_id(name, COSIGNATURE_TYPE, key.public_key)

    @classmethod
    def generate(cls, name: str) -> CosignatureSigner:
        return cls(name, ed25519.SigningKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> CosignatureSigner:
        """Parse ``PRIVATE+KEY+<name>+<id>+base64(0x04 || seed)``, the vkey form's private twin."""
        name, key_id, signature_type, seed = parse_skey(skey)
        if signature_type != COSIGNATURE_TYPE:
            raise MalformedKey(
                f"expected a cosignature key (type 0x04), got type {signature_type:#04x}"
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
        vkey = format_vkey(self._name, self._key_id, COSIGNATURE_TYPE, self._key.seed)
        return f"PRIVATE+KEY+{vkey}"

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self._name, self._key.public_key)

    def sign_at(self, message: bytes, now: datetime | int) -> bytes:
        """The ``timestamped_signature`` of note text ``message`` at ``now`` (POSIX seconds)."""
        timestamp = _timestamp(now)
        signature = self._key.sign(cosigned_message(message, timestamp))
        return timestamp.to_bytes(8, "big") + signature

    def at(self, now: datetime | int) -> _TimedCosigner:
        """A :class:`~bayflow.ledger.note.NoteSigner` that cosigns at the fixed time ``now``."""
        return _TimedCosigner(self, _timestamp(now))

    def __repr__(self) -> str:
        return f"CosignatureSigner(name={self._name!r}, key_id={self._key_id:08x})"


class _TimedCosigner:
    __slots__ = ("_signer", "_timestamp")

    def __init__(self, signer: CosignatureSigner, timestamp: int) -> None:
        self._signer = signer
        self._timestamp = timestamp

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def key_id(self) -> int:
        return self._signer.key_id

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign_at(message, self._timestamp)


def cosign(note: Note, signer: CosignatureSigner, now: datetime | int) -> Note:
    """``note`` with the witness's cosignature at ``now`` appended.

    This only signs: a witness must first have checked the checkpoint's log signature and its
    consistency with what it saw before (c2sp.org/tlog-witness).
    """
    return note.with_signatures(signer.at(now))


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """ "At least ``minimum`` of these ``witnesses`` cosigned" (tlog-proof, verification step 3).

    The constructor refuses policies that cannot be met or that would count one witness twice.
    A ``minimum`` of 0 is allowed and means the caller trusts the log alone; it is a deliberate
    choice, so it has to be spelled out.
    """

    witnesses: tuple[CosignatureVerifier, ...]
    minimum: int

    def __post_init__(self) -> None:
        if not 0 <= self.minimum <= len(self.witnesses):
            raise ValueError(
                f"cannot require {self.minimum} cosignatures from {len(self.witnesses)} witnesses"
            )
        names = {witness.name for witness in self.witnesses}
        keys = {witness.public_key for witness in self.witnesses}
        # The v1 message does not commit to the witness name, so one key under two names would
        # be one witness counted twice (tlog-cosignature, "Ed25519 signed message").
        if len(names) != len(self.witnesses) or len(keys) != len(self.witnesses):
            raise ValueError("each witness must have its own name and its own key")

    @classmethod
    def of(cls, witnesses: Iterable[CosignatureVerifier], minimum: int) -> WitnessPolicy:
        return cls(tuple(witnesses), minimum)

    def check(self, note: Note) -> tuple[Cosignature, ...]:
        """Verify the cosignatures of known witnesses on ``note`` and enforce the quorum.

        Signatures from anyone else, including the log, are ignored.

        Raises:
            CosignatureInvalid: a known witness's cosignature does not verify; as with any
                signed note, that rejects the whole note.
            TooFewCosignatures: fewer than ``minimum`` known witnesses cosigned.
        """
        if self.minimum == 0 and not self.witnesses:
            return ()
        trusted = {(witness.name, witness.key_id): witness for witness in self.witnesses}
        message = note.text.encode()
        verified = []
        for signature in note.signatures:
            witness = trusted.get((signature.name, signature.key_id))
            if witness is not None:
                verified.append(_verify(witness, message, signature))
        if len(verified) < self.minimum:
            raise TooFewCosignatures(
                f"{len(verified)} of {len(self.witnesses)} trusted witnesses cosigned; "
                f"{self.minimum} required"
            )
        return tuple(verified)


def _verify(witness: CosignatureVerifier, message: bytes, signature: NoteSignature) -> Cosignature:
    timestamp = witness.verify_timestamped(message, signature.signature)
    return Cosignature(signature.name, signature.key_id, timestamp)
