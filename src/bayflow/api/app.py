"""The FastAPI application factory.

``create_app()`` builds a hub from settings. ``bayflow serve`` hands it to uvicorn as a factory,
so each worker process builds its own app, engine and metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from bayflow import __version__
from bayflow.api.errors import PROBLEM_MEDIA_TYPE, install_error_handlers
from bayflow.api.ledger import LedgerRuntime
from bayflow.api.middleware import HTTPMetrics, RequestContextMiddleware
from bayflow.api.provider_link import ProviderLink
from bayflow.api.routes import (
    compliance,
    consent,
    exchange,
    forms,
    health,
    ledger,
    oauth,
    orgs,
    relay,
    signing,
    wallet,
)
from bayflow.api.routes.webhooks import router as webhooks_router
from bayflow.api.server import freeze_startup_heap
from bayflow.api.sweeper import ExpirySweeper
from bayflow.clock import Clock, SystemClock
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.gate import RulesTransferGate
from bayflow.compliance.rules import load_packaged_rules
from bayflow.config import Settings, load_settings
from bayflow.consent.interfaces import EventAnchor
from bayflow.crypto.jose import PrivateJWK
from bayflow.exchange.dispatcher import WebhookDispatcher
from bayflow.exchange.gate import TransferGate
from bayflow.hub import HubKeys, load_hub_keys
from bayflow.identity.auth import TokenVerifier
from bayflow.ledger.anchoring import LedgerAnchor
from bayflow.ledger.service import LedgerService
from bayflow.logs import configure_logging, get_logger
from bayflow.store import Database, Session
from bayflow.store.compliance import DatabaseComplianceState
from bayflow.store.ledger import SqlLedgerRepository
from bayflow.store.outbox import outbox_transaction

__all__ = ["create_app"]

_log = get_logger("bayflow.api")

_PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "An RFC 9457 problem document",
    "content": {PROBLEM_MEDIA_TYPE: {}},
}


class _LazyHubKeys:
    """The hub's keys, read on first use: a hub whose first start has not run yet can still
    answer /healthz and /readyz."""

    def __init__(self, settings: Settings, keys: HubKeys | None) -> None:
        self._settings = settings
        self._keys = keys
        self._jwk: PrivateJWK | None = None
        self._verifier: TokenVerifier | None = None

    def keys(self) -> HubKeys:
        if self._keys is None:
            self._keys = load_hub_keys(self._settings)
        return self._keys

    # The key is read once and never changes while the process runs, so what is derived from
    # it (its JWK with the thumbprint, the access-token verifier) is derived once too.

    def signing_jwk(self) -> PrivateJWK:
        if self._jwk is None:
            self._jwk = PrivateJWK.from_signing_key(self.keys().signing_key)
        return self._jwk

    def token_verifier(self, issuer: str, clock: Clock) -> TokenVerifier:
        if self._verifier is None:
            self._verifier = TokenVerifier(self.keys().public_keys, issuer=issuer, clock=clock)
        return self._verifier


def _ledger_anchor(runtime: LedgerRuntime, clock: Clock) -> Callable[[Session], EventAnchor]:
    """Consent events and receipts go into the ledger in the caller's transaction."""

    def anchor(session: Session) -> EventAnchor:
        return LedgerAnchor(LedgerService(SqlLedgerRepository(session), runtime.policy, clock))

    return anchor


def _compliance(database: Database, gate: TransferGate | None) -> tuple[RulesEngine, TransferGate]:
    """The packaged rules table, and the gate that decides every transfer the exchange routes."""
    engine = RulesEngine(load_packaged_rules())
    return engine, gate or RulesTransferGate(engine, DatabaseComplianceState(database))


def _webhook_dispatcher(app: FastAPI) -> WebhookDispatcher:
    # One per worker process: the outbox's claims keep workers from sending a message twice.
    state = app.state
    database: Database = state.database
    keys: _LazyHubKeys = state.lazy_hub_keys
    return WebhookDispatcher(
        lambda: outbox_transaction(database),
        lambda: PrivateJWK.from_signing_key(keys.keys().signing_key),
        state.clock,
    )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
    hub_keys: HubKeys | None = None,
    event_anchor: Callable[[Session], EventAnchor] | None = None,
    transfer_gate: TransferGate | None = None,
    configure_logs: bool = True,
    dispatch_webhooks: bool = True,
) -> FastAPI:
    """Build the hub's HTTP application.

    ``database`` lets tests hand in a database they prepared; otherwise one is opened from the
    settings and closed when the app shuts down. With ``dispatch_webhooks`` (the default) the
    app sends the webhook outbox's messages in the background while it runs.
    """
    settings = settings or load_settings()
    if configure_logs:
        configure_logging(settings.log_format, settings.log_level)
    owns_database = database is None
    db = database or Database(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _log.info("hub starting", database=db.display_url, version=__version__)
        dispatcher = _webhook_dispatcher(_app) if dispatch_webhooks else None
        if dispatcher is not None:
            dispatcher.start()
        # The ledger's sequencer runs in every worker; the store's lock keeps one active.
        ledger_runtime: LedgerRuntime = _app.state.ledger
        await ledger_runtime.start()
        sweeper = ExpirySweeper(_app.state)
        sweeper.start()
        freeze_startup_heap()
        yield
        await sweeper.stop()
        await ledger_runtime.stop()
        if dispatcher is not None:
            await dispatcher.aclose()
        await _app.state.provider_link.aclose()
        if owns_database:
            db.dispose()
        _log.info("hub stopped")

    app = FastAPI(
        title="Bayflow hub",
        version=__version__,
        summary="Trusted data flow across the Greater Bay Area: the data stays, the proof crosses.",
        lifespan=lifespan,
        responses={"default": _PROBLEM_SCHEMA},
    )
    registry = CollectorRegistry(auto_describe=True)
    clock = clock or SystemClock()
    lazy_keys = _LazyHubKeys(settings, hub_keys)
    app.state.settings = settings
    app.state.database = db
    app.state.metrics_registry = registry
    app.state.clock = clock
    app.state.lazy_hub_keys = lazy_keys
    app.state.issuer = settings.effective_public_url
    app.state.ledger = LedgerRuntime(settings, db, clock)
    app.state.event_anchor = event_anchor or _ledger_anchor(app.state.ledger, clock)
    app.state.compliance_engine, app.state.transfer_gate = _compliance(db, transfer_gate)
    # The relay's hop to providers (api.routes.relay.ProviderCaller); one answer may be large
    # and slow to assemble, hence the long timeout.
    app.state.provider_link = ProviderLink(connect_timeout=5.0, timeout=30.0)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=HTTPMetrics(registry))
    # Requests are matched against the routers in this order, about 3 µs each: the busiest
    # (data requests, then tokens) come first.
    for router in (
        relay.router,
        oauth.router,
        health.router,
        orgs.router,
        ledger.router,
        exchange.router,
        consent.router,
        signing.router,
        webhooks_router,
        wallet.router,
        forms.router,
        compliance.router,
    ):
        app.include_router(router)
    return app
