"""Errors to HTTP: one table, and RFC 9457 problem documents.

Every error response is ``application/problem+json`` with a stable ``type`` URI, a ``title``,
the ``status``, a ``detail`` a person can act on and the ``request_id`` that also appears in the
log line for the request. An exception nobody anticipated becomes a 500 that carries the request
id and nothing else: the stack trace goes to the log, never to the client.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bayflow.errors import (
    AuthenticationFailed,
    BayflowError,
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    VerificationFailed,
)
from bayflow.identity.errors import DocumentTooLarge, InvalidClientAssertion

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_MEDIA_TYPE",
    "install_error_handlers",
    "problem_response",
    "status_for",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

# The one error->HTTP table. Subclasses inherit their nearest ancestor's status; a domain error
# that needs a different one gets its own row here.
HTTP_STATUS: dict[type[BayflowError], int] = {
    BayflowError: 500,
    ConfigurationError: 500,
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    VerificationFailed: 422,
    StoreUnavailable: 503,
    DocumentTooLarge: 413,
}

# Slugs for errors raised by the framework itself (routing, method, body parsing).
_FRAMEWORK_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    503: "unavailable",
}


def status_for(error: BayflowError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:bayflow:problem:{slug}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _bayflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BayflowError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="bayflow"'} if status == 401 else None
    extensions: dict[str, Any] = {}
    if isinstance(exc, InvalidClientAssertion):
        # OAuth clients look for RFC 6749 §5.2 members; a problem document may carry them.
        extensions = {"error": "invalid_client", "error_description": exc.message}
    return problem_response(
        request,
        status=status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.message,
        headers=headers,
        **extensions,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    slug = _FRAMEWORK_SLUGS.get(status, "http-error")
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(
        request,
        status=status,
        slug=slug,
        title=title,
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Echo where and why, never the offending input: it may be a secret or someone's data.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else None
    detail = (
        f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        if first
        else "the request is not valid"
    )
    return problem_response(
        request,
        status=422,
        slug="invalid-input",
        title="Invalid input",
        detail=detail,
        errors=errors,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BayflowError, _bayflow_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
