"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bayflow import __version__
from bayflow.api.deps import DatabaseDep
from bayflow.crypto.jwt import ed25519_public_jwk
from bayflow.store import require_current

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, Any]:
    # Liveness must not touch the database: a slow database should make the hub unready, not
    # get it restarted.
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    summary="The database is reachable and its migrations are current",
    responses={503: {"description": "Not ready; the problem document says why"}},
)
async def readyz(database: DatabaseDep) -> dict[str, Any]:
    await run_in_threadpool(database.ping)
    revision = await run_in_threadpool(require_current, database)
    return {
        "status": "ready",
        "database": database.url.get_backend_name(),
        "migration": revision,
    }


@router.get("/.well-known/jwks.json", summary="The hub's public signing keys (RFC 7517 JWK Set)")
async def jwks(request: Request) -> dict[str, Any]:
    """What verifies the hub's access tokens, routed requests, webhooks and expiry events."""
    keys = request.app.state.lazy_hub_keys.keys()
    return {
        "keys": [
            {**ed25519_public_jwk(public), "kid": kid, "alg": "Ed25519", "use": "sig"}
            for kid, public in keys.public_keys.items()
        ]
    }


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
