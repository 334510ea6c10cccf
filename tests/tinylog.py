"""A tiny in-memory log built from the pure ledger core, for tests that need real proofs.

It does what the hub's sequencer does, without storage: entries become RFC 9162 leaf hashes, a
:class:`CompactRange` gives the root, the log key signs the checkpoint, the witnesses cosign it
and proofs are bundled as c2sp.org/tlog-proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.checkpoint import Checkpoint, sign_checkpoint
from bayflow.ledger.cosignature import CosignatureSigner, cosign
from bayflow.ledger.entry import Entry
from bayflow.ledger.merkle import (
    CompactRange,
    consistency_proof,
    hash_leaf,
    hash_reader_for_leaves,
    inclusion_proof,
)
from bayflow.ledger.note import Ed25519Signer, Note
from bayflow.ledger.proof import ProofBundle

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
ORIGIN = "bayflow.example/ledger"


def log_signer(seed: int = 1, name: str = ORIGIN) -> Ed25519Signer:
    return Ed25519Signer(name, SigningKey(bytes([seed]) * 32))


def witness_signer(name: str, seed: int) -> CosignatureSigner:
    return CosignatureSigner(name, SigningKey(bytes([seed]) * 32))


class TinyLog:
    """An append-only log of ledger entries that signs, cosigns and proves in memory."""

    def __init__(
        self,
        signer: Ed25519Signer | None = None,
        witnesses: Sequence[CosignatureSigner] = (),
    ) -> None:
        self.signer = signer or log_signer()
        self.witnesses = list(witnesses)
        self.leaves: list[bytes] = []
        self._range = CompactRange()

    def append(self, entry: Entry | bytes) -> int:
        data = entry.to_bytes() if isinstance(entry, Entry) else entry
        leaf = hash_leaf(data)
        self.leaves.append(leaf)
        self._range.append(leaf)
        return len(self.leaves) - 1

    def checkpoint(self, now: datetime = NOW) -> Note:
        body = Checkpoint(self.signer.name, self._range.size, self._range.root())
        note = sign_checkpoint(body, self.signer)
        for witness in self.witnesses:
            note = cosign(note, witness, now)
        return note

    def proof(self, index: int, now: datetime = NOW, extra: bytes | None = None) -> ProofBundle:
        reader = hash_reader_for_leaves(self.leaves)
        path = inclusion_proof(index, len(self.leaves), reader)
        return ProofBundle(index, tuple(path), self.checkpoint(now), extra)

    def consistency(self, old: int, new: int | None = None) -> list[bytes]:
        reader = hash_reader_for_leaves(self.leaves)
        return consistency_proof(old, len(self.leaves) if new is None else new, reader)
