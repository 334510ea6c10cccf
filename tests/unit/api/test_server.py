"""Bayflow's uvicorn protocol: a response's writes of one event-loop step leave as one send."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

from bayflow.api.server import (
    CoalescingTransport,
    HttpToolsProtocol,
    freeze_startup_heap,
    uvicorn_options,
)


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.events.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000)}.get(name, default)


@pytest.mark.anyio
class TestCoalescingTransport:
    async def test_the_writes_of_one_step_leave_as_one_write_when_the_step_ends(self) -> None:
        raw = RecordingTransport()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"ok")
        assert raw.writes == []
        assert transport.get_write_buffer_size() == 7 + 40
        await asyncio.sleep(0)
        assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
        assert transport.get_write_buffer_size() == 7

    async def test_a_large_write_follows_what_is_held_without_being_copied(self) -> None:
        raw = RecordingTransport()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        big = b"x" * (1024 * 1024)
        transport.write(b"head")
        transport.write(memoryview(big))
        assert raw.writes == [b"head", big]
        await asyncio.sleep(0)
        assert raw.writes == [b"head", big]

    async def test_close_sends_what_is_held_first_and_abort_drops_it(self) -> None:
        raw = RecordingTransport()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"last words")
        transport.close()
        assert raw.events == ["write", "close"]
        assert raw.writes == [b"last words"]

        raw = RecordingTransport()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"never sent")
        transport.abort()
        await asyncio.sleep(0)
        assert raw.events == ["abort"]

    async def test_nothing_is_written_to_a_transport_that_is_closing(self) -> None:
        raw = RecordingTransport()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"late")
        raw.closing = True
        await asyncio.sleep(0)
        assert raw.writes == []

    async def test_everything_else_is_the_transports(self) -> None:
        transport = CoalescingTransport(RecordingTransport(), asyncio.get_running_loop())
        assert transport.get_extra_info("peername") == ("127.0.0.1", 5000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/small")
    async def small() -> Response:
        return Response(b"a" * 1024, media_type="application/octet-stream")

    @app.get("/large")
    async def large() -> Response:
        return Response(bytes(range(256)) * 8192, media_type="application/octet-stream")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"part {i};".encode()
                await asyncio.sleep(0.001)

        return StreamingResponse(parts(), media_type="text/plain")

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    options = uvicorn_options()
    config = uvicorn.Config(_app(), host="127.0.0.1", port=port, lifespan="off", **options)
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=30)


def test_every_bayflow_server_runs_the_coalescing_protocol() -> None:
    assert uvicorn_options()["http"] is HttpToolsProtocol


def test_responses_arrive_whole_over_one_kept_alive_connection(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        for _ in range(20):
            small = client.get("/small")
            assert small.status_code == 200
            assert small.content == b"a" * 1024
        large = client.get("/large")
        assert large.content == bytes(range(256)) * 8192
        stream = client.get("/stream")
        assert stream.text == "".join(f"part {i};" for i in range(5))
        head = client.head("/small")
        assert head.status_code in {200, 405}


def test_a_small_response_leaves_in_one_segment(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
    # Headers and body were written together, so the first read holds the whole response.
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"a" * 1024


def test_what_lives_at_startup_is_left_out_of_full_collections() -> None:
    survivor = [object() for _ in range(100)]
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(survivor)
    finally:
        gc.unfreeze()
