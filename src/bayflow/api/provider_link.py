"""A lean HTTP/1.1 client for the hub's one hop to data providers.

The hub relays each consented request to the provider's delivery endpoint as ``POST <endpoint>``
with ``{"request": "<JWT>"}`` and gets back a sealed envelope (up to 64 MiB) or a problem+json
error. On that hot path ``httpx.AsyncClient`` cost about 0.7 ms of CPU per call in a profile:
several ``import sniffio`` attempts, two socket writes per request, pool bookkeeping and
``has_expired`` socket polls. This client makes one ``transport.write`` per request, parses
answers with ``httptools`` (llhttp, as uvicorn does on the provider side) as bytes arrive, and
keeps a LIFO pool of keep-alive connections per origin. It is an ``asyncio.Protocol``, not a
stream pair, so bytes reach the parser without a second buffer, and an idle connection's EOF
or stray bytes mark it unusable as they arrive: taking one from the pool is a flag check.

It deliberately does not follow redirects, use proxies, keep cookies, speak HTTP/2 or stream
request bodies. A provider that redirects is misconfigured; the caller sees the status it sent.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import urlsplit

import httptools

__all__ = ["ProviderAnswer", "ProviderLink", "ProviderLinkError"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_FIXED_HEADERS: Final = (
    "Accept: application/vnd.bayflow.envelope, application/problem+json\r\n"
    "User-Agent: bayflow-hub\r\n"
)
# The request target goes on the request line verbatim: a space or control byte would split it.
_UNSAFE_TARGET: Final = re.compile(r"[\x00-\x20\x7f]")
_Origin = tuple[str, str, int]


class ProviderLinkError(Exception):
    """The provider could not be reached or did not send a usable HTTP answer."""


class _Unanswered(ProviderLinkError):
    """The connection ended before the first byte of an answer."""


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    status: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class _Target:
    origin: _Origin
    label: str  # host:port, as error messages name the provider
    head: str  # request line and Host header


@functools.lru_cache(maxsize=256)
def _target(url: str) -> _Target:
    # Endpoints are a handful of registered URLs: each is parsed once, not on every relay.
    def bad(why: str) -> ProviderLinkError:
        return ProviderLinkError(f"the provider endpoint {url!r} {why}")

    if not url.isascii():
        raise bad("is not ASCII (write the host in punycode and percent-encode the path)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad(f"is not a valid URL ({exc})") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise bad("is not an http or https URL")
    host = parts.hostname
    if not host:
        raise bad("has no host")
    if parts.username is not None or parts.password is not None:
        raise bad("carries credentials")
    path = parts.path or "/"
    target = f"{path}?{parts.query}" if parts.query else path
    if _UNSAFE_TARGET.search(target):
        raise bad("has spaces or control characters in its path")
    default_port = _DEFAULT_PORTS[parts.scheme]
    port = default_port if port is None else port
    literal = f"[{host}]" if ":" in host else host
    label = f"{literal}:{port}"
    authority = literal if port == default_port else label
    head = f"POST {target} HTTP/1.1\r\nHost: {authority}\r\n"
    return _Target((parts.scheme, host, port), label, head)


class _Wire(asyncio.Protocol):
    """One connection: feeds the parser as bytes arrive and settles the pending answer."""

    def __init__(self, label: str, limit: int) -> None:
        self._label = label
        self._limit = limit
        # llhttp parses successive messages on one connection, so one parser serves them all.
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[ProviderAnswer] | None = None
        self._body: list[bytes] = []
        self._content_type: str | None = None
        self._framed = False
        self._headers_done = False
        self._received = 0
        self.reusable = False

    def send(self, request: bytes) -> asyncio.Future[ProviderAnswer]:
        assert self._transport is not None
        self._answer = answer = asyncio.get_running_loop().create_future()
        self._received = 0
        self._reset_message()
        self.reusable = False
        self._transport.write(request)
        return answer

    def close(self, *, abort: bool = True) -> None:
        self.reusable = False
        if self._transport is not None:
            if abort:
                self._transport.abort()
            else:
                self._transport.close()

    def closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            # Bytes nobody asked for: this connection's framing can no longer be trusted.
            self.close()
            return
        self._received += len(data)
        if self._received > self._limit:
            self._fail(f"sent more than {self._limit} bytes")
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(f"sent a malformed HTTP response ({exc or type(exc).__name__})")

    def eof_received(self) -> bool:
        self.reusable = False
        return False  # asyncio closes the transport, then calls connection_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        answer = self._answer
        if answer is None or answer.done():
            return
        if exc is None and self._headers_done and not self._framed:
            # Neither Content-Length nor chunked coding: the body ran until the provider closed.
            self._settle(keep_alive=False)
        elif self._received:
            self._fail("closed the connection mid-response")
        else:
            message = f"the provider at {self._label} closed the connection without answering"
            answer.set_exception(_Unanswered(message))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._answer is not None and self._answer.done():
            self.close()  # a second message after the answer: nothing asked for it

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self._content_type = value.decode("latin-1")
        elif name == b"content-length" or (
            name == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:
            # An interim answer (103 Early Hints, say): the final one follows on this connection.
            self._reset_message()
            return
        self._settle(keep_alive=self._parser.should_keep_alive())

    def _reset_message(self) -> None:
        self._body = []
        self._content_type = None
        self._framed = self._headers_done = False

    def _settle(self, *, keep_alive: bool) -> None:
        assert self._answer is not None
        status = self._parser.get_status_code()
        self._answer.set_result(ProviderAnswer(status, self._content_type, b"".join(self._body)))
        self._body = []
        self.reusable = keep_alive

    def _fail(self, what: str) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ProviderLinkError(f"the provider at {self._label} {what}"))


class ProviderLink:
    """Posts to providers' delivery endpoints over pooled keep-alive connections.

    Bound to the event loop it first runs on, as the hub's application state is.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        timeout: float = 30.0,
        max_response_bytes: int = 64 * 1024 * 1024 + 64 * 1024,
        max_idle_per_origin: int = 32,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        # Counts every byte of one answer (status line, headers, framing, body); the 64 KiB over
        # the largest envelope leave room for all but the body.
        self._max_response_bytes = max_response_bytes
        self._max_idle = max_idle_per_origin
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, list[_Wire]] = {}
        self._closed = False

    async def post(
        self, url: str, body: bytes, *, content_type: str = "application/json"
    ) -> ProviderAnswer:
        if self._closed:
            raise ProviderLinkError("the provider link is closed")
        target = _target(url)
        head = f"{target.head}Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        request = b"".join(((head + _FIXED_HEADERS + "\r\n").encode("latin-1"), body))
        wire = self._take_idle(target.origin)
        if wire is not None:
            try:
                return await self._exchange(wire, target, request)
            except _Unanswered:
                # The provider closed this idle connection as the request left (its keep-alive
                # timeout): nothing was answered, so the request goes once more, on a new one.
                pass
        return await self._exchange(await self._connect(target), target, request)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for wires in idle.values():
            for wire in wires:
                wire.close(abort=False)

    def _take_idle(self, origin: _Origin) -> _Wire | None:
        idle = self._idle.get(origin)
        while idle:
            wire = idle.pop()  # the most recent is the least likely to have timed out
            if wire.reusable and not wire.closing():
                return wire
            wire.close()
        return None

    async def _connect(self, target: _Target) -> _Wire:
        scheme, host, port = target.origin
        context = None
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            context = self._ssl_context
        label, limit = target.label, self._max_response_bytes
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, wire = await loop.create_connection(
                    lambda: _Wire(label, limit),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise ProviderLinkError(
                f"the provider at {label} did not accept a connection within "
                f"{self._connect_timeout:g} s"
            ) from None
        except OSError as exc:
            refused = isinstance(exc, ConnectionRefusedError)
            reason = "connection refused" if refused else exc.strerror or str(exc)
            raise ProviderLinkError(
                f"could not connect to the provider at {label}: {reason}"
            ) from exc
        return wire

    async def _exchange(self, wire: _Wire, target: _Target, request: bytes) -> ProviderAnswer:
        settled = False
        try:
            async with asyncio.timeout(self._timeout):
                answer = await wire.send(request)
            settled = True
        except TimeoutError:
            raise ProviderLinkError(
                f"the provider at {target.label} did not answer within {self._timeout:g} s"
            ) from None
        finally:
            if not settled:
                # Failed, timed out or cancelled mid-message: the connection cannot carry another.
                wire.close()
        if wire.reusable and not self._closed:
            idle = self._idle.setdefault(target.origin, [])
            if len(idle) < self._max_idle:
                idle.append(wire)
                return answer
        wire.close(abort=False)
        return answer
