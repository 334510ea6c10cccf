"""How Bayflow's HTTP services run under uvicorn: one send per small response.

uvicorn writes a response's status line and headers as soon as the app starts the response,
and the body in a second write. On loopback and in virtual machines each write is a system
call that also wakes the receiver, and in the interchange benchmark the hub's response writes
were about 15 % of its CPU time. :class:`HttpToolsProtocol` gives uvicorn a transport that
holds the writes one event-loop step makes and sends them together when the step ends, so a
response the app sends in one go (headers, then its body) leaves in one send.

Large writes are not copied into a joined buffer: what is held is sent first, then the large
write as it is. Closing or aborting the connection sends or drops what is held first, so the
order of bytes on the wire never changes.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _UvicornHttpTools

__all__ = ["HttpToolsProtocol", "freeze_startup_heap", "uvicorn_options"]

# Writes up to this size are joined; a larger one (a big envelope) goes out as it is.
_JOIN_LIMIT = 64 * 1024


class CoalescingTransport:
    """A transport that sends the writes of one event-loop step as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_size = 0
        self._flush_scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if len(data) > _JOIN_LIMIT:
            self.flush()
            self._transport.write(data)
            return
        self._held.append(bytes(data))
        self._held_size += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is held now."""
        self._flush_scheduled = False
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._held_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_size

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._held_size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (peer names, pausing reads, flow-control limits) is the transport's.
        return getattr(self._transport, name)


class HttpToolsProtocol(_UvicornHttpTools):
    """uvicorn's httptools protocol, writing through a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]


def freeze_startup_heap() -> None:
    """Keep what exists once a server has started out of the garbage collector's full passes.

    A started hub holds about 200,000 objects (modules, routes, models, the rules engine) that
    live as long as the process. Each full collection walked them all: 134 ms, measured in the
    interchange benchmark, a pause every request in flight waited out. Collecting once, then
    freezing (``gc.freeze``), leaves later full passes only the objects made since.
    """
    gc.collect()
    gc.freeze()


def uvicorn_options() -> dict[str, Any]:
    """The keyword arguments every Bayflow server passes to ``uvicorn.run``."""
    return {
        "http": HttpToolsProtocol,
        "log_config": None,
        "access_log": False,
        "server_header": False,
    }
