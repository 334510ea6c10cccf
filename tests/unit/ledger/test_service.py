import base64
import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayflow.clock import FixedClock
from bayflow.errors import InvalidInput, NotFound, PermissionDenied
from bayflow.ledger.cosignature import CosignatureSigner
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.errors import MalformedEntry
from bayflow.ledger.interfaces import LedgerRepository
from bayflow.ledger.merkle import (
    EMPTY_ROOT,
    hash_leaf,
    hash_reader_for_leaves,
    root_from_leaf_hashes,
    verify_consistency,
)
from bayflow.ledger.proof import verify_proof
from bayflow.ledger.service import (
    MAX_BATCH,
    Commitment,
    LedgerService,
    LogPolicy,
    parse_digest,
)
from bayflow.ledger.tiles import tile_data, tiles_for_size
from bayflow.store import Database, upgrade
from bayflow.store.ledger import SqlLedgerRepository
from tests.unit.ledger.conftest import LOG_SIGNER, NOW, Transaction

ISSUER = "org_bayline"
OTHER = "org_lionrock"


def digest(n: int) -> bytes:
    return n.to_bytes(32, "big")


def commitments(*numbers: int, kind: EntryKind = EntryKind.DOCUMENT) -> list[Commitment]:
    return [Commitment(kind, digest(n), "vat-annual-summary/1") for n in numbers]


@contextmanager
def service(
    transaction: Transaction, policy: LogPolicy, clock: FixedClock
) -> Iterator[LedgerService]:
    with transaction() as repo:
        yield LedgerService(repo, policy, clock)


def integrate_all(transaction: Transaction, policy: LogPolicy, clock: FixedClock) -> None:
    while True:
        with service(transaction, policy, clock) as ledger:
            if not ledger.integrate().more:
                return


class TestParseDigest:
    """Commitments are accepted as hex or base64url, in one spelling each."""

    def test_hex_and_base64url_name_the_same_bytes(self) -> None:
        raw = bytes(range(32))
        encoded = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        assert parse_digest(raw.hex()) == raw
        assert parse_digest(raw.hex().upper()) == raw
        assert parse_digest(encoded) == raw

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "00" * 31,
            "zz" * 32,
            "A" * 42,
            "A" * 44,
            "AAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
    )
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(MalformedEntry):
            parse_digest(text)

    def test_non_canonical_base64url_padding_bits_are_refused(self) -> None:
        canonical = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
        assert canonical.endswith("A")
        with pytest.raises(MalformedEntry):
            parse_digest(canonical[:-1] + "B")


class TestAnchoring:
    """Anchoring hands out indexes in order and never makes a second entry for a commitment."""

    def test_a_batch_gets_consecutive_indexes_in_request_order(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            first = ledger.anchor(commitments(1, 2, 3), issuer=ISSUER)
        with service(transaction, policy, clock) as ledger:
            second = ledger.anchor(commitments(4), issuer=ISSUER)
        assert [a.stored.index for a in first + second] == [0, 1, 2, 3]
        assert all(a.created for a in first + second)
        stored = first[1].stored
        assert stored.entry.digest == digest(2)
        assert stored.entry.issuer == ISSUER
        assert stored.schema == "vat-annual-summary/1"
        assert stored.anchored_at == NOW

    def test_a_resubmission_returns_the_original_entry_whoever_sends_it(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(1, 2), issuer=ISSUER)
        with service(transaction, policy, clock) as ledger:
            again = ledger.anchor(
                [Commitment(EntryKind.DOCUMENT, digest(2), "other/1"), *commitments(3)],
                issuer=OTHER,
            )
        assert [(a.stored.index, a.created) for a in again] == [(1, False), (2, True)]
        assert again[0].stored.issuer == ISSUER
        assert again[0].stored.schema == "vat-annual-summary/1"
        with transaction() as repo:
            assert repo.next_index() == 3

    def test_duplicates_within_a_batch_share_one_entry(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            anchored = ledger.anchor(commitments(7, 8, 7), issuer=ISSUER)
        assert [(a.stored.index, a.created) for a in anchored] == [(0, True), (1, True), (0, False)]

    def test_the_same_digest_as_another_kind_is_another_entry(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(1), issuer=ISSUER)
            record = ledger.anchor(commitments(1, kind=EntryKind.RECORD), issuer=ISSUER)
        assert record[0].stored.index == 1
        assert record[0].created

    @pytest.mark.parametrize("count", [0, MAX_BATCH + 1])
    def test_empty_and_oversized_batches_are_refused(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock, count: int
    ) -> None:
        with service(transaction, policy, clock) as ledger, pytest.raises(InvalidInput):
            ledger.anchor(commitments(*range(count)), issuer=ISSUER)

    def test_a_revocation_cannot_be_anchored_as_a_commitment(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with (
            service(transaction, policy, clock) as ledger,
            pytest.raises(InvalidInput, match="revocations"),
        ):
            ledger.anchor(commitments(1, kind=EntryKind.REVOCATION), issuer=ISSUER)

    def test_a_schema_the_entry_layout_cannot_hold_is_refused(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        bad = Commitment(EntryKind.DOCUMENT, digest(1), "has spaces")
        with service(transaction, policy, clock) as ledger, pytest.raises(MalformedEntry):
            ledger.anchor([bad], issuer=ISSUER)


class TestRevocation:
    """Only the organisation that anchored a commitment can anchor its revocation."""

    def test_the_issuer_revokes_and_the_status_shows_it_with_proofs(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(1, 2), issuer=ISSUER)
            revocation = ledger.revoke(digest(1), issuer=ISSUER)
        assert revocation.stored.kind == EntryKind.REVOCATION
        assert revocation.stored.schema == "vat-annual-summary/1"
        integrate_all(transaction, policy, clock)
        with service(transaction, policy, clock) as ledger:
            status = ledger.status(digest(1))
        assert [item.stored.index for item in status.entries] == [0]
        assert status.revocation is not None
        assert status.revocation.stored.index == 2
        for item in (*status.entries, status.revocation):
            assert item.proof is not None
            verify_proof(item.proof, hash_leaf(item.stored.leaf), policy.verifier, (), 0)

    def test_another_organisation_may_not_revoke(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(1), issuer=ISSUER)
        with (
            service(transaction, policy, clock) as ledger,
            pytest.raises(PermissionDenied, match=ISSUER),
        ):
            ledger.revoke(digest(1), issuer=OTHER)

    def test_a_commitment_not_in_the_log_cannot_be_revoked(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger, pytest.raises(NotFound):
            ledger.revoke(digest(9), issuer=ISSUER)

    def test_revoking_again_returns_the_first_revocation(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(1), issuer=ISSUER)
            first = ledger.revoke(digest(1), issuer=ISSUER)
            again = ledger.revoke(digest(1), issuer=ISSUER)
        assert (again.stored.index, again.created) == (first.stored.index, False)


class TestIntegration:
    """The sequencer's step turns pending entries into tiles and a signed checkpoint."""

    def test_a_new_log_signs_the_empty_tree_once(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            first = ledger.integrate()
        with service(transaction, policy, clock) as ledger:
            second = ledger.integrate()
        assert first.checkpoint is not None
        assert (first.checkpoint.size, first.checkpoint.root_hash) == (0, EMPTY_ROOT)
        assert first.checkpoint.published_at == NOW
        assert second.locked
        assert second.checkpoint is None

    def test_a_capped_step_says_more_entries_wait(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(*range(10)), issuer=ISSUER)
            step = ledger.integrate(max_entries=4)
        assert step.checkpoint is not None
        assert step.checkpoint.size == 4
        assert step.more

    def test_with_witnesses_a_checkpoint_waits_to_be_published(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        witness = CosignatureSigner.generate("witness.example/hk")
        policy = LogPolicy(LOG_SIGNER, (witness.verifier(),), quorum=1)
        with service(transaction, policy, clock) as ledger:
            ledger.anchor(commitments(1), issuer=ISSUER)
            step = ledger.integrate()
            assert step.checkpoint is not None
            assert step.checkpoint.published_at is None
            assert ledger.published() is None
            assert ledger.status(digest(1)).entries[0].proof is None

    def test_an_impossible_witness_quorum_is_refused(self) -> None:
        with pytest.raises(ValueError, match="quorum"):
            LogPolicy(LOG_SIGNER, (), quorum=1)


@pytest.fixture(scope="module")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@contextmanager
def fresh_log(template: Path, tmp_dir: Path) -> Iterator[Database]:
    path = tmp_dir / "ledger.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    database = Database(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.dispose()


def _proofs_hold(repo: LedgerRepository, policy: LogPolicy, leaves: list[bytes]) -> None:
    ledger = LedgerService(repo, policy, FixedClock(NOW))
    checkpoint = ledger.published()
    assert checkpoint is not None
    assert checkpoint.size == len(leaves)
    assert checkpoint.root_hash == root_from_leaf_hashes(hash_leaf(leaf) for leaf in leaves)
    stored = repo.entries(0, len(leaves))
    for item in ledger.prove(stored, checkpoint):
        assert item.proof is not None
        verify_proof(item.proof, hash_leaf(item.stored.leaf), policy.verifier, (), 0)


class TestLogProperties:
    """Whatever the batches and integration steps, the stored log is the RFC 9162 tree."""

    @settings(max_examples=20)
    @given(
        batches=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=5),
        step=st.integers(min_value=1, max_value=700),
    )
    def test_tiles_proofs_and_checkpoints_match_a_tree_built_from_scratch(
        self,
        template_database: Path,
        tmp_path_factory: pytest.TempPathFactory,
        batches: list[int],
        step: int,
    ) -> None:
        policy = LogPolicy(LOG_SIGNER)
        clock = FixedClock(NOW)
        with fresh_log(template_database, tmp_path_factory.mktemp("log")) as database:
            number = 0
            for size in batches:
                with database.transaction() as session:
                    repo = SqlLedgerRepository(session)
                    LedgerService(repo, policy, clock).anchor(
                        commitments(*range(number, number + size)), issuer=ISSUER
                    )
                    number += size
                    # Integrate part of the way after each batch, the rest at the end.
                    LedgerService(repo, policy, clock).integrate(max_entries=step)
            while True:
                with database.transaction() as session:
                    if (
                        not LedgerService(SqlLedgerRepository(session), policy, clock)
                        .integrate(max_entries=step)
                        .more
                    ):
                        break
            with database.transaction() as session:
                repo = SqlLedgerRepository(session)
                leaves = [stored.leaf for stored in repo.entries(0, number)]
                reader = hash_reader_for_leaves([hash_leaf(leaf) for leaf in leaves])
                for tile in tiles_for_size(number):
                    assert LedgerService(repo, policy, clock).tile(tile) == tile_data(tile, reader)
                assert repo.tile_count() == len(list(tiles_for_size(number)))
                _proofs_hold(repo, policy, leaves)
                checkpoints = repo.checkpoints(after=-1, limit=1000)
                ledger = LedgerService(repo, policy, clock)
                for older, newer in itertools.pairwise(checkpoints[1:]):
                    proof = ledger.consistency(older.size, newer.size)
                    verify_consistency(
                        older.size, newer.size, proof, older.root_hash, newer.root_hash
                    )
