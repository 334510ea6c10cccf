"""The request edge: request ids in responses and in the log context."""

from __future__ import annotations

import httpx
import pytest
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from bayflow.api.middleware import HTTPMetrics, RequestContextMiddleware

pytestmark = pytest.mark.anyio


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        RequestContextMiddleware, metrics=HTTPMetrics(CollectorRegistry(auto_describe=True))
    )
    return app


async def test_a_request_served_inside_another_gives_the_outer_its_request_id_back() -> None:
    inner = _app()

    @inner.get("/inner")
    async def inner_route() -> dict[str, str]:
        return {"inner": str(structlog.contextvars.get_contextvars()["request_id"])}

    outer = _app()

    @outer.get("/outer")
    async def outer_route() -> dict[str, str]:
        before = str(structlog.contextvars.get_contextvars()["request_id"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=inner), base_url="http://inner.test"
        ) as client:
            seen = (await client.get("/inner", headers={"X-Request-ID": "inner-1"})).json()
        after = structlog.contextvars.get_contextvars().get("request_id")
        return {"before": before, "inner": seen["inner"], "after": str(after)}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=outer), base_url="http://outer.test"
    ) as client:
        response = await client.get("/outer", headers={"X-Request-ID": "outer-1"})
    assert response.headers["X-Request-ID"] == "outer-1"
    assert response.json() == {"before": "outer-1", "inner": "inner-1", "after": "outer-1"}
    assert "request_id" not in structlog.contextvars.get_contextvars()
