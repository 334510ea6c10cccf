"""Errors raised by :mod:`bayflow.ledger`.

Parse errors are :class:`~bayflow.errors.InvalidInput` (the caller sent something malformed);
failed checks are :class:`~bayflow.errors.VerificationFailed` (the input is well formed but
does not prove what it claims). Every verification failure has its own exit code in 10–19 so
that ``bayflow verify`` tells a script *why* a proof was rejected::

    LedgerError
    ├── MalformedNote             a signed note breaks c2sp.org/signed-note       (InvalidInput)
    ├── MalformedKey              a vkey or skey string is not well formed        (InvalidInput)
    ├── MalformedCheckpoint       a note body breaks c2sp.org/tlog-checkpoint     (InvalidInput)
    ├── MalformedEntry            ledger entry bytes break the v1 entry layout    (InvalidInput)
    ├── MalformedProof            a proof bundle breaks c2sp.org/tlog-proof       (InvalidInput)
    ├── MalformedTile             a tile path, tile or entry bundle is malformed  (InvalidInput)
    ├── InclusionProofInvalid     the entry is not at that index in that tree     (exit 10)
    ├── ConsistencyProofInvalid   the larger tree does not extend the smaller     (exit 11)
    ├── NoteSignatureInvalid      a signature by a trusted key does not verify    (exit 12)
    ├── UntrustedNote             no signature by a trusted key is present        (exit 13)
    ├── CheckpointInvalid         the checkpoint is for another log or too small  (exit 14)
    ├── CosignatureInvalid        a trusted witness's cosignature does not verify (exit 15)
    ├── TooFewCosignatures        fewer trusted witnesses cosigned than required  (exit 16)
    ├── MalformedCommitment       a salt or disclosure file breaks its format     (InvalidInput)
    ├── MalformedWitnessRequest   an add-checkpoint body breaks tlog-witness      (InvalidInput)
    ├── ContentMismatch           content or salt does not give the commitment    (exit 17)
    ├── CommitmentRevoked         its issuer anchored a revocation of it          (exit 18)
    └── LogCorrupt                stored log data disagrees with its entries      (exit 19)
"""

from __future__ import annotations

from bayflow.errors import BayflowError, InvalidInput, VerificationFailed

__all__ = [
    "CheckpointInvalid",
    "CommitmentRevoked",
    "ConsistencyProofInvalid",
    "ContentMismatch",
    "CosignatureInvalid",
    "InclusionProofInvalid",
    "LedgerError",
    "LogCorrupt",
    "MalformedCheckpoint",
    "MalformedCommitment",
    "MalformedEntry",
    "MalformedKey",
    "MalformedNote",
    "MalformedProof",
    "MalformedTile",
    "MalformedWitnessRequest",
    "NoteSignatureInvalid",
    "TooFewCosignatures",
    "UntrustedNote",
]


class LedgerError(BayflowError):
    """Any error from the verification ledger.

    It deliberately sets no ``exit_code``: each subclass also inherits from ``InvalidInput`` or
    ``VerificationFailed``, which supply it through the MRO unless the subclass sets its own.
    """

    slug = "ledger"
    title = "Ledger error"


# Parse errors.


class MalformedNote(LedgerError, InvalidInput):
    slug = "ledger-malformed-note"
    title = "Malformed signed note"


class MalformedKey(LedgerError, InvalidInput):
    slug = "ledger-malformed-key"
    title = "Malformed note key"


class MalformedCheckpoint(LedgerError, InvalidInput):
    slug = "ledger-malformed-checkpoint"
    title = "Malformed checkpoint"


class MalformedProof(LedgerError, InvalidInput):
    slug = "ledger-malformed-proof"
    title = "Malformed proof"


class MalformedTile(LedgerError, InvalidInput):
    slug = "ledger-malformed-tile"
    title = "Malformed tile"


class MalformedEntry(LedgerError, InvalidInput):
    slug = "ledger-malformed-entry"
    title = "Malformed ledger entry"


# Verification failures.


class InclusionProofInvalid(LedgerError, VerificationFailed):
    slug = "ledger-inclusion-proof-invalid"
    title = "Inclusion proof invalid"
    exit_code = 10


class ConsistencyProofInvalid(LedgerError, VerificationFailed):
    slug = "ledger-consistency-proof-invalid"
    title = "Consistency proof invalid"
    exit_code = 11


class NoteSignatureInvalid(LedgerError, VerificationFailed):
    slug = "ledger-note-signature-invalid"
    title = "Note signature invalid"
    exit_code = 12


class UntrustedNote(LedgerError, VerificationFailed):
    """No signature line matches a trusted key, so the note text must be ignored."""

    slug = "ledger-untrusted-note"
    title = "Note not signed by a trusted key"
    exit_code = 13


class CheckpointInvalid(LedgerError, VerificationFailed):
    """The checkpoint is well formed and signed but is not the one the caller needs."""

    slug = "ledger-checkpoint-invalid"
    title = "Checkpoint invalid"
    exit_code = 14


class CosignatureInvalid(LedgerError, VerificationFailed):
    slug = "ledger-cosignature-invalid"
    title = "Cosignature invalid"
    exit_code = 15


class TooFewCosignatures(LedgerError, VerificationFailed):
    slug = "ledger-too-few-cosignatures"
    title = "Too few witness cosignatures"
    exit_code = 16


# Participant-side commitments and the witness protocol.


class MalformedCommitment(LedgerError, InvalidInput):
    """A ``.salt`` secret, a partial disclosure or a status file is not in its strict format."""

    slug = "ledger-malformed-commitment"
    title = "Malformed commitment file"


class MalformedWitnessRequest(LedgerError, InvalidInput):
    """An ``add-checkpoint`` body is not laid out as c2sp.org/tlog-witness requires."""

    slug = "ledger-malformed-witness-request"
    title = "Malformed witness request"


class ContentMismatch(LedgerError, VerificationFailed):
    """The content, salt or disclosed values do not recompute to the anchored commitment."""

    slug = "ledger-content-mismatch"
    title = "Content does not match the commitment"
    exit_code = 17


class CommitmentRevoked(LedgerError, VerificationFailed):
    """The commitment is in the log, and so is its issuer's revocation of it."""

    slug = "ledger-commitment-revoked"
    title = "Commitment revoked"
    exit_code = 18


# The hub's own log.


class LogCorrupt(LedgerError, VerificationFailed):
    """A stored tile, checkpoint or entry disagrees with what the entries re-derive
    (``bayflow ledger fsck``), or the store lacks something the tree needs."""

    slug = "ledger-log-corrupt"
    title = "Log storage corrupt"
    exit_code = 19
