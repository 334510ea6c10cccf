from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bayflow.clock import FixedClock
from bayflow.errors import BayflowError
from bayflow.ledger.cosignature import CosignatureSigner, WitnessPolicy
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.errors import (
    ConsistencyProofInvalid,
    MalformedWitnessRequest,
    NoteSignatureInvalid,
    UntrustedNote,
)
from bayflow.ledger.interfaces import WitnessAnswer
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import NoteSignature
from bayflow.ledger.proof import verify_proof
from bayflow.ledger.sequencer import SIZE_MEDIA_TYPE, Sequencer, WitnessEndpoint
from bayflow.ledger.service import Commitment, LedgerService, LogPolicy
from bayflow.ledger.witness import OldSizeMismatch, UnknownLog, Witness
from bayflow.store import Database, upgrade
from bayflow.store.ledger import ledger_transactions
from tests.unit.ledger.conftest import LOG_SIGNER, NOW, Transaction

HK = CosignatureSigner.generate("witness.hk.example/w1")
SZ = CosignatureSigner.generate("witness.sz.example/w1")
HK_URL, SZ_URL = "http://hk.witness.test", "http://sz.witness.test"

_STATUS = {
    UnknownLog: 404,
    UntrustedNote: 403,
    NoteSignatureInvalid: 403,
    MalformedWitnessRequest: 400,
    ConsistencyProofInvalid: 422,
}


@dataclass
class FakeWitnesses:
    """Real tlog-witness logic (bayflow.ledger.witness) behind a fake network."""

    witnesses: dict[str, Witness]
    timeouts: dict[str, int] = field(default_factory=dict)
    impostor: set[str] = field(default_factory=set)
    requests: list[tuple[str, int]] = field(default_factory=list)

    def add_checkpoint(self, url: str, body: bytes) -> WitnessAnswer:
        self.requests.append((url, int(body.split(b"\n", 1)[0].split()[1])))
        if self.timeouts.get(url, 0) > 0:
            self.timeouts[url] -= 1
            raise TimeoutError(url)
        witness = self.witnesses[url]
        try:
            lines = witness.add_checkpoint(body, NOW)
        except OldSizeMismatch as exc:
            return WitnessAnswer(409, SIZE_MEDIA_TYPE, f"{exc.size}\n".encode())
        except BayflowError as exc:
            status = next(code for cls, code in _STATUS.items() if isinstance(exc, cls))
            return WitnessAnswer(status, "text/plain", exc.message.encode())
        if url in self.impostor:
            # Lines under the witness's name and key ID, signed over other bytes.
            lines = tuple(
                NoteSignature(line.name, line.key_id, witness.signer.sign_at(b"other", NOW))
                for line in lines
            )
        return WitnessAnswer(200, "text/plain", "".join(f"{x.to_line()}\n" for x in lines).encode())


def witnesses() -> dict[str, Witness]:
    log_key = LOG_SIGNER.verifier()
    return {HK_URL: Witness(HK, [log_key]), SZ_URL: Witness(SZ, [log_key])}


def sequencer(
    transaction: Transaction, clock: FixedClock, network: FakeWitnesses, quorum: int = 2
) -> Sequencer:
    policy = LogPolicy(LOG_SIGNER, (HK.verifier(), SZ.verifier()), quorum)
    endpoints = [WitnessEndpoint(HK_URL, HK.verifier()), WitnessEndpoint(SZ_URL, SZ.verifier())]
    return Sequencer(transaction, policy, clock, witnesses=endpoints, transport=network)


def anchor(transaction: Transaction, clock: FixedClock, *numbers: int) -> None:
    with transaction() as repo:
        LedgerService(repo, LogPolicy(LOG_SIGNER), clock).anchor(
            [Commitment(EntryKind.DOCUMENT, n.to_bytes(32, "big"), "s/1") for n in numbers],
            issuer="org_a",
        )


class TestSequencerWithoutWitnesses:
    """Without witnesses a checkpoint is published the moment its entries are integrated."""

    def test_a_round_integrates_everything_pending_and_publishes(
        self, transaction: Transaction, policy: LogPolicy, clock: FixedClock
    ) -> None:
        anchor(transaction, clock, *range(10))
        rounds = Sequencer(transaction, policy, clock, batch=4)
        published = rounds.sequence_once()
        assert published is not None
        assert published.size == 10
        with transaction() as repo:
            sizes = [c.size for c in repo.checkpoints(after=-1, limit=10)]
        assert sizes == [4, 8, 10]

    def test_endpoints_must_match_the_policy_witnesses(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        policy = LogPolicy(LOG_SIGNER, (HK.verifier(),), 1)
        with pytest.raises(ValueError, match="endpoint"):
            Sequencer(transaction, policy, clock)


class TestSequencerWithWitnesses:
    """Checkpoints go to every witness (c2sp.org/tlog-witness) and are published at quorum."""

    def test_both_witnesses_cosign_and_proofs_carry_their_cosignatures(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        network = FakeWitnesses(witnesses())
        rounds = sequencer(transaction, clock, network)
        anchor(transaction, clock, 1, 2, 3)
        published = rounds.sequence_once()
        assert published is not None
        assert published.size == 3
        assert len(published.cosignatures) == 2
        anchor(transaction, clock, 4)
        published = rounds.sequence_once()
        assert published is not None
        assert published.size == 4
        with transaction() as repo:
            ledger = LedgerService(repo, rounds.log, clock)
            stored = repo.entries(0, 4)
            for item in ledger.prove(stored, published):
                assert item.proof is not None
                verify_proof(
                    item.proof,
                    hash_leaf(item.stored.leaf),
                    LOG_SIGNER.verifier(),
                    (HK.verifier(), SZ.verifier()),
                    2,
                )
        policy = WitnessPolicy((HK.verifier(), SZ.verifier()), 2)
        assert len(policy.check(published.signed_note())) == 2
        # The second round sent the witnesses' known size and a consistency proof from it.
        assert (HK_URL, 3) in network.requests

    def test_a_restarted_hub_learns_each_witness_size_from_its_409(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        network = FakeWitnesses(witnesses())
        anchor(transaction, clock, 1, 2)
        sequencer(transaction, clock, network).sequence_once()
        anchor(transaction, clock, 3)
        network.requests.clear()
        published = sequencer(transaction, clock, network).sequence_once()
        assert published is not None
        assert published.size == 3
        assert network.requests.count((HK_URL, 0)) == 1
        assert (HK_URL, 2) in network.requests

    def test_a_witness_that_times_out_is_retried(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        network = FakeWitnesses(witnesses(), timeouts={SZ_URL: 2})
        anchor(transaction, clock, 1)
        published = sequencer(transaction, clock, network).sequence_once()
        assert published is not None
        assert published.size == 1
        assert network.requests.count((SZ_URL, 0)) == 3

    def test_without_the_quorum_nothing_is_published_until_a_later_round(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        network = FakeWitnesses(witnesses(), timeouts={SZ_URL: 100})
        rounds = sequencer(transaction, clock, network)
        anchor(transaction, clock, 1)
        first = rounds.sequence_once()
        assert first is None
        network.timeouts.clear()
        published = rounds.sequence_once()
        assert published is not None
        assert published.size == 1

    def test_a_quorum_of_one_publishes_with_one_witness_down(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        network = FakeWitnesses(witnesses(), timeouts={HK_URL: 100})
        anchor(transaction, clock, 1)
        published = sequencer(transaction, clock, network, quorum=1).sequence_once()
        assert published is not None
        assert len(published.cosignatures) == 1

    def test_a_cosignature_that_does_not_verify_is_not_kept(
        self, transaction: Transaction, clock: FixedClock
    ) -> None:
        network = FakeWitnesses(witnesses(), impostor={SZ_URL})
        anchor(transaction, clock, 1)
        assert sequencer(transaction, clock, network).sequence_once() is None
        with transaction() as repo:
            latest = repo.latest_checkpoint(published=False)
        assert latest is not None
        assert len(latest.cosignatures) == 1

    def test_a_witness_that_saw_another_tree_refuses_a_fork(
        self, transaction: Transaction, clock: FixedClock, tmp_path: Path
    ) -> None:
        network = FakeWitnesses(witnesses())
        anchor(transaction, clock, 1, 2, 3)
        assert sequencer(transaction, clock, network).sequence_once() is not None
        # The same log key with another history: the witnesses have cosigned size 3 of the
        # first, so the second's consistency proof from size 3 cannot verify.
        other = Database(f"sqlite:///{tmp_path / 'fork.db'}")
        upgrade(other)
        fork = ledger_transactions(other)
        anchor(fork, clock, 7, 8, 9, 10)
        assert sequencer(fork, clock, network).sequence_once() is None
        assert (HK_URL, 3) in network.requests
        other.dispose()
