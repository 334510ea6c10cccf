"""Offline proof bundles, as specified by c2sp.org/tlog-proof@v1.

A bundle binds one log entry to a signed, witness-cosigned checkpoint::

    c2sp.org/tlog-proof@v1
    extra <base64>                 (optional, unauthenticated)
    index <leaf index>
    <base64 inclusion proof hash>  (zero or more, leaf's sibling first)

    <the signed checkpoint note, verbatim>

It is what Bayflow hands to anyone who wants to check an anchored fingerprint without talking
to the hub: :func:`verify_proof` needs only the leaf hash and the trusted keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from bayflow.ledger._text import decode_base64, decode_decimal, encode_base64
from bayflow.ledger.checkpoint import Checkpoint, open_checkpoint
from bayflow.ledger.cosignature import CosignatureVerifier, WitnessPolicy
from bayflow.ledger.errors import (
    CheckpointInvalid,
    MalformedCheckpoint,
    MalformedNote,
    MalformedProof,
)
from bayflow.ledger.merkle import HASH_SIZE, verify_inclusion
from bayflow.ledger.note import Note, NoteVerifier

__all__ = ["PROOF_HEADER", "ProofBundle", "verify_proof"]

PROOF_HEADER: Final = "c2sp.org/tlog-proof@v1"

# A tree of at most 2**64 leaves has inclusion proofs of at most 64 hashes.
_MAX_PROOF_HASHES: Final = 64
_INDEX_MAX: Final = (1 << 64) - 2


@dataclass(frozen=True, slots=True)
class ProofBundle:
    """A parsed proof bundle. Nothing in it is trusted until :func:`verify_proof` succeeds.

    ``extra`` is ``None`` when the bundle has no extra line; zero-length extra data is not
    representable, because the spec omits the line when there is no extra data.
    ``checkpoint`` is the signed checkpoint note; its text is checked to be a well-formed
    checkpoint on construction, so a malformed bundle fails at parse time, not at verification.
    """

    index: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: Note
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _INDEX_MAX:
            raise MalformedProof("a proof index is a leaf index below 2**64 - 1")
        if len(self.inclusion_proof) > _MAX_PROOF_HASHES:
            raise MalformedProof(f"an inclusion proof has at most {_MAX_PROOF_HASHES} hashes")
        if any(len(node) != HASH_SIZE for node in self.inclusion_proof):
            raise MalformedProof("inclusion proof hashes are 32-byte SHA-256 hashes")
        if self.extra is not None and not self.extra:
            raise MalformedProof("extra data, when present, must not be empty")
        try:
            Checkpoint.from_text(self.checkpoint.text)
        except MalformedCheckpoint as exc:
            raise MalformedProof(f"the proof's checkpoint is malformed: {exc.message}") from exc

    @classmethod
    def from_text(cls, text: str) -> ProofBundle:
        """Parse a ``.tlog-proof`` file strictly (tlog-proof, "Format")."""
        head, separator, note = text.partition("\n\n")
        if not separator:
            raise MalformedProof("a proof needs an empty line before its checkpoint")
        lines = head.split("\n")
        if lines[0] != PROOF_HEADER:
            raise MalformedProof(f"a proof starts with the line {PROOF_HEADER!r}")
        position = 1
        extra = None
        if position < len(lines) and lines[position].startswith("extra "):
            extra = decode_base64(lines[position][6:], "proof extra data", MalformedProof)
            position += 1
        if position >= len(lines) or not lines[position].startswith("index "):
            raise MalformedProof("a proof needs an index line")
        index = decode_decimal(lines[position][6:], "proof index", MalformedProof, _INDEX_MAX)
        hashes = lines[position + 1 :]
        if len(hashes) > _MAX_PROOF_HASHES:
            raise MalformedProof(f"an inclusion proof has at most {_MAX_PROOF_HASHES} hashes")
        proof = tuple(
            decode_base64(line, "inclusion proof hash", MalformedProof) for line in hashes
        )
        try:
            checkpoint = Note.from_text(note)
        except MalformedNote as exc:
            raise MalformedProof(f"the proof's checkpoint is malformed: {exc.message}") from exc
        return cls(index, proof, checkpoint, extra)

    @classmethod
    def from_bytes(cls, data: bytes) -> ProofBundle:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedProof("a proof must be valid UTF-8") from None
        return cls.from_text(text)

    def to_text(self) -> str:
        lines = [PROOF_HEADER]
        if self.extra is not None:
            lines.append(f"extra {encode_base64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(encode_base64(node) for node in self.inclusion_proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint.to_text()

    def to_bytes(self) -> bytes:
        return self.to_text().encode()


def verify_proof(
    bundle: ProofBundle,
    leaf_hash: bytes,
    log_verifier: NoteVerifier,
    witness_verifiers: Iterable[CosignatureVerifier],
    min_cosignatures: int,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify ``bundle`` for the entry with ``leaf_hash`` and return its trusted checkpoint.

    ``origin`` is the log's checkpoint origin; it defaults to the log key's name.

    Raises:
        UntrustedNote: the log did not sign the checkpoint.
        NoteSignatureInvalid: the log's signature does not verify.
        CheckpointInvalid: the checkpoint is for another log, or smaller than the index.
        CosignatureInvalid: a trusted witness's cosignature does not verify.
        TooFewCosignatures: fewer than ``min_cosignatures`` trusted witnesses cosigned.
        InclusionProofInvalid: the entry is not at ``bundle.index`` in the checkpointed tree.
        ValueError: the witness policy is impossible (see :class:`WitnessPolicy`).
    """
    # The steps of tlog-proof, "Verifying a tlog proof":
    # 1. The leaf hash is computed by the caller; it is application specific.
    # 2. The origin is acceptable and the log signed the checkpoint.
    # 3. Enough trusted witnesses cosigned it.
    # 4. The inclusion proof binds the leaf hash to the checkpoint's root hash.
    policy = WitnessPolicy(tuple(witness_verifiers), min_cosignatures)
    # (2):
    checkpoint = open_checkpoint(bundle.checkpoint, log_verifier, origin=origin)
    # (3):
    policy.check(bundle.checkpoint)
    # (4):
    if bundle.index >= checkpoint.size:
        raise CheckpointInvalid(
            f"checkpoint of size {checkpoint.size} cannot contain entry {bundle.index}"
        )
    verify_inclusion(
        leaf_hash, bundle.index, checkpoint.size, bundle.inclusion_proof, checkpoint.root_hash
    )
    return checkpoint
