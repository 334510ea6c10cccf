"""The witness's HTTP server (c2sp.org/tlog-witness), separate from the hub.

A witness is run by another party than the hub's operator — one in Hong Kong, one in
Shenzhen — so it is its own small Starlette application in its own process, with its own key
and state file, and shares nothing with the hub but the protocol. It serves:

- ``POST /add-checkpoint`` — the submission API; answers are plain text, as the spec has them:
  cosignature lines (200), the witness's size with ``Content-Type: text/x.tlog.size`` (409), or
  one line saying why (400, 403, 404, 413, 422);
- ``GET /<origin hash>/checkpoint`` — the monitoring API: the latest cosigned checkpoint;
- ``GET /`` — the witness's verifier key and the logs it follows, for its operator.

The protocol logic is :class:`bayflow.ledger.witness.Witness`; this module adds HTTP and the
state file, :class:`WitnessStateFile`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Final, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bayflow.clock import Clock, SystemClock
from bayflow.errors import BayflowError, ConfigurationError
from bayflow.ledger.errors import (
    ConsistencyProofInvalid,
    MalformedWitnessRequest,
    NoteSignatureInvalid,
    UntrustedNote,
)
from bayflow.ledger.witness import (
    SIZE_MEDIA_TYPE,
    OldSizeMismatch,
    UnknownLog,
    Witness,
    WitnessState,
)
from bayflow.logs import get_logger

__all__ = ["MAX_BODY_SIZE", "WitnessStateFile", "create_witness_app"]

_log = get_logger("bayflow.witness")

MAX_BODY_SIZE: Final = 256 * 1024
"""Far above any honest request (63 proof lines and a checkpoint with 64 signatures)."""

# The status each refusal gets (tlog-witness, "add-checkpoint"); the first matching row wins.
_STATUS: Final[tuple[tuple[type[BayflowError], int], ...]] = (
    (MalformedWitnessRequest, 400),
    (UntrustedNote, 403),
    (NoteSignatureInvalid, 403),
    (UnknownLog, 404),
    (OldSizeMismatch, 409),
    (ConsistencyProofInvalid, 422),
)
_TEXT: Final = "text/plain; charset=utf-8"


class WitnessStateFile:
    """The witness's state on disk, replaced atomically and locked against a second process.

    :meth:`save` writes a temporary file beside the state, flushes it to disk, renames it over
    the state and flushes the directory, so after a crash the file holds either the old or the
    new state, never a mix and never less than what was cosigned. The exclusive lock (an
    ``flock`` on ``<state>.lock``, held from :meth:`open` until :meth:`close`) keeps two witness
    processes from answering from one state, which would let each cosign its own branch.
    """

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd = lock_fd

    @classmethod
    def open(cls, path: Path) -> Self:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.with_name(path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigurationError(
                f"another witness process is using the state file {path}"
            ) from None
        return cls(path, fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def load(self) -> WitnessState:
        """The saved state; an empty one if the witness has never cosigned."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return WitnessState.empty()
        except OSError as exc:
            raise ConfigurationError(f"cannot read witness state {self.path}: {exc}") from exc
        return WitnessState.from_bytes(data)

    def save(self, state: WitnessState) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, state.to_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(self.path)
        # The rename is durable only once the directory entry is flushed too.
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


async def _read_body(request: Request) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_SIZE:
            return None
    return bytes(body)


def _refusal(exc: BayflowError) -> Response:
    if isinstance(exc, OldSizeMismatch):
        # Set as a header, not a media type: Starlette would append a charset parameter, and
        # clients compare this media type exactly.
        return Response(f"{exc.size}\n", status_code=409, headers={"Content-Type": SIZE_MEDIA_TYPE})
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), None)
    if status is None:
        raise exc
    return PlainTextResponse(f"{exc.message}\n", status_code=status, media_type=_TEXT)


def create_witness_app(witness: Witness, *, clock: Clock | None = None) -> Starlette:
    """The witness's ASGI application around ``witness``."""
    clock = clock or SystemClock()

    async def add_checkpoint(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return PlainTextResponse("request body too large\n", status_code=413)
        # No await between the witness's check and its update: the witness also holds its lock
        # across both, so concurrent requests cannot interleave (the spec's A/B race).
        try:
            cosignatures = witness.add_checkpoint(body, clock.now())
        except BayflowError as exc:
            _log.info("checkpoint refused", reason=exc.message, kind=exc.slug)
            return _refusal(exc)
        lines = "".join(f"{signature.to_line()}\n" for signature in cosignatures)
        return PlainTextResponse(lines, media_type=_TEXT)

    async def checkpoint(request: Request) -> Response:
        note = witness.checkpoint(str(request.path_params["origin_hash"]))
        if note is None:
            return PlainTextResponse("no checkpoint cosigned for that log\n", status_code=404)
        return PlainTextResponse(note.to_text(), media_type=_TEXT)

    async def index(_request: Request) -> Response:
        lines = [witness.signer.verifier().vkey, *(f"log {o}" for o in witness.origins)]
        return PlainTextResponse("".join(f"{line}\n" for line in lines), media_type=_TEXT)

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin_hash:str}/checkpoint", checkpoint, methods=["GET"]),
        ]
    )
