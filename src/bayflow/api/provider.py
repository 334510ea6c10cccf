"""The reference data provider's HTTP service (``bayflow provider serve``).

One endpoint, ``POST /deliver``, takes ``{"request": <routed JWT>}`` from the hub, checks the
hub signed it for this provider, reads the owner's records from disk, seals them to the
consumer's key, signs the envelope with the organisation's key and answers with its bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict

from bayflow.api.errors import install_error_handlers
from bayflow.api.middleware import HTTPMetrics, RequestContextMiddleware
from bayflow.api.server import freeze_startup_heap
from bayflow.clock import Clock, SystemClock
from bayflow.crypto.jose import JWKSet, PrivateJWK
from bayflow.errors import ConfigurationError
from bayflow.exchange.envelope import seal_payload
from bayflow.exchange.provider import FileDataSource, owner_names, payload_for
from bayflow.exchange.routing import RoutedRequest, verify_routed_request
from bayflow.identity.keyfile import KeyFile

__all__ = ["ENVELOPE_MEDIA_TYPE", "create_provider_app"]

ENVELOPE_MEDIA_TYPE = "application/vnd.bayflow.envelope"

# Files up to this size are answered on the event loop (about a millisecond of work).
INLINE_FILE_SIZE = 64 * 1024


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: str


def fetch_hub_keys(hub: str) -> JWKSet:
    try:
        response = httpx.get(f"{hub.rstrip('/')}/.well-known/jwks.json", timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ConfigurationError(f"cannot read the hub's keys from {hub}: {exc}") from exc
    return JWKSet.from_dict(response.json())


def create_provider_app(
    *,
    data: FileDataSource,
    key_file: KeyFile,
    hub: str,
    hub_keys: JWKSet,
    clock: Clock | None = None,
) -> FastAPI:
    if key_file.organisation_key is None:
        raise ConfigurationError("the provider's key file holds no organisation key to sign with")
    signing_key = PrivateJWK.from_signing_key(key_file.organisation_key.signing_key)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        freeze_startup_heap()
        yield

    app = FastAPI(
        title="Bayflow reference data provider",
        openapi_url=None,
        docs_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, metrics=HTTPMetrics(CollectorRegistry(auto_describe=True))
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "provider": key_file.organisation}

    def answer(routed: RoutedRequest, path: Path, now: datetime) -> Response:
        plaintext = payload_for(data.records(path), routed, now=now)
        envelope = seal_payload(
            plaintext,
            content_type="application/json",
            consent_id=routed.consent_id,
            request_id=routed.request_id,
            consumer_public_x25519=routed.consumer_key,
            consumer_kid=routed.consumer_kid,
            provider_key=signing_key,
        )
        return Response(envelope.to_bytes(), media_type=ENVELOPE_MEDIA_TYPE)

    @app.post("/deliver", response_class=Response)
    async def deliver(body: Delivery) -> Response:
        now = clock.now()
        routed = verify_routed_request(
            body.request, hub_keys, hub=hub, provider=key_file.organisation, now=now
        )
        # A small file is read and sealed here on the event loop, in less time than handing it
        # to a worker thread and back takes; a large one goes to the thread pool, so that
        # sealing megabytes does not hold up other requests.
        path = data.file_for(routed.product, owner_names(routed))
        if path.stat().st_size <= INLINE_FILE_SIZE:
            return answer(routed, path, now)
        return await run_in_threadpool(answer, routed, path, now)

    return app
