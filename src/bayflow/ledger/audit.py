"""Checking that something another service anchored is in the log, offline.

Consent events, delivery receipts and deletion receipts are anchored by the hub on the
parties' behalf, under a digest anyone holding the artefact can compute. Given the hub's status
document for that digest (``GET /ledger/v1/status/{digest}``), :func:`verify_anchored` rebuilds
the entry the hub should have written, and checks its inclusion proof against a checkpoint
signed by the log and cosigned by enough witnesses — trusting nothing in the document but what
those signatures cover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bayflow.ledger.cosignature import CosignatureVerifier
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.errors import InclusionProofInvalid, MalformedProof
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import Ed25519Verifier
from bayflow.ledger.proof import ProofBundle, verify_proof

__all__ = ["NotYetProven", "verify_anchored"]


class NotYetProven(InclusionProofInvalid):
    """The log holds the entry but no published checkpoint covers it yet; ask again shortly."""

    slug = "ledger-not-yet-proven"
    title = "Not yet in a checkpoint"


def verify_anchored(
    status: Mapping[str, Any],
    *,
    kind: EntryKind,
    digest: bytes,
    schema: str,
    issuer: str,
    log_verifier: Ed25519Verifier,
    witnesses: Sequence[CosignatureVerifier] = (),
    min_cosignatures: int | None = None,
) -> int:
    """Return the entry's index once its proof verifies; raise a ledger error otherwise."""
    leaf = hash_leaf(Entry(kind, digest, schema, issuer).to_bytes())
    entries = [e for e in status.get("entries", []) if e.get("kind") == kind.value]
    if not entries:
        raise InclusionProofInvalid(f"the log has no {kind.value} entry for {digest.hex()}")
    entry = entries[0]
    if not entry.get("proof"):
        raise NotYetProven(f"entry {entry.get('index')} is not in a published checkpoint yet")
    try:
        bundle = ProofBundle.from_text(str(entry["proof"]))
    except (KeyError, TypeError) as exc:
        raise MalformedProof("the status document's proof is malformed") from exc
    verify_proof(
        bundle,
        leaf,
        log_verifier,
        witnesses,
        len(witnesses) if min_cosignatures is None else min_cosignatures,
    )
    return bundle.index
