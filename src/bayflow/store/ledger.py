"""Ledger persistence: entries, hash tiles, checkpoints and the two log counters.

What is stored, and why (see also the comments in :mod:`bayflow.store.tables`):

- **entries** with their exact leaf bytes; the index is handed out when the entry is anchored.
- **tiles** rather than one row per stored hash: tlog-tiles hashes are what the API serves and
  what proofs are computed from, a tree of N leaves has about N/255 of them (2N stored hashes),
  and a full tile is immutable, so it can be exported or cached forever. The rightmost tile of
  each level grows in place; any narrower partial tile is a prefix of it.
- **checkpoints**, every one the log signed, so ``bayflow ledger fsck`` can check that each is
  consistent with the next.

Ordering writers. Anchoring transactions take the ``next_index`` row's lock first (an UPDATE,
which on SQLite also takes the database's write lock), so indexes are handed out and become
visible in order, without gaps. One sequencer integrates at a time: on PostgreSQL the
transaction-scoped advisory lock :data:`SEQUENCER_LOCK`, tried without waiting; on SQLite the
write lock, which already admits one writer at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from bayflow.ledger.entry import Entry
from bayflow.ledger.errors import MalformedEntry
from bayflow.ledger.interfaces import LedgerRepository, StoredCheckpoint, StoredEntry
from bayflow.ledger.tiles import Tile
from bayflow.store.driver import DriverListStatement, DriverStatement
from bayflow.store.engine import Database
from bayflow.store.tables import ledger_checkpoints, ledger_entries, ledger_state, ledger_tiles

__all__ = ["SEQUENCER_LOCK", "SqlLedgerRepository", "ledger_transactions"]

SEQUENCER_LOCK: Final = 0x62617966_6C6F7731
"""The PostgreSQL advisory lock key of the sequencer ("bayflow1" as a 64-bit integer)."""

_NEXT_INDEX: Final = "next_index"
_TREE_SIZE: Final = "tree_size"


def _entry(row: Row[Any], anchored_at: datetime | None = None) -> StoredEntry:
    leaf = bytes(row.leaf)
    try:
        schema = Entry.from_bytes(leaf).schema
    except MalformedEntry:
        # Kept readable, so that fsck can report which stored entry is damaged.
        schema = ""
    return StoredEntry(
        index=row.idx,
        leaf=leaf,
        kind=row.kind,
        digest=bytes(row.digest),
        schema=schema,
        issuer=row.issuer,
        anchored_at=row.anchored_at if anchored_at is None else anchored_at,
    )


def _checkpoint(row: Row[Any]) -> StoredCheckpoint:
    return StoredCheckpoint(
        size=row.size,
        root_hash=bytes(row.root_hash),
        note=row.note,
        cosignatures=tuple(row.cosignatures.split("\n")) if row.cosignatures else (),
        created_at=row.created_at,
        published_at=row.published_at,
    )


# The counters are read and moved by every anchoring: statements built once, compiled once.
# Run on every anchoring, on the driver's cursor (see store.driver).
_COUNTER: Final = DriverStatement(
    select(ledger_state.c.value).where(ledger_state.c.key == bindparam("counter"))
)
_SET_COUNTER: Final = DriverStatement(
    update(ledger_state)
    .where(ledger_state.c.key == bindparam("counter"))
    .values(value=bindparam("new_value"))
)
_LOCK_COUNTER: Final = DriverStatement(
    update(ledger_state)
    .where(ledger_state.c.key == bindparam("counter"))
    .values(value=ledger_state.c.value)
    .returning(ledger_state.c.value)
)

# Anchoring one commitment (a receipt, a consent event, a decision) is on the interchange's hot
# path: its look-up and insert run on the driver's cursor too. Batches keep the bulk SQL below.
_ENTRY_COLUMNS: Final = (
    ledger_entries.c.idx,
    ledger_entries.c.leaf,
    ledger_entries.c.kind,
    ledger_entries.c.digest,
    ledger_entries.c.issuer,
    ledger_entries.c.anchored_at,
)
_FEW: Final = 8
_ENTRIES_BY_DIGEST: Final = DriverListStatement(
    lambda items: select(*_ENTRY_COLUMNS).where(ledger_entries.c.digest.in_(items)),
    longest=_FEW,
)
_ADD_ENTRY: Final = DriverStatement(insert(ledger_entries))


class SqlLedgerRepository:
    """The SQL implementation of :class:`bayflow.ledger.interfaces.LedgerRepository`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # Counters.

    def _counter(self, key: str) -> int:
        value: int = _COUNTER.scalar(self._session, {"counter": key})
        return value

    def _set_counter(self, key: str, value: int) -> None:
        _SET_COUNTER.run(self._session, {"counter": key, "new_value": value})

    def _lock_counter(self, key: str) -> int:
        # A no-op UPDATE: it locks the row on PostgreSQL and takes SQLite's write lock, before
        # anything is read, so no reader snapshot can go stale under the transaction.
        value: int = _LOCK_COUNTER.scalar(self._session, {"counter": key})
        return value

    def lock_next_index(self) -> int:
        return self._lock_counter(_NEXT_INDEX)

    def next_index(self) -> int:
        return self._counter(_NEXT_INDEX)

    def set_next_index(self, value: int) -> None:
        self._set_counter(_NEXT_INDEX, value)

    def tree_size(self) -> int:
        return self._counter(_TREE_SIZE)

    def set_tree_size(self, size: int) -> None:
        self._set_counter(_TREE_SIZE, size)

    def lock_sequencer(self) -> bool:
        if self._dialect == "postgresql":
            locked: bool = self._session.execute(
                select(func.pg_try_advisory_xact_lock(SEQUENCER_LOCK))
            ).scalar_one()
            return locked
        self._lock_counter(_TREE_SIZE)
        return True

    # Entries.

    def find_by_digests(self, digests: Collection[bytes]) -> list[StoredEntry]:
        if not digests:
            return []
        if len(digests) <= _FEW:
            return [_entry(row) for row in _ENTRIES_BY_DIGEST.rows(self._session, list(digests))]
        # Raw driver SQL, as in add_entries: binding 1,000 digests through SQLAlchemy's types
        # cost a tenth of an anchoring request. And "digest IN (...)" alone, because SQLite
        # plans a row-value IN over (digest, kind) as a scan of the whole index.
        mark = "?" if self._dialect == "sqlite" else "%s"
        rows = self._session.connection().exec_driver_sql(
            f"SELECT idx, leaf, kind, digest, issuer, anchored_at FROM {ledger_entries.name} "  # noqa: S608 - fixed names only.
            f"WHERE digest IN ({', '.join([mark] * len(digests))})",
            tuple(digests),
        )
        dialect = self._session.get_bind().dialect
        to_time = ledger_entries.c.anchored_at.type.dialect_impl(dialect).result_processor(
            dialect, None
        )
        return [
            _entry(row, to_time(row.anchored_at) if to_time else row.anchored_at) for row in rows
        ]

    def add_entries(self, entries: Sequence[StoredEntry]) -> None:
        if not entries:
            return
        if len(entries) == 1:
            (stored,) = entries
            _ADD_ENTRY.run(
                self._session,
                {
                    "idx": stored.index,
                    "kind": stored.kind,
                    "digest": stored.digest,
                    "issuer": stored.issuer,
                    "leaf": stored.leaf,
                    "anchored_at": stored.anchored_at,
                },
            )
            return
        # The bulk path of anchoring, measured: SQLAlchemy's per-row bind processing cost as
        # much as SQLite's own insert. Every value here is bytes, str or int, which both
        # drivers take as they are, except the time, converted once for the whole batch.
        dialect = self._session.get_bind().dialect
        to_db = ledger_entries.c.anchored_at.type.dialect_impl(dialect).bind_processor(dialect)
        times: dict[datetime, Any] = {}
        rows = []
        for stored in entries:
            at = stored.anchored_at
            if at not in times:
                times[at] = to_db(at) if to_db else at
            rows.append(
                (stored.index, stored.kind, stored.digest, stored.issuer, stored.leaf, times[at])
            )
        mark = "?" if self._dialect == "sqlite" else "%s"
        self._session.connection().exec_driver_sql(
            f"INSERT INTO {ledger_entries.name} (idx, kind, digest, issuer, leaf, anchored_at) "  # noqa: S608 - fixed names only.
            f"VALUES ({', '.join([mark] * 6)})",
            rows,
        )

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        rows = self._session.execute(
            select(ledger_entries)
            .where(ledger_entries.c.idx >= start, ledger_entries.c.idx < end)
            .order_by(ledger_entries.c.idx)
        )
        return [_entry(row) for row in rows]

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf bytes of entries ``start`` to ``end - 1``, stopping before any gap."""
        rows = self._session.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaf)
            .where(ledger_entries.c.idx >= start, ledger_entries.c.idx < end)
            .order_by(ledger_entries.c.idx)
        )
        leaves = []
        for expected, (index, leaf) in enumerate(rows, start):
            if index != expected:
                break
            leaves.append(bytes(leaf))
        return leaves

    # Tiles.

    def get_tiles(self, keys: Collection[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        by_level: dict[int, list[int]] = {}
        for level, n in keys:
            by_level.setdefault(level, []).append(n)
        found: dict[tuple[int, int], bytes] = {}
        # One query per level, for the same reason as in find_by_digests.
        for level, ns in by_level.items():
            rows = self._session.execute(
                select(ledger_tiles.c.n, ledger_tiles.c.data).where(
                    ledger_tiles.c.level == level, ledger_tiles.c.n.in_(ns)
                )
            )
            for n, data in rows:
                found[level, n] = bytes(data)
        return found

    def write_tiles(self, tiles: Sequence[tuple[Tile, bytes]]) -> None:
        if not tiles:
            return
        rows = [
            {"level": tile.level, "n": tile.n, "width": tile.width, "data": data}
            for tile, data in tiles
        ]
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(ledger_tiles)
        # A tile only ever grows: the guard keeps a full tile from being rewritten at all.
        statement = statement.on_conflict_do_update(
            index_elements=[ledger_tiles.c.level, ledger_tiles.c.n],
            set_={"width": statement.excluded.width, "data": statement.excluded.data},
            where=ledger_tiles.c.width < statement.excluded.width,
        )
        self._session.execute(statement, rows)

    def tile_count(self) -> int:
        count: int = self._session.execute(
            select(func.count()).select_from(ledger_tiles)
        ).scalar_one()
        return count

    # Checkpoints.

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        self._session.execute(
            insert(ledger_checkpoints).values(
                size=checkpoint.size,
                root_hash=checkpoint.root_hash,
                note=checkpoint.note,
                cosignatures="\n".join(checkpoint.cosignatures),
                created_at=checkpoint.created_at,
                published_at=checkpoint.published_at,
            )
        )

    def latest_checkpoint(self, *, published: bool) -> StoredCheckpoint | None:
        query = select(ledger_checkpoints).order_by(ledger_checkpoints.c.size.desc()).limit(1)
        if published:
            query = query.where(ledger_checkpoints.c.published_at.is_not(None))
        row = self._session.execute(query).one_or_none()
        return _checkpoint(row) if row else None

    def get_checkpoint(self, size: int) -> StoredCheckpoint | None:
        row = self._session.execute(
            select(ledger_checkpoints).where(ledger_checkpoints.c.size == size)
        ).one_or_none()
        return _checkpoint(row) if row else None

    def checkpoints(self, *, after: int, limit: int) -> list[StoredCheckpoint]:
        rows = self._session.execute(
            select(ledger_checkpoints)
            .where(ledger_checkpoints.c.size > after)
            .order_by(ledger_checkpoints.c.size)
            .limit(limit)
        )
        return [_checkpoint(row) for row in rows]

    def set_cosignatures(
        self, size: int, lines: Sequence[str], *, published_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"cosignatures": "\n".join(lines)}
        if published_at is not None:
            values["published_at"] = published_at
        self._session.execute(
            update(ledger_checkpoints).where(ledger_checkpoints.c.size == size).values(**values)
        )


def ledger_transactions(
    database: Database,
) -> Callable[[], AbstractContextManager[LedgerRepository]]:
    """A factory of transactions, each yielding a repository, for the sequencer's own edge."""

    @contextmanager
    def transaction() -> Iterator[LedgerRepository]:
        with database.transaction() as session:
            yield SqlLedgerRepository(session)

    return transaction
