from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bayflow import __version__
from bayflow.api import create_app
from bayflow.config import Settings
from bayflow.store import Database, downgrade, upgrade

pytestmark = pytest.mark.anyio


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        return await client.get(path)


class TestHealthz:
    """Liveness answers without touching the database."""

    async def test_alive_with_version(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "version": __version__}

    async def test_alive_even_when_the_database_is_unreachable(self, tmp_path: Path) -> None:
        database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
        app = create_app(Settings(data_dir=tmp_path), database=database, configure_logs=False)
        assert (await _get(app, "/healthz")).status_code == 200


class TestReadyz:
    """Readiness needs a reachable database with current migrations."""

    async def test_ready_when_migrated(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ready"
        assert body["database"] == "sqlite"
        assert body["migration"]

    async def test_not_ready_before_migrations_run(self, tmp_path: Path) -> None:
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        app = create_app(Settings(data_dir=tmp_path), database=database, configure_logs=False)
        response = await _get(app, "/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "bayflow db upgrade" in response.json()["detail"]

    async def test_not_ready_when_migrations_are_behind(self, tmp_path: Path) -> None:
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(database)
        downgrade(database, "base")
        app = create_app(Settings(data_dir=tmp_path), database=database, configure_logs=False)
        assert (await _get(app, "/readyz")).status_code == 503

    async def test_not_ready_when_the_database_is_unreachable(self, tmp_path: Path) -> None:
        database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
        app = create_app(Settings(data_dir=tmp_path), database=database, configure_logs=False)
        response = await _get(app, "/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["type"] == "urn:bayflow:problem:store-unavailable"
        assert "unreachable" in body["detail"]


class TestRequestIds:
    """Every response carries an X-Request-ID."""

    async def test_a_fresh_id_is_generated(self, client: httpx.AsyncClient) -> None:
        first = (await client.get("/healthz")).headers["x-request-id"]
        second = (await client.get("/healthz")).headers["x-request-id"]
        assert len(first) == 32
        assert first != second

    async def test_a_well_formed_incoming_id_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"})
        assert response.headers["x-request-id"] == "trace-42.a:b"

    @pytest.mark.parametrize("bad", ["has space", "x" * 129, "new\u00e9line"])
    async def test_a_malformed_incoming_id_is_replaced(
        self, client: httpx.AsyncClient, bad: str
    ) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": bad.encode("utf-8")})
        assert response.headers["x-request-id"] != bad
        assert len(response.headers["x-request-id"]) == 32


class TestMetrics:
    """Prometheus metrics count requests and time them by route template."""

    async def test_counts_and_histograms_by_route(self, client: httpx.AsyncClient) -> None:
        await client.get("/healthz")
        await client.get("/healthz")
        await client.get("/nowhere/123")
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert 'bayflow_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
        assert 'route="<unmatched>",status="404"' in text
        assert "/nowhere/123" not in text
        assert (
            'bayflow_http_request_duration_seconds_count{method="GET",route="/healthz"} 2.0' in text
        )
        assert 'bayflow_http_request_duration_seconds_bucket{le="0.005"' in text or (
            'le="0.005",method="GET",route="/healthz"' in text
        )


class TestDocs:
    """The API describes itself."""

    async def test_openapi_document_lists_the_health_routes(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        assert {"/healthz", "/readyz", "/metrics"} <= set(paths)

    async def test_interactive_docs_are_served(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/docs")
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
