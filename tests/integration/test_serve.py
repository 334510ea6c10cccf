import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import bayflow, cli_env, free_port, running

pytestmark = pytest.mark.slow


class TestServe:
    """`bayflow serve` runs the hub over real HTTP and stops cleanly on Ctrl-C."""

    def test_serves_health_and_logs_request_ids_then_stops_on_sigint(self, tmp_path: Path) -> None:
        env = cli_env(tmp_path / "data")
        assert bayflow("db", "upgrade", env=env).returncode == 0
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["--log-format", "json", "serve", "--port", str(port)]
        with running(args, env, f"{base}/healthz") as process:
            ready = httpx.get(f"{base}/readyz", headers={"X-Request-ID": "it-ready-1"})
            assert ready.status_code == 200
            assert ready.headers["x-request-id"] == "it-ready-1"
            missing = httpx.get(f"{base}/nope")
            assert missing.headers["content-type"] == "application/problem+json"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)

        assert process.returncode == 0
        assert f"on {base}" in out
        records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert records, err
        request_lines = [r for r in records if r.get("event") == "request"]
        ready_line = next(r for r in request_lines if r["path"] == "/readyz")
        assert ready_line["request_id"] == "it-ready-1"
        assert ready_line["status"] == 200
        assert any(r.get("event") == "hub stopped" for r in records)
        assert "Traceback" not in err

    def test_starts_on_an_unmigrated_database_but_is_not_ready(self, tmp_path: Path) -> None:
        env = cli_env(tmp_path / "data")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with running(["serve", "--port", str(port)], env, f"{base}/healthz") as process:
            assert httpx.get(f"{base}/readyz").status_code == 503
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
        assert process.returncode == 0

    def test_several_workers_share_the_port(self, tmp_path: Path) -> None:
        env = cli_env(tmp_path / "data")
        assert bayflow("db", "upgrade", env=env).returncode == 0
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["serve", "--port", str(port), "--workers", "2"]
        with running(args, env, f"{base}/healthz") as process:
            for _ in range(5):
                assert httpx.get(f"{base}/readyz").status_code == 200
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
        assert process.returncode == 0
