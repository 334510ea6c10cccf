from collections.abc import Callable

import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.errors import NotFound
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.errors import CheckpointInvalid, ConsistencyProofInvalid, UntrustedNote
from bayflow.ledger.monitor import LogMonitor
from bayflow.ledger.note import Ed25519Signer
from bayflow.ledger.service import Commitment, LedgerService, LogPolicy
from bayflow.ledger.tiles import Tile
from bayflow.store import Database, upgrade
from bayflow.store.ledger import ledger_transactions
from tests.unit.ledger.conftest import LOG_SIGNER, NOW, Transaction

POLICY = LogPolicy(LOG_SIGNER)


def grow(transaction: Transaction, *numbers: int, policy: LogPolicy = POLICY) -> None:
    with transaction() as repo:
        ledger = LedgerService(repo, policy, FixedClock(NOW))
        ledger.anchor(
            [Commitment(EntryKind.DOCUMENT, n.to_bytes(32, "big"), "vat/1") for n in numbers],
            issuer="org_bayline",
        )
        ledger.integrate()


def served(transaction: Transaction) -> Callable[[str], bytes]:
    """The log's HTTP resources, read straight from its store."""

    def fetch(path: str) -> bytes:
        with transaction() as repo:
            ledger = LedgerService(repo, POLICY, FixedClock(NOW))
            if path == "checkpoint":
                published = ledger.published()
                if published is None:
                    raise NotFound("no checkpoint")
                return published.signed_note().to_bytes()
            return ledger.tile(Tile.from_path(path))

    return fetch


class TestLogMonitor:
    """A monitor accepts only checkpoints that extend what it verified before."""

    def test_a_growing_log_is_followed(self, transaction: Transaction) -> None:
        grow(transaction, *range(300))
        monitor = LogMonitor(served(transaction), LOG_SIGNER.verifier())
        first, new = monitor.check()
        assert (first.size, new) == (300, True)
        assert monitor.check()[1] is False
        grow(transaction, *range(300, 1000))
        second, new = monitor.check()
        assert (second.size, new) == (1000, True)

    def test_a_fork_under_the_same_key_raises_an_alarm(
        self, transaction: Transaction, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        grow(transaction, *range(10))
        monitor = LogMonitor(served(transaction), LOG_SIGNER.verifier())
        monitor.check()
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('fork') / 'fork.db'}")
        upgrade(database)
        other = ledger_transactions(database)
        grow(other, *range(100, 120))
        forked = LogMonitor(served(other), LOG_SIGNER.verifier(), last=monitor.last)
        with pytest.raises(ConsistencyProofInvalid):
            forked.check()
        database.dispose()

    def test_a_rollback_raises_an_alarm(self, transaction: Transaction) -> None:
        grow(transaction, *range(10))
        earlier = LogMonitor(served(transaction), LOG_SIGNER.verifier())
        earlier.check()
        old = earlier.last
        grow(transaction, *range(10, 20))
        monitor = LogMonitor(served(transaction), LOG_SIGNER.verifier())
        monitor.check()
        assert old is not None
        rolled_back = LogMonitor(
            lambda _path: old.to_bytes(), LOG_SIGNER.verifier(), last=monitor.last
        )
        with pytest.raises(ConsistencyProofInvalid, match="went back"):
            rolled_back.check()

    def test_a_checkpoint_by_an_unexpected_key_raises_an_alarm(
        self, transaction: Transaction
    ) -> None:
        impostor = Ed25519Signer(LOG_SIGNER.name, SigningKey(b"\x0b" * 32))
        grow(transaction, 1, policy=LogPolicy(impostor))
        monitor = LogMonitor(served(transaction), LOG_SIGNER.verifier())
        with pytest.raises(UntrustedNote):
            monitor.check()

    def test_tiles_that_disagree_with_the_checkpoint_raise_an_alarm(
        self, transaction: Transaction
    ) -> None:
        grow(transaction, *range(5))
        honest = served(transaction)

        def lying(path: str) -> bytes:
            data = honest(path)
            return data if path == "checkpoint" else bytes(len(data))

        with pytest.raises(CheckpointInvalid, match="tiles"):
            LogMonitor(lying, LOG_SIGNER.verifier()).check()
