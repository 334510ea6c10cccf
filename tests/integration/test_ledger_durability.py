"""The ledger's durability promises, on real processes over real HTTP (issue 4, point 11).

- An acknowledged entry survives ``kill -9`` of the hub, at the index it was given.
- The tree never forks across restarts: two independent witnesses (``bayflow witness serve``)
  cosign checkpoints from before and after the crash, which they only do for a consistent tree.
- Several API workers on PostgreSQL give every entry exactly one index.
"""

import base64
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayflow.client import BayflowClient
from bayflow.ledger.cosignature import CosignatureVerifier
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import Ed25519Signer
from bayflow.ledger.proof import ProofBundle, verify_proof
from tests.conftest import _fresh_postgres_database
from tests.integration.conftest import bayflow, cli_env, free_port, running, wait_until_up

pytestmark = pytest.mark.slow

ORIGIN = "bayflow.local/ledger"


@contextmanager
def serving_group(args: list[str], env: dict[str, str], health_url: str) -> Iterator[None]:
    """``bayflow serve --workers N`` in its own process group, stopped as a whole.

    Killing only uvicorn's parent would leave its workers running and holding the pipes.
    """
    process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments.
        [sys.executable, "-m", "bayflow", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(health_url, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _items(count: int) -> list[dict[str, str]]:
    return [{"digest": secrets.token_hex(32), "schema": "vat/1"} for _ in range(count)]


def _verify_all(
    answers: list[dict[str, Any]], log_key: Ed25519Signer, witnesses: list[CosignatureVerifier]
) -> None:
    for answer in answers:
        bundle = ProofBundle.from_text(answer["proof"])
        leaf = hash_leaf(base64.b64decode(answer["entry"]))
        verify_proof(bundle, leaf, log_key.verifier(), witnesses, len(witnesses))


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[tuple[Ed25519Signer, list[tuple[str, str]]]]:
    """A log key made ahead of the hub's first start, and two witnesses that follow it."""
    log_key = Ed25519Signer.generate(ORIGIN)
    log_vkey = tmp_path / "log.vkey"
    log_vkey.write_text(f"{log_key.verifier().vkey}\n")
    env = cli_env(tmp_path / "witness-data")
    endpoints = []
    processes = []
    for city in ("hk", "sz"):
        key_file = tmp_path / f"{city}.key"
        made = bayflow(
            "witness",
            "keygen",
            "--key-file",
            str(key_file),
            "--name",
            f"witness.{city}.example/w1",
            env=env,
        )
        assert made.returncode == 0, made.stderr
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        args = ["witness", "serve", "--key-file", str(key_file), "--log-key", str(log_vkey)]
        args += ["--state", str(tmp_path / f"{city}.state"), "--port", str(port)]
        processes.append(running(args, env, f"{url}/"))
        endpoints.append((url, made.stdout.strip()))
    for process in processes:
        process.__enter__()
    try:
        yield log_key, endpoints
    finally:
        for process in processes:
            process.__exit__(None, None, None)


class TestDurability:
    """Acknowledged entries survive kill -9, and the witnessed tree never forks."""

    def test_acknowledged_entries_survive_kill_9_and_witnesses_cosign_across_it(
        self, tmp_path: Path, witnesses: tuple[Ed25519Signer, list[tuple[str, str]]]
    ) -> None:
        log_key, endpoints = witnesses
        data = tmp_path / "data"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = cli_env(
            data,
            BAYFLOW_PUBLIC_URL=url,
            BAYFLOW_WITNESS_URLS=" ".join(u for u, _ in endpoints),
            BAYFLOW_WITNESS_KEYS=" ".join(k for _, k in endpoints),
        )
        assert bayflow("db", "upgrade", env=env).returncode == 0
        (data / "keys").mkdir(parents=True)
        (data / "keys" / "ledger.skey").write_text(f"{log_key.skey}\n")
        witness_keys = [CosignatureVerifier.from_vkey(k) for _, k in endpoints]
        serve = ["serve", "--port", str(port)]
        acknowledged: dict[str, int] = {}
        lock = threading.Lock()

        with running(serve, env, f"{url}/healthz") as process:
            hub = BayflowClient.from_key_file(data / "operator.key", url=url)
            first = hub.post("/ledger/v1/anchors", _items(3))["anchors"]
            _verify_all(first, log_key, witness_keys)
            token = hub.access_token()

            def send(batch: list[dict[str, str]]) -> None:
                response = httpx.post(
                    f"{url}/ledger/v1/anchors",
                    params={"wait": "false"},
                    json=batch,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                if response.status_code == 200:
                    with lock:
                        for answer in response.json()["anchors"]:
                            acknowledged[answer["digest"]] = answer["index"]

            with ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(send, _items(200)) for _ in range(40)]
                while len(acknowledged) < 2000:
                    time.sleep(0.01)
                # The crash: no shutdown, no flush, in the middle of the anchoring.
                process.kill()
                process.communicate()
                for future in futures:
                    with contextlib.suppress(httpx.TransportError):
                        future.result()
            hub.close()

        assert len(acknowledged) >= 2000
        with running(serve, env, f"{url}/healthz"):
            hub = BayflowClient.from_key_file(data / "operator.key", url=url)
            items = [{"digest": d, "schema": "vat/1"} for d in acknowledged]
            for start in range(0, len(items), 1000):
                answers = hub.post("/ledger/v1/anchors", items[start : start + 1000])["anchors"]
                # Each comes back as the entry it was, at the index it was acknowledged with,
                # proven against a checkpoint both witnesses cosigned after the crash.
                assert all(not answer["created"] for answer in answers)
                assert {a["digest"]: a["index"] for a in answers} == {
                    i["digest"]: acknowledged[i["digest"]] for i in items[start : start + 1000]
                }
                _verify_all(answers, log_key, witness_keys)
            after = hub.post("/ledger/v1/anchors", _items(2))["anchors"]
            _verify_all(after, log_key, witness_keys)
            hub.close()
            fsck = bayflow("ledger", "fsck", env=env)
            assert fsck.returncode == 0, fsck.stderr


@pytest.mark.postgres
class TestWorkersOnPostgreSQL:
    """Two API workers share PostgreSQL; each entry gets exactly one index."""

    @pytest.fixture
    def postgres_url(self, postgres_server_url: str) -> Iterator[str]:
        yield from _fresh_postgres_database(postgres_server_url)

    def test_concurrent_anchoring_through_two_workers(
        self, tmp_path: Path, postgres_url: str
    ) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = cli_env(
            tmp_path / "data",
            BAYFLOW_DATABASE_URL=postgres_url,
            BAYFLOW_PUBLIC_URL=url,
        )
        assert bayflow("db", "upgrade", env=env).returncode == 0
        shared = _items(50)
        serve = ["serve", "--port", str(port), "--workers", "2"]
        with serving_group(serve, env, f"{url}/healthz"):
            hub = BayflowClient.from_key_file(tmp_path / "data" / "operator.key", url=url)
            token = hub.access_token()

            def send(batch: list[dict[str, str]]) -> list[dict[str, Any]]:
                # One connection per request, so that both workers get requests.
                response = httpx.post(
                    f"{url}/ledger/v1/anchors",
                    params={"wait": "false"},
                    json=batch,
                    headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                    timeout=60,
                )
                assert response.status_code == 200, response.text
                answers: list[dict[str, Any]] = response.json()["anchors"]
                return answers

            # Every batch repeats commitments other batches send at the same time.
            batches = [shared[i % 5 * 10 : i % 5 * 10 + 10] + _items(90) for i in range(40)]
            with ThreadPoolExecutor(8) as pool:
                answers = [a for batch in pool.map(send, batches) for a in batch]
            indexes: dict[str, set[int]] = {}
            for answer in answers:
                indexes.setdefault(answer["digest"], set()).add(answer["index"])
            assert all(len(seen) == 1 for seen in indexes.values())
            assigned = sorted(next(iter(seen)) for seen in indexes.values())
            assert assigned == list(range(len(indexes)))
            assert len(indexes) == 50 + 40 * 90

            deadline = time.monotonic() + 30
            while True:
                text = hub.request("GET", "/ledger/checkpoint", auth=False).text
                if int(text.split("\n")[1]) == len(indexes) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert int(text.split("\n")[1]) == len(indexes)
            hub.close()
        fsck = bayflow("ledger", "fsck", env=env)
        assert fsck.returncode == 0, fsck.stderr
