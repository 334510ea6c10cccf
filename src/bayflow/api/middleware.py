"""The request edge: request ids, metrics, the request log line, and the last-resort 500.

Written as plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, which costs a
task and a stream copy per request on the hot path.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bayflow.api.errors import PROBLEM_MEDIA_TYPE
from bayflow.logs import get_logger

__all__ = ["HTTPMetrics", "RequestContextMiddleware"]

_log = get_logger("bayflow.api")

# A caller may pass its own id to correlate logs across services; anything else is replaced so
# that log lines cannot be forged or bloated through the header.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

_UNMATCHED_ROUTE = "<unmatched>"


class HTTPMetrics:
    """Prometheus request counts and latency histograms, labelled by route template."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "bayflow_http_requests",
            "HTTP requests handled, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "bayflow_http_request_duration_seconds",
            "Time from request start to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )


def _route_template(scope: Scope) -> str:
    # Route templates (/orgs/{id}) keep the label set small; raw paths would not.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED_ROUTE


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.fullmatch(text) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: HTTPMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500
        started = False
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        # Restored, not unbound, at the end: an app called from inside another request (a
        # provider served in process, as in tests) must give the caller its own id back.
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - the last resort turns anything into a logged 500.
            _log.exception("unhandled error", method=scope["method"], path=scope["path"])
            status = 500
            if not started:
                await _send_internal_error(send, scope["path"], request_id, header)
        finally:
            elapsed = time.perf_counter() - t0
            route = _route_template(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            _log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
            )
            structlog.contextvars.reset_contextvars(**bound)


async def _send_internal_error(
    send: Send, path: str, request_id: str, header: tuple[bytes, bytes]
) -> None:
    body: dict[str, Any] = {
        "type": "urn:bayflow:problem:internal",
        "title": "Internal server error",
        "status": 500,
        "detail": "The hub failed to handle this request. Quote the request id when reporting it.",
        "instance": path,
        "request_id": request_id,
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
                header,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
