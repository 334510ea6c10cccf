"""Checkpoints, as specified by c2sp.org/tlog-checkpoint@v1.0.0.

A checkpoint is the text of a signed note: origin line, tree size line, base64 root hash line,
then optional extension lines. :class:`Checkpoint` is the parsed body; :func:`sign_checkpoint`
and :func:`open_checkpoint` move between it and a signed :class:`~bayflow.ledger.note.Note`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayflow.ledger._text import decode_base64, decode_decimal, encode_base64
from bayflow.ledger.errors import CheckpointInvalid, MalformedCheckpoint, MalformedNote
from bayflow.ledger.merkle import HASH_SIZE
from bayflow.ledger.note import Note, NoteSigner, NoteVerifier, sign_note

__all__ = ["Checkpoint", "open_checkpoint", "sign_checkpoint"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: ``size`` leaves with Merkle root ``root_hash``, for log ``origin``.

    ``extensions`` are the opaque extension lines (tlog-checkpoint, "Note text", item 4); the
    spec does NOT RECOMMEND them because monitors cannot audit them, and Bayflow's own log
    writes none, but parsing keeps them so that the signed text round-trips exactly.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin:
            raise MalformedCheckpoint("a checkpoint origin must not be empty")
        for line in (self.origin, *self.extensions):
            if "\n" in line or not line:
                raise MalformedCheckpoint("checkpoint lines must be non-empty single lines")
        if not 0 <= self.size < 1 << 64:
            raise MalformedCheckpoint("a checkpoint tree size is a 64-bit unsigned integer")
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedCheckpoint("a checkpoint root hash is a 32-byte SHA-256 hash")
        # The remaining note-text rules (no control characters) are checked by Note when the
        # text is signed or parsed; repeating them here would only duplicate the regex.

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse note text: three or more non-empty lines, each ending in a newline."""
        if not text.endswith("\n"):
            raise MalformedCheckpoint("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpoint("a checkpoint has an origin, a size and a root hash line")
        origin, size, root, *extensions = lines
        return cls(
            origin,
            decode_decimal(size, "checkpoint tree size", MalformedCheckpoint),
            decode_base64(root, "checkpoint root hash", MalformedCheckpoint),
            tuple(extensions),
        )

    def to_text(self) -> str:
        lines = [self.origin, str(self.size), encode_base64(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def sign_checkpoint(checkpoint: Checkpoint, *signers: NoteSigner) -> Note:
    """The signed note of ``checkpoint``; the log's signer should be named for the origin."""
    try:
        return sign_note(checkpoint.to_text(), *signers)
    except MalformedNote as exc:
        raise MalformedCheckpoint(f"checkpoint cannot be signed: {exc.message}") from exc


def open_checkpoint(
    note: Note, log_verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """Verify the log's signature on ``note``, then parse and return its checkpoint.

    ``origin`` is the origin line the caller expects; it defaults to the log key's name, which
    tlog-checkpoint says SHOULD match. Signatures by other keys (cosignatures included) are
    ignored here, as the signed-note spec requires.

    Raises:
        UntrustedNote: the log's key did not sign the note.
        NoteSignatureInvalid: the log's signature does not verify.
        MalformedCheckpoint: the signed text is not a checkpoint.
        CheckpointInvalid: the checkpoint is for another origin.
    """
    # The text may only be interpreted once a trusted signature verifies (signed-note).
    note.verify((log_verifier,))
    checkpoint = Checkpoint.from_text(note.text)
    expected = log_verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise CheckpointInvalid(
            f"checkpoint is for log {checkpoint.origin!r}, expected {expected!r}"
        )
    return checkpoint
