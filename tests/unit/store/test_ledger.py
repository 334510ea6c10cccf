import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.interfaces import StoredCheckpoint, StoredEntry
from bayflow.ledger.merkle import hash_leaf, root_from_leaf_hashes
from bayflow.ledger.note import Ed25519Signer
from bayflow.ledger.proof import verify_proof
from bayflow.ledger.service import Commitment, LedgerService, LogPolicy
from bayflow.ledger.tiles import Tile
from bayflow.store import Database, upgrade
from bayflow.store.ledger import SqlLedgerRepository
from tests.conftest import _fresh_postgres_database

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
POLICY = LogPolicy(Ed25519Signer("ledger.bayflow.example", SigningKey(b"\x09" * 32)))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


def stored(index: int, n: int, kind: EntryKind = EntryKind.DOCUMENT) -> StoredEntry:
    entry = Entry(kind, n.to_bytes(32, "big"), "vat/1", "org_bayline")
    return StoredEntry(
        index, entry.to_bytes(), kind.value, entry.digest, "vat/1", "org_bayline", NOW
    )


def checkpoint(size: int, *, published: bool) -> StoredCheckpoint:
    return StoredCheckpoint(
        size,
        bytes(32),
        f"note {size}\n",
        (),
        NOW,
        NOW + timedelta(seconds=1) if published else None,
    )


class TestSqlLedgerRepository:
    """Ledger rows round-trip through SQLite and PostgreSQL unchanged."""

    def test_entries_round_trip_and_are_found_by_digest_across_kinds(
        self, database: Database
    ) -> None:
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            assert repo.lock_next_index() == 0
            repo.add_entries([stored(0, 1), stored(1, 2), stored(2, 1, EntryKind.REVOCATION)])
            repo.set_next_index(3)
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            assert repo.next_index() == 3
            found = sorted(repo.find_by_digests([(1).to_bytes(32, "big")]), key=lambda e: e.index)
            assert [(e.index, e.kind) for e in found] == [(0, "document"), (2, "revocation")]
            assert found[0] == stored(0, 1)
            assert found[0].anchored_at.tzinfo is not None
            assert repo.find_by_digests([]) == []
            assert [e.index for e in repo.entries(1, 10)] == [1, 2]
            assert repo.leaves(0, 2) == [stored(0, 1).leaf, stored(1, 2).leaf]

    def test_one_entry_and_a_few_digests_take_the_short_path_to_the_same_rows(
        self, database: Database
    ) -> None:
        # One entry and up to eight digests run as precompiled driver statements; more go
        # through the bulk SQL. Both must store and read back the same values.
        entries = [stored(i, 100 + i) for i in range(12)]
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            repo.add_entries(entries[:1])
            repo.add_entries(entries[1:])
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            digests = [e.digest for e in entries]
            for wanted in (digests[:1], digests[:8], digests[:9], digests):
                found = sorted(repo.find_by_digests(wanted), key=lambda e: e.index)
                assert found == entries[: len(wanted)]
            assert all(e.anchored_at == NOW and e.anchored_at.tzinfo for e in found)
            assert repo.entries(0, 12) == entries

    def test_a_commitment_is_stored_once_per_kind(self, database: Database) -> None:
        with pytest.raises(IntegrityError), database.transaction() as session:
            SqlLedgerRepository(session).add_entries([stored(0, 1), stored(1, 1)])

    def test_leaves_stop_before_a_gap(self, database: Database) -> None:
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            repo.add_entries([stored(0, 1), stored(1, 2), stored(3, 4)])
            assert len(repo.leaves(0, 10)) == 2

    def test_tiles_grow_in_place_and_full_tiles_never_change(self, database: Database) -> None:
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            repo.write_tiles([(Tile(0, 0, 2), b"a" * 64), (Tile(1, 3, 1), b"z" * 32)])
            repo.write_tiles([(Tile(0, 0, 5), b"a" * 64 + b"b" * 96)])
            # A narrower or equal write is ignored: tiles only ever grow.
            repo.write_tiles([(Tile(0, 0, 1), b"x" * 32)])
            repo.write_tiles([(Tile(0, 0), b"c" * 8192)])
            repo.write_tiles([(Tile(0, 0), b"d" * 8192)])
            tiles = repo.get_tiles([(0, 0), (1, 3), (2, 0)])
            assert tiles == {(0, 0): b"c" * 8192, (1, 3): b"z" * 32}
            assert repo.tile_count() == 2

    def test_checkpoints_publish_and_gather_cosignatures(self, database: Database) -> None:
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            assert repo.latest_checkpoint(published=False) is None
            repo.add_checkpoint(checkpoint(0, published=True))
            repo.add_checkpoint(checkpoint(5, published=False))
            assert repo.latest_checkpoint(published=True) == checkpoint(0, published=True)
            assert repo.latest_checkpoint(published=False) == checkpoint(5, published=False)
            repo.set_cosignatures(5, ["— w1 AAAA", "— w2 BBBB"], published_at=None)
            repo.set_cosignatures(5, ["— w1 AAAA", "— w2 BBBB"], published_at=NOW)
            latest = repo.latest_checkpoint(published=True)
            assert latest is not None
            assert (latest.size, latest.cosignatures) == (5, ("— w1 AAAA", "— w2 BBBB"))
            assert latest.published_at == NOW
            assert [c.size for c in repo.checkpoints(after=0, limit=5)] == [5]
            assert repo.get_checkpoint(4) is None

    def test_the_log_is_the_same_on_both_databases(self, database: Database) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            ledger = LedgerService(SqlLedgerRepository(session), POLICY, clock)
            numbers = range(600)
            ledger.anchor(
                [Commitment(EntryKind.DOCUMENT, n.to_bytes(32, "big"), "vat/1") for n in numbers],
                issuer="org_bayline",
            )
        with database.transaction() as session:
            published = LedgerService(SqlLedgerRepository(session), POLICY, clock).integrate()
        assert published.checkpoint is not None
        # The root is fixed by the entries alone, whatever the database.
        with database.transaction() as session:
            leaves = SqlLedgerRepository(session).leaves(0, 600)
        assert published.checkpoint.root_hash == root_from_leaf_hashes(map(hash_leaf, leaves))
        with database.transaction() as session:
            repo = SqlLedgerRepository(session)
            ledger = LedgerService(repo, POLICY, clock)
            for item in ledger.prove(repo.entries(0, 600), ledger.published()):
                assert item.proof is not None
                verify_proof(item.proof, hash_leaf(item.stored.leaf), POLICY.verifier, (), 0)


@pytest.mark.postgres
class TestPostgreSQLConcurrency:
    """On PostgreSQL one sequencer integrates at a time and anchorings never share an index."""

    @pytest.fixture
    def postgres(self, postgres_server_url: str) -> Iterator[Database]:
        for url in _fresh_postgres_database(postgres_server_url):
            db = Database(url)
            upgrade(db)
            yield db
            db.dispose()

    def test_the_sequencer_lock_admits_one_holder(self, postgres: Database) -> None:
        with postgres.transaction() as first:
            assert SqlLedgerRepository(first).lock_sequencer()
            with postgres.transaction() as second:
                assert not SqlLedgerRepository(second).lock_sequencer()
        with postgres.transaction() as again:
            assert SqlLedgerRepository(again).lock_sequencer()

    def test_concurrent_anchorings_get_distinct_gapless_indexes(self, postgres: Database) -> None:
        clock = FixedClock(NOW)
        errors: list[BaseException] = []

        def anchor(worker: int) -> None:
            try:
                for batch in range(5):
                    base = worker * 10_000 + batch * 100
                    shared = [Commitment(EntryKind.DOCUMENT, b"\x01" * 32, "vat/1")]
                    own = [
                        Commitment(EntryKind.DOCUMENT, (base + i).to_bytes(32, "big"), "vat/1")
                        for i in range(50)
                    ]
                    with postgres.transaction() as session:
                        LedgerService(SqlLedgerRepository(session), POLICY, clock).anchor(
                            shared + own, issuer="org_bayline"
                        )
            except BaseException as exc:  # noqa: BLE001 - reported by the test below.
                errors.append(exc)

        threads = [threading.Thread(target=anchor, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with postgres.transaction() as session:
            repo = SqlLedgerRepository(session)
            indexes = [entry.index for entry in repo.entries(0, 10_000)]
            assert indexes == list(range(4 * 5 * 50 + 1))
            assert repo.next_index() == len(indexes)
