"""The ledger inside a hub process: its log key, its sequencer, and waiting for checkpoints.

Each worker process builds one :class:`LedgerRuntime`. The app's lifespan starts its background
loop, which runs sequencer rounds (:class:`bayflow.ledger.sequencer.Sequencer`): when an
anchoring wakes it, at least every ``checkpoint_interval_s`` seconds, and never more often than
every ``checkpoint_min_interval_s`` seconds, so that entries arriving under load share one
checkpoint. Every worker may run the loop; the store's sequencer lock keeps one integrating.

Anchoring requests that wait for their proofs wait here, asynchronously: on the local loop's
"a round finished" event, and by polling the store, since another worker's sequencer may have
published the checkpoint they need.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Final

from fastapi.concurrency import run_in_threadpool

from bayflow.api.witnesses import HTTPWitnessTransport
from bayflow.clock import Clock
from bayflow.config import Settings
from bayflow.errors import BayflowError
from bayflow.hub import load_log_policy
from bayflow.ledger.interfaces import StoredCheckpoint, WitnessTransport
from bayflow.ledger.sequencer import Sequencer, WitnessEndpoint
from bayflow.ledger.service import LogPolicy
from bayflow.logs import get_logger
from bayflow.store import Database, require_current
from bayflow.store.ledger import SqlLedgerRepository, ledger_transactions

__all__ = ["LedgerRuntime"]

_log = get_logger("bayflow.api.ledger")

# How often a waiting request looks at the store for a checkpoint another worker published.
_POLL_S: Final = 0.25


class LedgerRuntime:
    """The log policy, the sequencer and its background loop of one hub process.

    The policy and sequencer are built on first use, like the hub's keys, so a hub whose first
    start has not run yet still answers its health checks.
    """

    def __init__(
        self,
        settings: Settings,
        database: Database,
        clock: Clock,
        *,
        policy: LogPolicy | None = None,
        transport: WitnessTransport | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._clock = clock
        self._policy = policy
        self._transport = transport
        self._sequencer: Sequencer | None = None
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def policy(self) -> LogPolicy:
        if self._policy is None:
            self._policy = load_log_policy(self._settings)
        return self._policy

    @property
    def sequencer(self) -> Sequencer:
        if self._sequencer is None:
            policy = self.policy
            witnesses = [
                WitnessEndpoint(url, verifier)
                for url, verifier in zip(self._settings.witness_urls, policy.witnesses, strict=True)
            ]
            if witnesses and self._transport is None:
                self._transport = HTTPWitnessTransport()
            self._sequencer = Sequencer(
                ledger_transactions(self._database),
                policy,
                self._clock,
                witnesses=witnesses,
                transport=self._transport,
            )
        return self._sequencer

    # Rounds.

    def sequence_once(self) -> StoredCheckpoint | None:
        """Run one sequencer round now and wake the waiters (tests drive the log with this)."""
        published = self.sequencer.sequence_once()
        self._notify()
        return published

    def wake(self) -> None:
        """New entries are waiting: run a round as soon as the minimum gap allows."""
        self._wake.set()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._settings.checkpoint_interval_s
        min_interval = min(self._settings.checkpoint_min_interval_s, interval)
        while not self._stopping:
            started = loop.time()
            self._wake.clear()
            try:
                await asyncio.to_thread(self.sequencer.sequence_once)
            except Exception:  # noqa: BLE001 - a failed round is retried; the loop must live on.
                _log.exception("ledger sequencer round failed")
            self._notify()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            gap = started + min_interval - loop.time()
            if gap > 0 and not self._stopping:
                await asyncio.sleep(gap)

    async def start(self) -> None:
        """Start the background loop, unless the hub cannot sequence yet (said in the log)."""
        try:
            await run_in_threadpool(require_current, self._database)
            self.sequencer  # noqa: B018 - builds it now, so a bad key fails here, once.
        except BayflowError as exc:
            _log.warning("ledger sequencer not started", reason=exc.message)
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="ledger-sequencer")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            # A round in progress finishes its transaction; the loop then sees the flag.
            await self._task
            self._task = None
        if isinstance(self._transport, HTTPWitnessTransport):
            self._transport.close()

    # Waiting for proofs.

    def _published(self) -> StoredCheckpoint | None:
        with self._database.reading() as session:
            return SqlLedgerRepository(session).latest_checkpoint(published=True)

    async def wait_published(self, size: int) -> StoredCheckpoint | None:
        """The first published checkpoint of at least ``size`` entries, or ``None`` if none
        comes within ``ledger_wait_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.ledger_wait_s
        while True:
            # Taken before looking, so a round that ends in between is not missed.
            changed = self._changed
            checkpoint = await run_in_threadpool(self._published)
            if checkpoint is not None and checkpoint.size >= size:
                return checkpoint
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, _POLL_S))
