"""`bayflow witness` as its operator runs it: a separate process on loopback with its own state."""

import signal
from pathlib import Path

import httpx
import pytest

from bayflow.ledger.cosignature import CosignatureVerifier, WitnessPolicy
from bayflow.ledger.note import Note
from bayflow.ledger.witness import AddCheckpointRequest, origin_hash
from tests.integration.conftest import bayflow, cli_env, free_port, running
from tests.tinylog import TinyLog

pytestmark = pytest.mark.slow


def _grow(log: TinyLog, size: int) -> None:
    while len(log.leaves) < size:
        log.append(f"entry {len(log.leaves)}".encode())


def _add(base: str, old: int, log: TinyLog) -> httpx.Response:
    proof = log.consistency(old) if 0 < old < len(log.leaves) else []
    body = AddCheckpointRequest(old, tuple(proof), log.checkpoint()).to_bytes()
    return httpx.post(f"{base}/add-checkpoint", content=body, timeout=10)


class TestWitnessServer:
    """The witness cosigns consistent checkpoints and remembers them across a kill -9."""

    def test_cosigns_refuses_a_fork_and_keeps_its_state_across_a_crash(
        self, tmp_path: Path
    ) -> None:
        env = cli_env(tmp_path / "data")
        key_file, log_key_file = tmp_path / "hk.key", tmp_path / "log.vkey"
        keygen = bayflow(
            "witness",
            "keygen",
            "--key-file",
            str(key_file),
            "--name",
            "witness.hk.example/w1",
            env=env,
        )
        assert keygen.returncode == 0, keygen.stderr
        witness_key = CosignatureVerifier.from_vkey(keygen.stdout.strip())
        assert key_file.stat().st_mode & 0o777 == 0o600
        log = TinyLog()
        log_key_file.write_text(log.signer.verifier().vkey + "\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = [
            "witness",
            "serve",
            "--key-file",
            str(key_file),
            "--log-key",
            str(log_key_file),
            "--state",
            str(tmp_path / "hk.state"),
            "--port",
            str(port),
        ]

        with running(args, env, f"{base}/") as process:
            _grow(log, 10)
            first = _add(base, 0, log)
            assert first.status_code == 200, first.text
            cosigned = Note.from_text(log.checkpoint().to_text() + first.text)
            WitnessPolicy((witness_key,), 1).check(cosigned)

            _grow(log, 25)
            assert _add(base, 10, log).status_code == 200

            forked = TinyLog()
            _grow(forked, 20)
            forked.append(b"a rewritten entry")
            _grow(forked, 30)
            assert _add(base, 25, forked).status_code == 422

            # A second witness on the same state would let each cosign its own branch.
            second = bayflow(*args[:-1], str(free_port()), env=env)
            assert second.returncode == 78, second.stderr
            assert "another witness" in second.stderr

            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)

        with running(args, env, f"{base}/") as process:
            stale = _add(base, 0, log)
            assert stale.status_code == 409
            assert stale.text == "25\n"
            assert stale.headers["content-type"] == "text/x.tlog.size"
            kept = httpx.get(f"{base}/{origin_hash(log.signer.name)}/checkpoint", timeout=10)
            assert kept.text.startswith(f"{log.signer.name}\n25\n")
            _grow(log, 26)
            assert _add(base, 25, log).status_code == 200
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
        assert process.returncode == 0
