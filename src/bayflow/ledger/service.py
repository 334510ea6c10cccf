"""The hub's log: anchoring, revocation, integration into the tree, proofs and status.

Two classes, split by what they need:

- :class:`LogReader` reads the log — tiles and entry bundles (c2sp.org/tlog-tiles), inclusion
  proof bundles (c2sp.org/tlog-proof), consistency proofs and a commitment's status;
- :class:`LedgerService` also writes it — it anchors commitments, anchors revocations and, as
  the sequencer's step, integrates pending entries and signs a checkpoint
  (c2sp.org/tlog-checkpoint) with the log key.

Neither opens a transaction: the caller does, so that "grant consent + anchor the event" is one
unit. Anchored entries get their index at once, in the anchoring transaction; integration
computes their hashes later, in index order, and writes the tiles the API serves.

Time comes from the injected clock; nothing here reads the wall clock.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

from bayflow.clock import Clock
from bayflow.errors import InvalidInput, NotFound, PermissionDenied
from bayflow.ledger.checkpoint import Checkpoint, sign_checkpoint
from bayflow.ledger.cosignature import CosignatureVerifier
from bayflow.ledger.entry import DIGEST_SIZE, Entry, EntryKind
from bayflow.ledger.errors import LogCorrupt, MalformedEntry
from bayflow.ledger.interfaces import LedgerRepository, StoredCheckpoint, StoredEntry
from bayflow.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    NodeID,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
)
from bayflow.ledger.note import Ed25519Signer, Ed25519Verifier
from bayflow.ledger.proof import ProofBundle
from bayflow.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, Tile, encode_entry_bundle, tile_for_node

__all__ = [
    "MAX_BATCH",
    "Anchored",
    "Commitment",
    "CommitmentStatus",
    "Integration",
    "LedgerService",
    "LogPolicy",
    "LogReader",
    "Proven",
    "parse_digest",
]

MAX_BATCH: Final = 1000
"""Most commitments one anchoring call takes (issue 4, point 5)."""

DEFAULT_INTEGRATION_BATCH: Final = 1 << 16
"""Most entries one integration step takes, so one transaction stays short; the rest wait
for the next step, which the sequencer runs at once."""

# A tree of fewer than 2**64 leaves has tile levels 0 to 7 (tree levels 0, 8, ..., 56).
_TILE_LEVELS: Final = 8


def parse_digest(text: str) -> bytes:
    """A 32-byte commitment written as 64 hex digits or as unpadded base64url (43 characters).

    Both spellings are accepted because participants' tools differ; each has exactly one
    spelling per digest (lowercase or uppercase hex aside), so nothing ambiguous gets through.
    """
    if len(text) == 2 * DIGEST_SIZE:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    elif len(text) == 43 and text.isascii():
        try:
            raw = base64.urlsafe_b64decode(text + "=")
        except (binascii.Error, ValueError):
            raw = b""
        # Re-encoding rejects non-zero padding bits, the second spelling of the same bytes.
        if len(raw) == DIGEST_SIZE and base64.urlsafe_b64encode(raw)[:-1].decode() == text:
            return raw
    raise MalformedEntry("a commitment is 32 bytes: 64 hex digits or 43 base64url characters")


@dataclass(frozen=True, slots=True)
class Commitment:
    """What a participant anchors: a commitment, what kind of content it commits to, and the
    content's schema. The issuer is not part of it: the hub takes it from the caller's token."""

    kind: EntryKind
    digest: bytes
    schema: str


@dataclass(frozen=True, slots=True)
class Anchored:
    """An anchoring's outcome: the entry in the log, and whether this call created it
    (``False`` for a resubmission, which gets the original entry)."""

    stored: StoredEntry
    created: bool


@dataclass(frozen=True, slots=True)
class Proven:
    """An entry and its proof bundle; ``proof`` is ``None`` while no published checkpoint
    covers the entry yet."""

    stored: StoredEntry
    proof: ProofBundle | None


@dataclass(frozen=True, slots=True)
class CommitmentStatus:
    """Every entry for one commitment (one per kind it was anchored as), its revocation if
    any, and the published checkpoint the proofs are against (``None`` before the first)."""

    digest: bytes
    entries: tuple[Proven, ...]
    revocation: Proven | None
    checkpoint: StoredCheckpoint | None


@dataclass(frozen=True, slots=True)
class Integration:
    """One integration step: whether this sequencer held the lock, the checkpoint it signed
    (``None`` if nothing was pending), and whether entries are still waiting."""

    locked: bool
    checkpoint: StoredCheckpoint | None = None
    more: bool = False


@dataclass(frozen=True, slots=True)
class LogPolicy:
    """The log's signing key and its witness policy.

    The key's name is the checkpoint origin (tlog-checkpoint: the origin SHOULD be the key
    name). A checkpoint is published once ``quorum`` of the ``witnesses`` have cosigned it;
    with a quorum of 0 it is published as soon as it is signed.
    """

    signer: Ed25519Signer
    witnesses: tuple[CosignatureVerifier, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError(
                f"a witness quorum of {self.quorum} is impossible with "
                f"{len(self.witnesses)} witnesses"
            )

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def verifier(self) -> Ed25519Verifier:
        return self.signer.verifier()


class _TileTrees:
    """A :data:`~bayflow.ledger.merkle.HashReader` for the tree of ``size`` leaves, from tiles.

    Each tile is read once and hashed up into its 8-level subtree once, so that the nodes of
    many proofs, which mostly share tiles, cost a look-up each instead of re-hashing up to 128
    tile hashes per node as :func:`bayflow.ledger.tiles.hash_from_tile` would.
    """

    def __init__(self, size: int, repo: LedgerRepository) -> None:
        self._size = size
        self._repo = repo
        self._trees: dict[tuple[int, int], list[list[bytes]]] = {}

    def prefetch(self, nodes: Collection[NodeID]) -> None:
        """Read every tile the nodes need, in one repository call."""
        wanted = {tile_for_node(node, self._size) for node in nodes}
        missing = [tile for tile in wanted if (tile.level, tile.n) not in self._trees]
        if not missing:
            return
        found = self._repo.get_tiles([(tile.level, tile.n) for tile in missing])
        for tile in missing:
            data = found.get((tile.level, tile.n), b"")
            if len(data) < tile.width * HASH_SIZE:
                raise LogCorrupt(
                    f"the store lacks {tile.path}, which a tree of size {self._size} needs"
                )
            self._trees[tile.level, tile.n] = _subtree(data[: tile.width * HASH_SIZE])

    def tile_data(self, tile: Tile) -> bytes:
        self.prefetch([NodeID(tile.level * TILE_HEIGHT, (tile.n << TILE_HEIGHT) + tile.width - 1)])
        return b"".join(self._trees[tile.level, tile.n][0][: tile.width])

    def __call__(self, nodes: Sequence[NodeID]) -> list[bytes]:
        self.prefetch(nodes)
        hashes = []
        for node in nodes:
            tile_level, below = divmod(node.level, TILE_HEIGHT)
            tile_n = node.n >> (TILE_HEIGHT - below)
            offset = node.n - (tile_n << (TILE_HEIGHT - below))
            hashes.append(self._trees[tile_level, tile_n][below][offset])
        return hashes


def _subtree(data: bytes) -> list[list[bytes]]:
    """The hashes of a tile and every complete level above them, up to 8 levels."""
    level = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    levels = [level]
    while len(level) > 1:
        level = [hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        levels.append(level)
    return levels


def _inclusion_nodes(indexes: Sequence[int], size: int) -> list[NodeID]:
    """The nodes the inclusion proofs of ``indexes`` need, found by running the proofs on
    placeholder hashes, so that their tiles can be read in one go."""
    wanted: list[NodeID] = []

    def record(nodes: Sequence[NodeID]) -> list[bytes]:
        wanted.extend(nodes)
        return [EMPTY_ROOT] * len(nodes)

    for index in indexes:
        inclusion_proof(index, size, record)
    return wanted


class LogReader:
    """Reads the log: tiles, entry bundles, proofs and the status of commitments."""

    def __init__(self, repo: LedgerRepository) -> None:
        self._repo = repo

    def published(self) -> StoredCheckpoint | None:
        """The newest published checkpoint: the one served and used for proofs."""
        return self._repo.latest_checkpoint(published=True)

    def inclusion_proofs(self, indexes: Sequence[int], size: int) -> list[list[bytes]]:
        """RFC 9162 §2.1.3.1 inclusion proofs of ``indexes`` in the tree of ``size`` leaves,
        from one tile read for them all."""
        tree = _TileTrees(size, self._repo)
        tree.prefetch(_inclusion_nodes(indexes, size))
        return [inclusion_proof(index, size, tree) for index in indexes]

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 §2.1.4.1 consistency proof between two sizes of the integrated tree;
        empty from size 0, as tlog-witness requires of an ``old 0`` request."""
        if old_size == 0:
            return []
        return consistency_proof(old_size, new_size, _TileTrees(new_size, self._repo))

    def prove(
        self, entries: Sequence[StoredEntry], checkpoint: StoredCheckpoint | None
    ) -> list[Proven]:
        """Each entry with its tlog-proof bundle against ``checkpoint``, where it covers it."""
        if checkpoint is None:
            return [Proven(stored, None) for stored in entries]
        covered = [stored.index for stored in entries if stored.index < checkpoint.size]
        proofs = dict(zip(covered, self.inclusion_proofs(covered, checkpoint.size), strict=True))
        note = checkpoint.signed_note()
        return [
            Proven(
                stored,
                None
                if stored.index not in proofs
                else ProofBundle(stored.index, tuple(proofs[stored.index]), note),
            )
            for stored in entries
        ]

    def status(self, digest: bytes) -> CommitmentStatus:
        """Every entry anchored for ``digest``, its revocation, and proofs of each.

        Raises:
            NotFound: nothing in the log has this commitment.
        """
        stored = sorted(self._repo.find_by_digests([digest]), key=lambda entry: entry.index)
        if not stored:
            raise NotFound(f"no entry in the log has the commitment {digest.hex()}")
        checkpoint = self.published()
        proven = self.prove(stored, checkpoint)
        revocation = next(
            (item for item in proven if item.stored.kind == EntryKind.REVOCATION), None
        )
        return CommitmentStatus(
            digest,
            tuple(item for item in proven if item is not revocation),
            revocation,
            checkpoint,
        )

    def tile(self, tile: Tile) -> bytes:
        """The contents of a hash tile or entry bundle of the integrated tree.

        Raises:
            NotFound: the tree is not (yet) large enough to have this tile.
        """
        if tile.entries:
            if tile.end > self._repo.tree_size():
                raise NotFound(f"the log has no {tile.path} yet")
            return encode_entry_bundle(self._repo.leaves(tile.start, tile.end))
        data = self._repo.get_tiles([(tile.level, tile.n)]).get((tile.level, tile.n), b"")
        if len(data) < tile.width * HASH_SIZE:
            raise NotFound(f"the log has no {tile.path} yet")
        # A narrower partial tile is a prefix of the wider one stored: tile hashes never change.
        return data[: tile.width * HASH_SIZE]


class LedgerService(LogReader):
    """Writes the log: anchoring, revocation and integration (see the module docstring)."""

    def __init__(self, repo: LedgerRepository, log: LogPolicy, clock: Clock) -> None:
        super().__init__(repo)
        self._log = log
        self._clock = clock

    @property
    def log(self) -> LogPolicy:
        return self._log

    # Anchoring.

    def anchor(self, commitments: Sequence[Commitment], *, issuer: str) -> list[Anchored]:
        """Anchor 1 to :data:`MAX_BATCH` commitments for ``issuer``, in order.

        A commitment already in the log (same kind and digest), or repeated in the batch,
        gets the existing entry: never a second entry, and never an error.

        Raises:
            InvalidInput: an empty or oversized batch, or a revocation (see :meth:`revoke`).
            MalformedEntry: a digest, schema or issuer the v1 entry layout cannot hold.
        """
        if not 1 <= len(commitments) <= MAX_BATCH:
            raise InvalidInput(f"anchor 1 to {MAX_BATCH} commitments at a time")
        entries = []
        for commitment in commitments:
            if commitment.kind is EntryKind.REVOCATION:
                raise InvalidInput(
                    "a revocation is anchored through /ledger/v1/revocations, by the "
                    "commitment's issuer"
                )
            entries.append(Entry(commitment.kind, commitment.digest, commitment.schema, issuer))
        next_index = self._repo.lock_next_index()
        found = self._repo.find_by_digests({entry.digest for entry in entries})
        return self._append(entries, next_index, found)

    def revoke(self, digest: bytes, *, issuer: str) -> Anchored:
        """Anchor ``issuer``'s revocation of the commitment ``digest`` (issue 4, point 9).

        The revocation is an entry of kind ``revocation`` whose digest is the commitment and
        whose schema is the revoked entry's. Revoking again returns the first revocation.

        Raises:
            NotFound: the commitment is not in the log.
            PermissionDenied: another organisation anchored the commitment.
        """
        next_index = self._repo.lock_next_index()
        found = self._repo.find_by_digests([digest])
        revoked = sorted(
            (stored for stored in found if stored.kind != EntryKind.REVOCATION),
            key=lambda stored: stored.index,
        )
        if not revoked:
            raise NotFound(f"no entry in the log has the commitment {digest.hex()}")
        if any(stored.issuer != issuer for stored in revoked):
            raise PermissionDenied(
                f"only {revoked[0].issuer}, which anchored commitment {digest.hex()}, may revoke it"
            )
        entry = Entry(EntryKind.REVOCATION, digest, revoked[0].schema, issuer)
        return self._append([entry], next_index, found)[0]

    def _append(
        self, entries: Sequence[Entry], next_index: int, found: Sequence[StoredEntry]
    ) -> list[Anchored]:
        known = {(stored.digest, stored.kind): stored for stored in found}
        now = self._clock.now()
        results = []
        added = []
        for entry in entries:
            key = (entry.digest, entry.kind.value)
            stored = known.get(key)
            if stored is not None:
                results.append(Anchored(stored, created=False))
                continue
            stored = StoredEntry(
                index=next_index,
                leaf=entry.to_bytes(),
                kind=entry.kind.value,
                digest=entry.digest,
                schema=entry.schema,
                issuer=entry.issuer,
                anchored_at=now,
            )
            known[key] = stored
            added.append(stored)
            results.append(Anchored(stored, created=True))
            next_index += 1
        if added:
            self._repo.add_entries(added)
            self._repo.set_next_index(next_index)
        return results

    # Integration (the sequencer's step).

    def integrate(self, *, max_entries: int = DEFAULT_INTEGRATION_BATCH) -> Integration:
        """Integrate up to ``max_entries`` pending entries, write their tiles, sign a checkpoint.

        Only one sequencer integrates at a time (:meth:`LedgerRepository.lock_sequencer`);
        another gets ``Integration(locked=False)`` and does nothing. With nothing pending, the
        only checkpoint signed is the first, of the empty tree, so that a new log has one.
        """
        # 0. Take the sequencer lock; read the tree size and the pending entries after it.
        # 1. Restore the tree's right edge from the tiles and append the new leaf hashes.
        # 2. Write the tiles that changed: new full tiles and each level's partial tile.
        # 3. Sign a checkpoint of the new tree; record the new size.
        repo = self._repo
        # (0):
        if not repo.lock_sequencer():
            return Integration(locked=False)
        size = repo.tree_size()
        leaves = repo.leaves(size, size + max_entries)
        if not leaves:
            if repo.latest_checkpoint(published=False) is None:
                return Integration(locked=True, checkpoint=self._sign(0, EMPTY_ROOT))
            return Integration(locked=True)
        # (1):
        tree = _TileTrees(size, repo)
        compact = CompactRange(size, tree(CompactRange.frontier(size)))
        fresh: list[list[bytes]] = [[] for _ in range(_TILE_LEVELS)]
        for leaf in leaves:
            created = compact.append(hash_leaf(leaf))
            fresh[0].append(created[0])
            # append() returns the new stored hashes bottom-up, one per tree level; those at
            # multiples of 8 are tile hashes, and they arrive in index order per level.
            for level in range(TILE_HEIGHT, len(created), TILE_HEIGHT):
                fresh[level // TILE_HEIGHT].append(created[level])
        # (2):
        writes: list[tuple[Tile, bytes]] = []
        for tile_level, hashes in enumerate(fresh):
            if not hashes:
                break
            first, offset = divmod(size >> (TILE_HEIGHT * tile_level), TILE_WIDTH)
            data = b"".join(hashes)
            if offset:
                data = tree.tile_data(Tile(tile_level, first, offset)) + data
            total = offset + len(hashes)
            for start in range(0, total, TILE_WIDTH):
                width = min(TILE_WIDTH, total - start)
                chunk = data[start * HASH_SIZE : (start + width) * HASH_SIZE]
                writes.append((Tile(tile_level, first + start // TILE_WIDTH, width), chunk))
        repo.write_tiles(writes)
        # (3):
        new_size = compact.size
        repo.set_tree_size(new_size)
        checkpoint = self._sign(new_size, compact.root())
        return Integration(locked=True, checkpoint=checkpoint, more=len(leaves) == max_entries)

    def _sign(self, size: int, root: bytes) -> StoredCheckpoint:
        note = sign_checkpoint(Checkpoint(self._log.origin, size, root), self._log.signer)
        now = self._clock.now()
        stored = StoredCheckpoint(
            size=size,
            root_hash=root,
            note=note.to_text(),
            cosignatures=(),
            created_at=now,
            published_at=now if self._log.quorum == 0 else None,
        )
        self._repo.add_checkpoint(stored)
        return stored
