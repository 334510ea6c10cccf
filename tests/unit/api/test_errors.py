import json

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import BaseModel

from bayflow.api.errors import HTTP_STATUS, status_for
from bayflow.errors import (
    AuthenticationFailed,
    BayflowError,
    ConfigurationError,
    Conflict,
    InvalidIdentifier,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    VerificationFailed,
)

pytestmark = pytest.mark.anyio

ERROR_TABLE = [
    (InvalidInput("bad field"), 422, "invalid-input"),
    (InvalidIdentifier("USCC X: length is 1, expected 18"), 422, "invalid-identifier"),
    (NotFound("no such organisation"), 404, "not-found"),
    (Conflict("already exists"), 409, "conflict"),
    (AuthenticationFailed("token expired"), 401, "unauthenticated"),
    (PermissionDenied("not your consent"), 403, "forbidden"),
    (VerificationFailed("signature does not verify"), 422, "verification-failed"),
    (StoreUnavailable("database down"), 503, "store-unavailable"),
    (ConfigurationError("key file unreadable"), 500, "configuration"),
    (BayflowError("generic"), 500, "error"),
]


class _Body(BaseModel):
    amount: int


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    @app.get("/test/raise/{index}")
    async def raise_error(index: int) -> None:
        raise ERROR_TABLE[index][0]

    @app.get("/test/crash")
    async def crash() -> None:
        secret = "s3cr3t-value"
        raise RuntimeError(f"boom with {secret}")

    @app.post("/test/body")
    async def body(item: _Body) -> dict[str, int]:
        return {"amount": item.amount}

    return app


class TestErrorTable:
    """Every Bayflow error maps to one HTTP status through one table."""

    @pytest.mark.parametrize(("error", "status", "slug"), ERROR_TABLE)
    def test_status_for_each_error_class(self, error: BayflowError, status: int, slug: str) -> None:
        assert status_for(error) == status
        assert error.slug == slug

    def test_domain_subclasses_inherit_their_parents_status(self) -> None:
        class ConsentRevoked(PermissionDenied):
            slug = "consent-revoked"

        assert ConsentRevoked not in HTTP_STATUS
        assert status_for(ConsentRevoked("revoked")) == 403


@pytest.mark.usefixtures("failing_app")
class TestProblemResponses:
    """Errors reach clients as RFC 9457 problem documents with the request id."""

    @pytest.mark.parametrize("index", range(len(ERROR_TABLE)))
    async def test_bayflow_errors_become_problem_json(
        self, client: httpx.AsyncClient, index: int
    ) -> None:
        error, status, slug = ERROR_TABLE[index]
        response = await client.get(f"/test/raise/{index}")
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == f"urn:bayflow:problem:{slug}"
        assert body["status"] == status
        assert body["title"] == error.title
        assert body["detail"] == error.message
        assert body["instance"] == f"/test/raise/{index}"
        assert body["request_id"] == response.headers["x-request-id"]

    async def test_unauthenticated_answers_carry_a_bearer_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        index = next(i for i, row in enumerate(ERROR_TABLE) if row[1] == 401)
        response = await client.get(f"/test/raise/{index}")
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_unexpected_exception_gives_500_with_request_id_and_no_trace(
        self, client: httpx.AsyncClient
    ) -> None:
        with structlog.testing.capture_logs() as logs:
            response = await client.get("/test/crash", headers={"X-Request-ID": "req-crash-1"})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"] == "req-crash-1"
        body = response.json()
        assert body["type"] == "urn:bayflow:problem:internal"
        assert body["request_id"] == "req-crash-1"
        text = response.text
        assert "Traceback" not in text
        assert "boom" not in text
        assert "s3cr3t-value" not in text
        # The trace goes to the log instead, tagged with the same request id.
        errors = [entry for entry in logs if entry["log_level"] == "error"]
        assert errors
        assert errors[0]["event"] == "unhandled error"

    async def test_unknown_route_gives_404_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no/such/route")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:bayflow:problem:not-found"

    async def test_wrong_method_gives_405_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/healthz")
        assert response.status_code == 405
        assert response.json()["type"] == "urn:bayflow:problem:method-not-allowed"

    async def test_invalid_body_gives_422_naming_the_field_without_echoing_input(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/test/body", json={"amount": "my-password-123"})
        assert response.status_code == 422
        body = response.json()
        assert body["type"] == "urn:bayflow:problem:invalid-input"
        assert body["detail"].startswith("body.amount:")
        assert body["errors"][0]["loc"] == ["body", "amount"]
        assert "my-password-123" not in response.text

    async def test_malformed_json_gives_422_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/test/body", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        json.loads(response.text)
