"""The sequencer: the one part of the ledger that opens its own transactions.

Anchoring hands out indexes at once; the sequencer turns pending entries into tree hashes and
signed checkpoints, and gathers witness cosignatures. One round, :meth:`Sequencer.sequence_once`:

1. integrate pending entries and sign a checkpoint of the new tree, in one transaction per
   batch (:meth:`~bayflow.ledger.service.LedgerService.integrate`), so the checkpoint exists
   the moment its entries are integrated;
2. if the newest checkpoint still lacks its witness quorum, send it to each witness that has
   not cosigned it — ``POST <prefix>/add-checkpoint`` with the old size the witness last
   cosigned and a consistency proof from it (c2sp.org/tlog-witness) — outside any transaction,
   so a slow witness never holds a database lock;
3. store the cosignatures that verify and, once the quorum is reached, publish the checkpoint.

Every hub process may run a sequencer; the repository's lock lets one integrate at a time.
The hub runs rounds in the background (``bayflow.api.ledger``); tests call
:meth:`Sequencer.sequence_once` directly, so they drive the log step by step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final

from bayflow.clock import Clock
from bayflow.ledger._text import decode_decimal
from bayflow.ledger.cosignature import CosignatureVerifier
from bayflow.ledger.errors import CosignatureInvalid, LedgerError, MalformedNote
from bayflow.ledger.interfaces import LedgerRepository, StoredCheckpoint, WitnessTransport
from bayflow.ledger.note import Note, NoteSignature
from bayflow.ledger.service import (
    DEFAULT_INTEGRATION_BATCH,
    LedgerService,
    LogPolicy,
    LogReader,
)
from bayflow.ledger.witness import AddCheckpointRequest, parse_cosignatures
from bayflow.logs import get_logger

__all__ = ["SIZE_MEDIA_TYPE", "Sequencer", "WitnessEndpoint"]

_log = get_logger("bayflow.ledger.sequencer")

SIZE_MEDIA_TYPE: Final = "text/x.tlog.size"
"""The media type of a witness's 409 answer: its latest cosigned size (tlog-witness)."""

Transaction = Callable[[], AbstractContextManager[LedgerRepository]]


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    """A witness the hub sends checkpoints to: its submission prefix and its cosigning key."""

    url: str
    verifier: CosignatureVerifier

    @property
    def key(self) -> tuple[str, int]:
        return (self.verifier.name, self.verifier.key_id)


def _signature_key(line: str) -> tuple[str, int]:
    signature = NoteSignature.from_line(line)
    return (signature.name, signature.key_id)


class Sequencer:
    """Integrates, signs, distributes to witnesses and publishes; see the module docstring.

    ``transaction`` opens one transaction and yields a repository in it. ``witnesses`` pairs
    each witness of ``log`` with its URL; ``transport`` posts to them and ``attempts`` bounds
    the tries per witness and round (a timeout, or a 409 naming the witness's size, uses one).
    """

    def __init__(
        self,
        transaction: Transaction,
        log: LogPolicy,
        clock: Clock,
        *,
        witnesses: Sequence[WitnessEndpoint] = (),
        transport: WitnessTransport | None = None,
        batch: int = DEFAULT_INTEGRATION_BATCH,
        attempts: int = 3,
    ) -> None:
        if {witness.key for witness in witnesses} != {
            (verifier.name, verifier.key_id) for verifier in log.witnesses
        }:
            raise ValueError("every witness of the log policy needs an endpoint, and only they")
        if witnesses and transport is None:
            raise ValueError("witnesses need a transport to reach them")
        self._transaction = transaction
        self._log = log
        self._clock = clock
        self._witnesses = tuple(witnesses)
        self._transport = transport
        self._batch = batch
        self._attempts = attempts
        # What each witness last cosigned, as far as this process knows. Unknown at first:
        # the first request says "old 0" and a 409 answer tells the real size (tlog-witness).
        self._witness_sizes: dict[str, int] = {}

    @property
    def log(self) -> LogPolicy:
        return self._log

    def sequence_once(self) -> StoredCheckpoint | None:
        """Run one round; return the newest published checkpoint afterwards, if any."""
        # (1):
        locked = False
        while True:
            with self._transaction() as repo:
                step = LedgerService(repo, self._log, self._clock).integrate(
                    max_entries=self._batch
                )
            locked = locked or step.locked
            if not step.more:
                break
        # (2) and (3): by the process that held the lock; another will have done it.
        if locked and self._witnesses:
            self._gather_cosignatures()
        with self._transaction() as repo:
            return repo.latest_checkpoint(published=True)

    def _gather_cosignatures(self) -> None:
        with self._transaction() as repo:
            latest = repo.latest_checkpoint(published=False)
        if latest is None or latest.published_at is not None:
            return
        have = {_signature_key(line) for line in latest.cosignatures}
        todo = [witness for witness in self._witnesses if witness.key not in have]
        with ThreadPoolExecutor(max_workers=len(todo) or 1) as pool:
            answers = list(pool.map(lambda witness: self._cosign(witness, latest), todo))
        lines = [line for answer in answers if answer for line in answer]
        if not lines:
            return
        with self._transaction() as repo:
            # Merge with what is stored now: another process may have added cosignatures.
            current = repo.get_checkpoint(latest.size)
            assert current is not None
            merged = {_signature_key(line): line for line in (*current.cosignatures, *lines)}
            trusted = {(verifier.name, verifier.key_id) for verifier in self._log.witnesses}
            quorum = len(trusted & set(merged)) >= self._log.quorum
            published = self._clock.now() if quorum and current.published_at is None else None
            repo.set_cosignatures(latest.size, list(merged.values()), published_at=published)
        if published is not None:
            _log.info("checkpoint cosigned and published", size=latest.size)

    def _cosign(self, witness: WitnessEndpoint, checkpoint: StoredCheckpoint) -> list[str] | None:
        """Ask one witness to cosign ``checkpoint``; its verified cosignature lines, or None."""
        assert self._transport is not None
        note = Note.from_text(checkpoint.note)
        old = self._witness_sizes.get(witness.url, 0)
        for attempt in range(self._attempts):
            if old > checkpoint.size:
                # Either a newer checkpoint already reached it, or the witness has seen a tree
                # this log never had: a fork or a rollback, which only an operator can judge.
                _log.warning(
                    "witness has cosigned a larger tree than this checkpoint",
                    witness=witness.url,
                    witness_size=old,
                    size=checkpoint.size,
                )
                return None
            with self._transaction() as repo:
                proof = LogReader(repo).consistency(old, checkpoint.size)
            body = AddCheckpointRequest(old, tuple(proof), note).to_bytes()
            try:
                answer = self._transport.add_checkpoint(witness.url, body)
            except (TimeoutError, ConnectionError) as exc:
                _log.warning("witness did not answer", witness=witness.url, error=str(exc))
                time.sleep(0.1 * (attempt + 1))
                continue
            if answer.status == 409:
                size = _conflict_size(answer.content_type, answer.body)
                if size is None:
                    _log.warning("witness answered 409 without its size", witness=witness.url)
                    return None
                old = self._witness_sizes[witness.url] = size
                continue
            if answer.status != 200:
                _log.warning(
                    "witness refused the checkpoint",
                    witness=witness.url,
                    status=answer.status,
                    body=answer.body[:200].decode("utf-8", "replace"),
                )
                return None
            try:
                lines = _verified_cosignatures(answer.body, note, witness.verifier)
            except LedgerError as exc:
                _log.warning("witness cosignature rejected", witness=witness.url, error=exc.message)
                return None
            self._witness_sizes[witness.url] = checkpoint.size
            return lines
        return None


def _conflict_size(content_type: str, body: bytes) -> int | None:
    if content_type.partition(";")[0].strip() != SIZE_MEDIA_TYPE:
        return None
    try:
        return decode_decimal(body.decode("ascii").removesuffix("\n"), "size", MalformedNote)
    except (UnicodeDecodeError, LedgerError):
        return None


def _verified_cosignatures(body: bytes, note: Note, verifier: CosignatureVerifier) -> list[str]:
    """The witness's own signature lines from its answer, each verified over the checkpoint.

    Lines by other keys are ignored, as tlog-witness requires of the client.
    """
    signatures = parse_cosignatures(body)
    mine = tuple(s for s in signatures if (s.name, s.key_id) == (verifier.name, verifier.key_id))
    if not mine:
        raise CosignatureInvalid(f"the answer carries no cosignature by {verifier.name}")
    Note(note.text, mine).verify([verifier])
    return [signature.to_line() for signature in mine]
