"""``bayflow ledger monitor``: follow a remote log, alarm on any inconsistency (issue 4, point 10).

A monitor trusts one log key (and, optionally, a witness quorum) and nothing the log serves.
Each :meth:`LogMonitor.check`:

1. fetches ``<prefix>/checkpoint`` and requires the log key's signature on it — a checkpoint
   signed by any other key is an alarm (signed-note: no trusted signature, no trust), as is a
   trusted signature that fails — and, when configured, the witnesses' cosignatures;
2. for the first checkpoint, recomputes its root hash from the log's tiles (tlog-tiles), so a
   log whose tiles disagree with its checkpoint is caught at once;
3. for every later one, requires it to extend the last verified checkpoint: never smaller, the
   same root at the same size, and an RFC 9162 §2.1.4 consistency proof built from the log's
   tiles that verifies between the two signed roots.

A failure raises the ledger error that names it (``ConsistencyProofInvalid`` for a fork or a
rollback, ``UntrustedNote`` for an unexpected key, ...). The tiles are fetched untrusted: every
hash taken from them ends in a comparison with a signed root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bayflow.ledger.checkpoint import Checkpoint, open_checkpoint
from bayflow.ledger.cosignature import CosignatureVerifier, WitnessPolicy
from bayflow.ledger.errors import CheckpointInvalid, ConsistencyProofInvalid
from bayflow.ledger.merkle import (
    HashReader,
    NodeID,
    consistency_proof,
    root_hash,
    verify_consistency,
)
from bayflow.ledger.note import Note, NoteVerifier
from bayflow.ledger.tiles import Tile, read_hashes_from_tiles

__all__ = ["Fetch", "LogMonitor"]

Fetch = Callable[[str], bytes]
"""Fetches a path below the log's prefix (``checkpoint``, ``tile/0/000``...); raises on failure."""


class LogMonitor:
    """Verifies each checkpoint a log publishes against the last one it verified.

    ``last`` is where to start from: a checkpoint verified before (e.g. by an earlier run),
    or ``None`` to trust the first one fetched after checking it against the tiles.
    """

    def __init__(
        self,
        fetch: Fetch,
        log_key: NoteVerifier,
        *,
        witnesses: Sequence[CosignatureVerifier] = (),
        quorum: int = 0,
        last: Note | None = None,
    ) -> None:
        self._fetch = fetch
        self._log_key = log_key
        self._policy = WitnessPolicy(tuple(witnesses), quorum)
        self._last: Checkpoint | None = None
        self._last_note: Note | None = None
        if last is not None:
            self._last = open_checkpoint(last, log_key)
            self._last_note = last

    @property
    def last(self) -> Note | None:
        """The newest checkpoint verified so far, as its signed note."""
        return self._last_note

    def _read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        return [self._fetch(tile.path) for tile in tiles]

    def _reader(self, size: int) -> HashReader:
        def read(nodes: Sequence[NodeID]) -> list[bytes]:
            return read_hashes_from_tiles(nodes, size, self._read_tiles)

        return read

    def check(self) -> tuple[Checkpoint, bool]:
        """Fetch and verify the log's checkpoint; return it and whether it is new.

        Raises:
            UntrustedNote, NoteSignatureInvalid: the checkpoint is not signed by the log key.
            CheckpointInvalid: it is for another log, or its root is not the tiles' root.
            TooFewCosignatures, CosignatureInvalid: the witness policy is not met.
            ConsistencyProofInvalid: it does not extend the last verified checkpoint.
        """
        # (1):
        note = Note.from_bytes(self._fetch("checkpoint"))
        checkpoint = open_checkpoint(note, self._log_key)
        self._policy.check(note)
        last = self._last
        if last is None:
            # (2):
            if root_hash(checkpoint.size, self._reader(checkpoint.size)) != checkpoint.root_hash:
                raise CheckpointInvalid(
                    f"the log's tiles do not give the root of its checkpoint of size "
                    f"{checkpoint.size}"
                )
        else:
            # (3):
            if checkpoint.size < last.size:
                raise ConsistencyProofInvalid(
                    f"the log went back from size {last.size} to {checkpoint.size}"
                )
            if checkpoint.size == last.size:
                if checkpoint.root_hash != last.root_hash:
                    raise ConsistencyProofInvalid(
                        f"the log signed two different trees of size {last.size}: a fork"
                    )
                return checkpoint, False
            if last.size > 0:
                proof = consistency_proof(last.size, checkpoint.size, self._reader(checkpoint.size))
                verify_consistency(
                    last.size, checkpoint.size, proof, last.root_hash, checkpoint.root_hash
                )
        self._last, self._last_note = checkpoint, note
        return checkpoint, True
