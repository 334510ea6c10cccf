import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bayflow.api.witness import MAX_BODY_SIZE, WitnessStateFile, create_witness_app
from bayflow.clock import FixedClock
from bayflow.errors import ConfigurationError
from bayflow.ledger.cosignature import WitnessPolicy
from bayflow.ledger.errors import MalformedCheckpoint
from bayflow.ledger.note import Note
from bayflow.ledger.witness import AddCheckpointRequest, Witness, WitnessState, origin_hash
from tests.tinylog import NOW, TinyLog, log_signer, witness_signer

pytestmark = pytest.mark.anyio

WITNESS = witness_signer("witness.hk.example/w1", 9)


def _log(size: int, *, fork: bool = False) -> TinyLog:
    log = TinyLog()
    for i in range(size):
        log.append(f"{'forked ' if fork and i >= 5 else ''}entry {i}".encode())
    return log


def _body(old: int, log: TinyLog) -> bytes:
    proof = log.consistency(old) if 0 < old < len(log.leaves) else []
    return AddCheckpointRequest(old, tuple(proof), log.checkpoint()).to_bytes()


@pytest.fixture
def state_file(tmp_path: Path) -> Iterator[WitnessStateFile]:
    with WitnessStateFile.open(tmp_path / "witness.state") as store:
        yield store


@pytest.fixture
async def witness(state_file: WitnessStateFile) -> AsyncIterator[httpx.AsyncClient]:
    logic = Witness(
        WITNESS, [log_signer().verifier()], state=state_file.load(), persist=state_file.save
    )
    app = create_witness_app(logic, clock=FixedClock(NOW))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://witness.test") as client:
        yield client


async def _add(client: httpx.AsyncClient, old: int, log: TinyLog) -> httpx.Response:
    return await client.post("/add-checkpoint", content=_body(old, log))


class TestAddCheckpointOverHTTP:
    """POST /add-checkpoint answers with the status codes of c2sp.org/tlog-witness."""

    async def test_a_cosignature_is_returned_as_note_signature_lines(
        self, witness: httpx.AsyncClient
    ) -> None:
        log = _log(10)
        response = await _add(witness, 0, log)
        assert response.status_code == 200
        assert response.text.startswith("— witness.hk.example/w1 ")
        assert response.text.endswith("\n")
        checkpoint = log.checkpoint()
        cosigned = Note.from_text(checkpoint.to_text() + response.text)
        assert cosigned.text == checkpoint.text
        WitnessPolicy((WITNESS.verifier(),), 1).check(cosigned)

    async def test_a_wrong_old_size_is_409_with_the_known_size(
        self, witness: httpx.AsyncClient
    ) -> None:
        assert (await _add(witness, 0, _log(10))).status_code == 200
        response = await _add(witness, 4, _log(20))
        assert response.status_code == 409
        assert response.headers["content-type"] == "text/x.tlog.size"
        assert response.text == "10\n"

    async def test_a_fork_is_422(self, witness: httpx.AsyncClient) -> None:
        assert (await _add(witness, 0, _log(10))).status_code == 200
        assert (await _add(witness, 10, _log(12, fork=True))).status_code == 422

    async def test_a_rollback_is_400(self, witness: httpx.AsyncClient) -> None:
        assert (await _add(witness, 0, _log(10))).status_code == 200
        assert (await _add(witness, 10, _log(5))).status_code == 400

    async def test_a_checkpoint_by_another_key_is_403(self, witness: httpx.AsyncClient) -> None:
        impostor = TinyLog(log_signer(seed=7))
        impostor.append(b"entry")
        assert (await _add(witness, 0, impostor)).status_code == 403

    async def test_an_unknown_log_is_404(self, witness: httpx.AsyncClient) -> None:
        other = TinyLog(log_signer(seed=7, name="other.example/log"))
        other.append(b"entry")
        assert (await _add(witness, 0, other)).status_code == 404

    async def test_a_malformed_body_is_400_with_one_line(self, witness: httpx.AsyncClient) -> None:
        response = await witness.post("/add-checkpoint", content=b"hello")
        assert response.status_code == 400
        assert response.text.count("\n") == 1

    async def test_an_oversized_body_is_413(self, witness: httpx.AsyncClient) -> None:
        response = await witness.post("/add-checkpoint", content=b"x" * (MAX_BODY_SIZE + 1))
        assert response.status_code == 413

    async def test_the_monitoring_endpoint_serves_the_cosigned_checkpoint(
        self, witness: httpx.AsyncClient
    ) -> None:
        path = f"/{origin_hash(log_signer().name)}/checkpoint"
        assert (await witness.get(path)).status_code == 404
        await _add(witness, 0, _log(10))
        note = Note.from_text((await witness.get(path)).text)
        note.verify([log_signer().verifier()])
        WitnessPolicy((WITNESS.verifier(),), 1).check(note)

    async def test_the_index_names_the_key_and_the_logs(self, witness: httpx.AsyncClient) -> None:
        response = await witness.get("/")
        assert response.text == f"{WITNESS.verifier().vkey}\nlog {log_signer().name}\n"


class TestWitnessStateFile:
    """The state file is replaced atomically, kept private, and used by one process only."""

    async def test_a_cosigned_checkpoint_is_on_disk_before_the_answer(
        self, witness: httpx.AsyncClient, state_file: WitnessStateFile
    ) -> None:
        await _add(witness, 0, _log(10))
        latest = WitnessState.from_bytes(state_file.path.read_bytes()).latest(log_signer().name)
        assert latest is not None
        assert latest.size == 10
        assert state_file.path.stat().st_mode & 0o777 == 0o600
        assert not state_file.path.with_name("witness.state.tmp").exists()

    def test_a_missing_file_is_an_empty_state(self, state_file: WitnessStateFile) -> None:
        assert state_file.load() == WitnessState.empty()

    def test_a_second_opener_is_refused(self, state_file: WitnessStateFile) -> None:
        # flock locks belong to open file descriptions, so a second open in this process
        # conflicts just as another process's would.
        with pytest.raises(ConfigurationError, match="another witness"):
            WitnessStateFile.open(state_file.path)

    def test_a_corrupt_state_is_refused_rather_than_reset(
        self, state_file: WitnessStateFile
    ) -> None:
        state_file.path.write_text(json.dumps({"type": "something else"}))
        with pytest.raises(MalformedCheckpoint, match="not a witness state"):
            state_file.load()

    def test_the_lock_is_released_on_close(self, tmp_path: Path) -> None:
        path = tmp_path / "w.state"
        WitnessStateFile.open(path).close()
        with WitnessStateFile.open(path) as reopened:
            assert reopened.load() == WitnessState.empty()
