"""``bayflow ledger fsck``: re-derive the log from its entries and compare (issue 4, point 10).

Nothing stored is trusted but the entries' leaf bytes, and even those are checked against the
copies kept for look-ups. In one pass over the entries, in index order:

1. the counters are sane, and the entries run from index 0 without a gap;
2. each leaf is a well-formed v1 entry whose kind, digest and issuer match the stored columns;
3. every tile is recomputed from the leaf hashes (c2sp.org/tlog-tiles) and must equal the stored
   tile byte for byte — full tiles and each level's partial tile — and no other tile may exist;
4. every stored checkpoint must carry a valid log signature, name the size and root it is
   stored under, and have the root of the tree of that many entries (RFC 9162 §2.1.1), and any
   cosignature by a known witness must verify;
5. each checkpoint must be consistent with the next (RFC 9162 §2.1.4, proved from the tiles),
   and the newest must be of the integrated tree's size.

The first mismatch raises :class:`~bayflow.ledger.errors.LogCorrupt` naming what and where. The
entries' anchoring times are not covered: they are not part of the entry bytes, by design.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from bayflow.ledger.checkpoint import open_checkpoint
from bayflow.ledger.cosignature import CosignatureVerifier, WitnessPolicy
from bayflow.ledger.entry import Entry
from bayflow.ledger.errors import LedgerError, LogCorrupt
from bayflow.ledger.interfaces import LedgerRepository, StoredCheckpoint, StoredEntry
from bayflow.ledger.merkle import CompactRange, hash_leaf, verify_consistency
from bayflow.ledger.note import Note, NoteVerifier
from bayflow.ledger.service import LogReader
from bayflow.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, Tile

__all__ = ["FsckReport", "fsck"]

_CHUNK: Final = 1 << 15
_TILE_LEVELS: Final = 8


@dataclass(frozen=True, slots=True)
class FsckReport:
    """What a clean check covered: the tree it re-derived and how much it compared."""

    tree_size: int
    root_hash: bytes
    entries: int
    tiles: int
    checkpoints: int


def _checkpoints(repo: LedgerRepository) -> Iterator[StoredCheckpoint]:
    after = -1
    while page := repo.checkpoints(after=after, limit=1000):
        yield from page
        after = page[-1].size


def _check_entry(stored: StoredEntry, expected: int) -> None:
    if stored.index != expected:
        raise LogCorrupt(f"entry {expected} is missing (the next stored is {stored.index})")
    try:
        entry = Entry.from_bytes(stored.leaf)
    except LedgerError as exc:
        raise LogCorrupt(
            f"entry {stored.index}: the leaf is not a v1 entry ({exc.message})"
        ) from exc
    for what, stored_value, leaf_value in (
        ("kind", stored.kind, entry.kind.value),
        ("digest", stored.digest, entry.digest),
        ("issuer", stored.issuer, entry.issuer),
    ):
        if stored_value != leaf_value:
            raise LogCorrupt(f"entry {stored.index}: the stored {what} differs from its leaf's")


class _Checker:
    def __init__(
        self,
        repo: LedgerRepository,
        log_verifier: NoteVerifier,
        witnesses: Sequence[CosignatureVerifier],
    ) -> None:
        self._repo = repo
        self._log = log_verifier
        self._witnesses = WitnessPolicy(tuple(witnesses), 0)
        self._compact = CompactRange()
        self._levels: list[list[bytes]] = [[] for _ in range(_TILE_LEVELS)]
        self._full: list[tuple[Tile, bytes]] = []
        self.tiles = 0
        self._checkpoints = _checkpoints(repo)
        self.pending: StoredCheckpoint | None = next(self._checkpoints, None)
        self.latest: StoredCheckpoint | None = None
        self.checkpoints = 0

    def settle(self) -> None:
        """Check every stored checkpoint of the tree re-derived so far (step 4)."""
        while self.pending is not None and self.pending.size == self.size:
            self.check_checkpoint(self.pending, self.root())
            self.latest, self.checkpoints = self.pending, self.checkpoints + 1
            self.pending = next(self._checkpoints, None)

    def append(self, leaf: bytes) -> None:
        created = self._compact.append(hash_leaf(leaf))
        for level in range(0, len(created), TILE_HEIGHT):
            tile_level = level // TILE_HEIGHT
            hashes = self._levels[tile_level]
            hashes.append(created[level])
            if len(hashes) == TILE_WIDTH:
                n = (self._compact.size >> (TILE_HEIGHT * (tile_level + 1))) - 1
                self._full.append((Tile(tile_level, n), b"".join(hashes)))
                hashes.clear()

    @property
    def size(self) -> int:
        return self._compact.size

    def root(self) -> bytes:
        return self._compact.root()

    def flush_tiles(self, *, final: bool = False) -> None:
        expected = self._full
        self._full = []
        if final:
            size = self._compact.size
            for tile_level, hashes in enumerate(self._levels):
                if hashes:
                    n = size >> (TILE_HEIGHT * (tile_level + 1))
                    expected.append((Tile(tile_level, n, len(hashes)), b"".join(hashes)))
        stored = self._repo.get_tiles([(tile.level, tile.n) for tile, _ in expected])
        for tile, data in expected:
            found = stored.get((tile.level, tile.n))
            if found is None:
                raise LogCorrupt(f"{tile.path} is missing from the store")
            if found != data:
                raise LogCorrupt(
                    f"{tile.path}: the stored tile differs from the hashes of entries "
                    f"{tile.start} to {tile.end - 1}"
                )
        self.tiles += len(expected)

    def check_checkpoint(self, stored: StoredCheckpoint, root: bytes) -> None:
        where = f"checkpoint of size {stored.size}"
        try:
            note = Note.from_text(stored.note)
            checkpoint = open_checkpoint(note, self._log)
            self._witnesses.check(stored.signed_note())
        except LedgerError as exc:
            raise LogCorrupt(f"{where}: {exc.message}") from exc
        if checkpoint.size != stored.size or checkpoint.root_hash != stored.root_hash:
            raise LogCorrupt(f"{where}: the signed size or root differs from the stored ones")
        if checkpoint.root_hash != root:
            raise LogCorrupt(f"{where}: its root is not the root of the stored entries")


def fsck(
    repo: LedgerRepository,
    log_verifier: NoteVerifier,
    witnesses: Sequence[CosignatureVerifier] = (),
) -> FsckReport:
    """Check the stored log against its entries; see the module docstring for the steps.

    Raises:
        LogCorrupt: the first mismatch found, naming it.
    """
    # (1):
    size, next_index = repo.tree_size(), repo.next_index()
    if size > next_index:
        raise LogCorrupt(f"the tree has {size} entries but only {next_index} were anchored")
    checker = _Checker(repo, log_verifier, witnesses)
    checker.settle()
    expected = 0
    for start in range(0, next_index, _CHUNK):
        for stored in repo.entries(start, min(start + _CHUNK, next_index)):
            # (2):
            _check_entry(stored, expected)
            expected += 1
            if stored.index < size:
                checker.append(stored.leaf)
                checker.settle()
        # (3), for the tiles completed so far:
        checker.flush_tiles()
    if expected != next_index:
        raise LogCorrupt(f"entry {expected} is missing ({next_index} were anchored)")
    if repo.entries(next_index, next_index + 1):
        raise LogCorrupt(f"entry {next_index} is stored beyond the {next_index} anchored")
    if checker.pending is not None:
        raise LogCorrupt(
            f"checkpoint of size {checker.pending.size} is beyond the tree size {size}"
        )
    checker.flush_tiles(final=True)
    if repo.tile_count() != checker.tiles:
        raise LogCorrupt(
            f"the store holds {repo.tile_count()} tiles; a tree of {size} entries has "
            f"{checker.tiles}"
        )
    # (5):
    _check_consistency(repo, size, checker.latest)
    return FsckReport(
        tree_size=size,
        root_hash=checker.root(),
        entries=next_index,
        tiles=checker.tiles,
        checkpoints=checker.checkpoints,
    )


def _check_consistency(repo: LedgerRepository, size: int, latest: StoredCheckpoint | None) -> None:
    if latest is None or latest.size != size:
        raise LogCorrupt(f"no checkpoint is stored for the tree size {size}")
    reader = LogReader(repo)
    older: StoredCheckpoint | None = None
    for checkpoint in _checkpoints(repo):
        if older is not None and older.size > 0:
            proof = reader.consistency(older.size, checkpoint.size)
            try:
                verify_consistency(
                    older.size, checkpoint.size, proof, older.root_hash, checkpoint.root_hash
                )
            except LedgerError as exc:
                raise LogCorrupt(
                    f"checkpoint of size {checkpoint.size} is not consistent with the one of "
                    f"size {older.size}: {exc.message}"
                ) from exc
        older = checkpoint
