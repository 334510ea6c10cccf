"""What the ledger's services need from storage and from the network.

The repository is the log's durable state: entries in index order, the hash tiles of the
integrated tree, every signed checkpoint and two counters. Its implementations never commit;
whoever opens the transaction (a request, a CLI command, the sequencer loop) does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bayflow.ledger.checkpoint import Checkpoint
from bayflow.ledger.entry import Entry
from bayflow.ledger.note import Note, NoteSignature
from bayflow.ledger.tiles import Tile

__all__ = [
    "LedgerRepository",
    "StoredCheckpoint",
    "StoredEntry",
    "WitnessAnswer",
    "WitnessTransport",
]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An anchored entry: its position in the log, its exact leaf bytes, and when it came.

    ``kind``, ``digest`` and ``issuer`` are the stored copies used for look-ups; the leaf is
    what the tree hashes, and ``bayflow ledger fsck`` checks that the two agree. ``schema`` is
    read from the leaf once, when the entry is made or loaded, since answers need it often.
    """

    index: int
    leaf: bytes
    kind: str
    digest: bytes
    schema: str
    issuer: str
    anchored_at: datetime

    @property
    def entry(self) -> Entry:
        return Entry.from_bytes(self.leaf)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint the log signed, with the witness cosignatures gathered for it so far.

    ``note`` is the note as the log signed it (its signature only); ``cosignatures`` holds the
    witnesses' signature lines. ``published_at`` is ``None`` while the checkpoint waits for
    its witness quorum: until then it is neither served nor used for proofs.
    """

    size: int
    root_hash: bytes
    note: str
    cosignatures: tuple[str, ...]
    created_at: datetime
    published_at: datetime | None

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.from_text(Note.from_text(self.note).text)

    def signed_note(self) -> Note:
        """The log's note with every gathered cosignature appended (tlog-witness, the end of
        "add-checkpoint": the log moves valid cosignatures onto its own view of the note)."""
        note = Note.from_text(self.note)
        extra = tuple(NoteSignature.from_line(line) for line in self.cosignatures)
        return Note(note.text, note.signatures + extra)


class LedgerRepository(Protocol):
    # Anchoring. The first call of an anchoring transaction must be lock_next_index: it takes
    # the lock that orders anchoring transactions, so their indexes are handed out, and become
    # visible, in order and without gaps.
    def lock_next_index(self) -> int: ...
    def set_next_index(self, value: int) -> None: ...
    def find_by_digests(self, digests: Collection[bytes]) -> list[StoredEntry]: ...
    def add_entries(self, entries: Sequence[StoredEntry]) -> None: ...
    def entries(self, start: int, end: int) -> list[StoredEntry]: ...
    def next_index(self) -> int: ...

    # Sequencing. lock_sequencer returns False when another sequencer holds the lock.
    # get_tiles answers with the tiles it has, keyed (level, n), each at its stored width.
    def lock_sequencer(self) -> bool: ...
    def tree_size(self) -> int: ...
    def set_tree_size(self, size: int) -> None: ...
    def leaves(self, start: int, end: int) -> list[bytes]: ...
    def get_tiles(self, keys: Collection[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...
    def write_tiles(self, tiles: Sequence[tuple[Tile, bytes]]) -> None: ...
    def tile_count(self) -> int: ...

    # Checkpoints.
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...
    def latest_checkpoint(self, *, published: bool) -> StoredCheckpoint | None: ...
    def get_checkpoint(self, size: int) -> StoredCheckpoint | None: ...
    def checkpoints(self, *, after: int, limit: int) -> list[StoredCheckpoint]: ...
    def set_cosignatures(
        self, size: int, lines: Sequence[str], *, published_at: datetime | None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    """A witness's HTTP answer to ``add-checkpoint``: status, media type and body."""

    status: int
    content_type: str
    body: bytes


class WitnessTransport(Protocol):
    """Posts one ``add-checkpoint`` body to a witness's submission prefix.

    Raises ``TimeoutError`` or ``ConnectionError`` when there is no answer in time.
    """

    def add_checkpoint(self, url: str, body: bytes) -> WitnessAnswer: ...
