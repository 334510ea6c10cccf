"""The webhook dispatcher: takes due messages from the outbox and POSTs them, signed.

Each hub worker runs one, as a background task of the app (:meth:`WebhookDispatcher.start`,
:meth:`WebhookDispatcher.stop`); the outbox's claims keep them from sending a message twice at
once. A round (:meth:`WebhookDispatcher.dispatch_once`) is three steps, so no database
transaction stays open while a receiver is slow:

1. lease up to ``batch_size`` due messages in one short transaction;
2. sign and POST them concurrently, each with a 5-second timeout;
3. record every outcome in a second short transaction: delivered on 2xx, otherwise the next
   attempt's time from the :class:`~bayflow.exchange.notifications.RetryPolicy`, or dead.

Delivery is at least once: a worker that dies between steps 2 and 3 leaves its leases to run
out (``lease``, a minute), and the messages are sent again. Receivers tell such repeats apart
by the delivery id (:func:`~bayflow.exchange.notifications.verify_webhook`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Protocol, Self

import httpx

from bayflow import __version__
from bayflow.clock import Clock
from bayflow.crypto.jose import PrivateJWK
from bayflow.exchange.notifications import ClaimedMessage, RetryPolicy, sign_delivery
from bayflow.logs import get_logger

__all__ = ["DispatchReport", "Outbox", "OutboxTransaction", "WebhookDispatcher"]

_log = get_logger("bayflow.webhooks")

DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_LEASE: Final = timedelta(minutes=1)
_MAX_IDLE_BACKOFF: Final = 60.0
_USER_AGENT: Final = f"Bayflow-Webhooks/{__version__}"


class Outbox(Protocol):
    def claim(self, *, now: datetime, limit: int, lease: timedelta) -> list[ClaimedMessage]: ...
    def mark_delivered(self, message: ClaimedMessage, *, now: datetime, status: int) -> bool: ...
    def mark_failed(
        self,
        message: ClaimedMessage,
        *,
        now: datetime,
        status: int | None,
        error: str,
        retry_at: datetime | None,
    ) -> bool: ...
    def next_due(self) -> datetime | None: ...


OutboxTransaction = Callable[[], AbstractContextManager[Outbox]]
"""Opens one transaction on the outbox; it commits when the block ends."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    message: ClaimedMessage
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one round did. ``stale`` counts outcomes dropped because a lease was lost."""

    delivered: tuple[str, ...] = ()
    retrying: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.dead) + len(self.stale)


class WebhookDispatcher:
    """Sends the outbox's due messages, signed with the hub's key, on its clock's time.

    ``key`` is called once, on the first round with something to send, so a hub whose first
    start has not made its key yet can still start. ``transport`` replaces the network, for
    tests; ``rand`` draws the retry jitter.
    """

    def __init__(
        self,
        transaction: OutboxTransaction,
        key: Callable[[], PrivateJWK],
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        batch_size: int = 10,
        timeout: float = DEFAULT_TIMEOUT,
        lease: timedelta = DEFAULT_LEASE,
        poll_interval: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        if lease.total_seconds() <= timeout:
            raise ValueError("the lease must outlast the HTTP timeout")
        self._transaction = transaction
        self._key_source = key
        self._key: PrivateJWK | None = None
        self._clock = clock
        self._policy = policy or RetryPolicy()
        self._batch_size = batch_size
        self._lease = lease
        self._poll_interval = poll_interval
        self._rand = rand or random.SystemRandom().random
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT},
        )
        self._timeout = timeout
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # One round ---------------------------------------------------------------------------

    def _claim(self) -> list[ClaimedMessage]:
        now = self._clock.now()
        # A read first: an idle hub polls without taking SQLite's write lock every second.
        with self._transaction() as outbox:
            due = outbox.next_due()
        if due is None or due > now:
            return []
        with self._transaction() as outbox:
            return outbox.claim(now=now, limit=self._batch_size, lease=self._lease)

    async def _send(self, message: ClaimedMessage, key: PrivateJWK) -> _Outcome:
        delivery = sign_delivery(message.notification, key, now=self._clock.now())
        try:
            response = await self._http.post(
                message.url, content=delivery.body, headers=delivery.headers
            )
        except httpx.TimeoutException:
            return _Outcome(message, None, f"no answer within {self._timeout:g} s")
        except httpx.HTTPError as exc:
            return _Outcome(message, None, f"{type(exc).__name__}: {exc}")
        if response.is_success:
            return _Outcome(message, response.status_code, None)
        error = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        if response.is_redirect:
            error += " (redirects are not followed)"
        return _Outcome(message, response.status_code, error)

    def _record(self, outcomes: Sequence[_Outcome]) -> DispatchReport:
        delivered: list[str] = []
        retrying: list[str] = []
        dead: list[str] = []
        stale: list[str] = []
        now = self._clock.now()
        with self._transaction() as outbox:
            for outcome in outcomes:
                message = outcome.message
                message_id = message.notification.id
                if outcome.error is None:
                    assert outcome.status is not None  # a 2xx has a status
                    kept = outbox.mark_delivered(message, now=now, status=outcome.status)
                    bucket = delivered
                else:
                    retry_at = self._policy.next_attempt_at(
                        attempts=message.attempts,
                        created_at=message.notification.created_at,
                        now=now,
                        rand=self._rand(),
                    )
                    kept = outbox.mark_failed(
                        message,
                        now=now,
                        status=outcome.status,
                        error=outcome.error,
                        retry_at=retry_at,
                    )
                    bucket = retrying if retry_at is not None else dead
                (bucket if kept else stale).append(message_id)
        report = DispatchReport(tuple(delivered), tuple(retrying), tuple(dead), tuple(stale))
        for outcome in outcomes:
            self._log_outcome(outcome, report)
        return report

    @staticmethod
    def _log_outcome(outcome: _Outcome, report: DispatchReport) -> None:
        message = outcome.message
        fields = {
            "message": message.notification.id,
            "event_type": message.notification.event_type,
            "url": message.url,
            "attempt": message.attempts,
        }
        if message.notification.id in report.stale:
            _log.info("webhook outcome dropped: the lease ran out", **fields)
        elif outcome.delivered:
            _log.debug("webhook delivered", status=outcome.status, **fields)
        elif message.notification.id in report.dead:
            _log.warning("webhook given up", error=outcome.error, **fields)
        else:
            _log.info("webhook attempt failed", error=outcome.error, **fields)

    async def dispatch_once(self) -> DispatchReport:
        """Lease a batch of due messages, send them, and record the outcomes."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return DispatchReport()
        if self._key is None:
            self._key = self._key_source()
        key = self._key
        outcomes = await asyncio.gather(*(self._send(message, key) for message in claimed))
        return await asyncio.to_thread(self._record, outcomes)

    # The background loop ---------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch until :meth:`stop`: at once while batches come back full, else each poll."""
        idle = self._poll_interval
        while not self._stopping.is_set():
            try:
                report = await self.dispatch_once()
            except Exception:  # noqa: BLE001 - the loop outlives any one failure; it is logged.
                _log.exception("webhook dispatch failed; retrying", retry_in_s=idle)
                wait, idle = idle, min(idle * 2, _MAX_IDLE_BACKOFF)
            else:
                idle = self._poll_interval
                if report.attempted >= self._batch_size:
                    continue
                wait = self._poll_interval
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)

    def start(self) -> None:
        """Run :meth:`run` as a task of the running event loop."""
        if self._task is not None:
            raise RuntimeError("the dispatcher is running already")
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop after the round in flight; cancel it if it outlasts the HTTP timeout.

        A cancelled round loses nothing: its leases run out and the messages go again.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=self._timeout + 1)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        await self.stop()
        await self._http.aclose()
