"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bayflow import __version__
from bayflow.api.deps import DatabaseDep
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


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
