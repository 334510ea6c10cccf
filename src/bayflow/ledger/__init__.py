"""The verification ledger: an append-only Merkle log speaking the C2SP transparency-log specs.

This package is the pure core — no I/O, no database, no HTTP:

- :mod:`~bayflow.ledger.merkle`       RFC 9162 hashing, proofs and the sequencer's stored hashes
- :mod:`~bayflow.ledger.note`         c2sp.org/signed-note: notes, Ed25519 keys, vkeys and skeys
- :mod:`~bayflow.ledger.checkpoint`   c2sp.org/tlog-checkpoint
- :mod:`~bayflow.ledger.cosignature`  c2sp.org/tlog-cosignature and the witness quorum policy
- :mod:`~bayflow.ledger.tiles`        c2sp.org/tlog-tiles paths, tile contents, entry bundles
- :mod:`~bayflow.ledger.proof`        c2sp.org/tlog-proof offline proof bundles
- :mod:`~bayflow.ledger.commitment`   salted commitments, field-by-field records, salt and
                                      disclosure files (computed on the participant's side)
- :mod:`~bayflow.ledger.revocation`   offline evidence of a revocation
- :mod:`~bayflow.ledger.witness`      c2sp.org/tlog-witness add-checkpoint logic
- :mod:`~bayflow.ledger.errors`       what each of them raises

Verification raises a :class:`~bayflow.ledger.errors.LedgerError`; it never returns ``False``.
"""

from bayflow.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from bayflow.ledger.cosignature import (
    Cosignature,
    CosignatureSigner,
    CosignatureVerifier,
    WitnessPolicy,
    cosign,
)
from bayflow.ledger.errors import (
    CheckpointInvalid,
    ConsistencyProofInvalid,
    CosignatureInvalid,
    InclusionProofInvalid,
    LedgerError,
    MalformedCheckpoint,
    MalformedKey,
    MalformedNote,
    MalformedProof,
    MalformedTile,
    NoteSignatureInvalid,
    TooFewCosignatures,
    UntrustedNote,
)
from bayflow.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    NodeID,
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from bayflow.ledger.note import Ed25519Signer, Ed25519Verifier, Note, sign_note
from bayflow.ledger.proof import ProofBundle, verify_proof
from bayflow.ledger.tiles import Tile

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "CheckpointInvalid",
    "CompactRange",
    "ConsistencyProofInvalid",
    "Cosignature",
    "CosignatureInvalid",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "InclusionProofInvalid",
    "LedgerError",
    "MalformedCheckpoint",
    "MalformedKey",
    "MalformedNote",
    "MalformedProof",
    "MalformedTile",
    "NodeID",
    "Note",
    "NoteSignatureInvalid",
    "ProofBundle",
    "Tile",
    "TooFewCosignatures",
    "UntrustedNote",
    "WitnessPolicy",
    "consistency_proof",
    "cosign",
    "hash_leaf",
    "inclusion_proof",
    "open_checkpoint",
    "root_hash",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
    "verify_proof",
]
