"""The consent expiry sweep: records signed ``expire`` events for consents past their expiry.

Checks never wait for it (a consent's state is evaluated with ``now`` on every request); the
sweep exists so the ledger and the parties' webhooks learn of an expiry when it happens, not
when someone next touches the consent.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any, Final

from fastapi.concurrency import run_in_threadpool

from bayflow.consent.service import ConsentService
from bayflow.crypto.jose import PrivateJWK
from bayflow.identity.service import IdentityService
from bayflow.logs import get_logger
from bayflow.store.consent import SqlConsentRepository
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.outbox import SqlNotifier

__all__ = ["ExpirySweeper"]

_log = get_logger("bayflow.api.sweeper")
SWEEP_INTERVAL_S: Final = 30.0


class ExpirySweeper:
    def __init__(self, state: Any, *, interval_s: float = SWEEP_INTERVAL_S) -> None:
        self._state = state
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    def sweep_once(self) -> int:
        state = self._state
        with state.database.transaction() as session:
            service = ConsentService(
                SqlConsentRepository(session),
                IdentityService(SqlIdentityRepository(session), state.clock),
                SqlProductRepository(session),
                state.event_anchor(session),
                state.clock,
                hub_key=PrivateJWK.from_signing_key(state.lazy_hub_keys.keys().signing_key),
                notifier=SqlNotifier(session, state.clock),
            )
            return service.expire_due()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                expired = await run_in_threadpool(self.sweep_once)
            except Exception:  # noqa: BLE001 - one failed sweep must not end the loop.
                _log.exception("consent expiry sweep failed")
            else:
                if expired:
                    _log.info("consents expired", count=expired)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="consent-expiry-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
