"""``ProviderLink`` against real loopback sockets.

Most providers here are raw ``asyncio`` servers that send exact bytes, so each framing,
keep-alive and failure case is what the test says it is; one test runs the uvicorn + FastAPI
stack that providers actually serve with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import itertools
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from pathlib import Path
from typing import cast

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request, Response
from hypothesis import given
from hypothesis import strategies as st

from bayflow.api import provider_link
from bayflow.api.provider_link import ProviderAnswer, ProviderLink, ProviderLinkError

pytestmark = pytest.mark.anyio

ENVELOPE = "application/vnd.bayflow.envelope"
PROBLEM = "application/problem+json"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Provider:
    def __init__(self, url: str) -> None:
        self.url = url
        self.connections = 0


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)\r\n", head)
    assert length is not None
    return head, await reader.readexactly(int(length.group(1)))


def answer(body: bytes, *, status: str = "200 OK", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {ENVELOPE}\r\nContent-Length: {len(body)}\r\n"
        f"{headers}\r\n"
    ).encode() + body


@asynccontextmanager
async def serving(
    handler: Handler, *, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Provider]:
    """Run ``handler`` for each connection; its third argument counts connections from 0."""
    tasks: set[asyncio.Task[None]] = set()
    provider = Provider("")

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        index = provider.connections
        provider.connections += 1
        try:
            await handler(reader, writer, index)
        finally:
            writer.close()

    server = await asyncio.start_server(connected, host, 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    literal = f"[{host}]" if ":" in host else host
    provider.url = f"{'https' if ssl_context else 'http'}://{literal}:{port}/deliver?v=1"
    try:
        yield provider
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def answering(
    respond: Callable[[bytes], bytes], requests: list[tuple[bytes, bytes]] | None = None
) -> Handler:
    """A keep-alive provider that answers each request with ``respond(body)``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while (request := await read_request(reader)) is not None:
            if requests is not None:
                requests.append(request)
            writer.write(respond(request[1]))
            await writer.drain()

    return handler


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    # The hub runs under uvicorn, which picks uvloop when it is installed.
    return request.param


@pytest.fixture
async def link() -> AsyncIterator[ProviderLink]:
    async with aclosing(ProviderLink(connect_timeout=30, timeout=30)) as link:
        yield link


def idle_count(link: ProviderLink) -> int:
    return sum(len(wires) for wires in link._idle.values())


async def test_a_content_length_answer_is_returned_with_its_content_type(
    link: ProviderLink,
) -> None:
    requests: list[tuple[bytes, bytes]] = []
    reply = answer(b"sealed", headers="X-Other: 1\r\n")
    async with serving(answering(lambda _: reply, requests)) as p:
        result = await link.post(p.url, b'{"request": "jwt"}')

    assert result == ProviderAnswer(200, ENVELOPE, b"sealed")
    port = p.url.split(":")[2].split("/")[0]
    expected_head = (
        f"POST /deliver?v=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 18\r\n"
        f"Accept: {ENVELOPE}, {PROBLEM}\r\nUser-Agent: bayflow-hub\r\n\r\n"
    )
    assert requests == [(expected_head.encode(), b'{"request": "jwt"}')]


@pytest.mark.parametrize(
    ("url", "origin", "target", "host"),
    [
        (
            "https://provider.test/deliver",
            ("https", "provider.test", 443),
            "/deliver",
            "provider.test",
        ),
        ("http://Provider.test:8080", ("http", "provider.test", 8080), "/", "provider.test:8080"),
        ("http://[::1]/x?a=1&b#frag", ("http", "::1", 80), "/x?a=1&b", "[::1]"),
    ],
)
async def test_an_endpoint_url_gives_the_origin_target_and_host(
    url: str, origin: tuple[str, str, int], target: str, host: str
) -> None:
    parsed = provider_link._target(url)
    assert parsed.origin == origin
    assert parsed.head == f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"


class CountingTransport:
    def __init__(self, transport: asyncio.BaseTransport, writes: list[bytes]) -> None:
        self._transport = cast("asyncio.Transport", transport)
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(data)
        self._transport.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


async def test_a_request_is_sent_in_one_write(
    link: ProviderLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    made = provider_link._Wire.connection_made

    def counting(wire: provider_link._Wire, transport: asyncio.BaseTransport) -> None:
        made(wire, cast("asyncio.BaseTransport", CountingTransport(transport, writes)))

    monkeypatch.setattr(provider_link._Wire, "connection_made", counting)
    async with serving(answering(answer)) as p:
        await link.post(p.url, b"first")
        await link.post(p.url, b"second")
    assert len(writes) == 2
    assert writes[1].startswith(b"POST /deliver?v=1 HTTP/1.1\r\n")
    assert writes[1].endswith(b"\r\n\r\nsecond")


async def test_a_chunked_answer_is_reassembled(link: ProviderLink) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.bayflow.envelope\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nseale\r\n1\r\nd\r\n0\r\n\r\n"
    )
    async with serving(answering(lambda _: chunked)) as p:
        first = await link.post(p.url, b"{}")
        second = await link.post(p.url, b"{}")
    assert first == second == ProviderAnswer(200, ENVELOPE, b"sealed")
    assert p.connections == 1


@pytest.mark.parametrize(
    "status_line", [b"HTTP/1.0 200 OK", b"HTTP/1.1 200 OK\r\nConnection: close"]
)
async def test_an_answer_without_length_is_read_until_the_provider_closes(
    link: ProviderLink, status_line: bytes
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(status_line + b"\r\nContent-Type: text/plain\r\n\r\nuntil ")
        await writer.drain()
        writer.write(b"the end")

    async with serving(handler) as p:
        assert await link.post(p.url, b"{}") == ProviderAnswer(200, "text/plain", b"until the end")
        assert await link.post(p.url, b"{}") == ProviderAnswer(200, "text/plain", b"until the end")
    assert p.connections == 2
    assert idle_count(link) == 0


async def test_sequential_posts_reuse_one_keep_alive_connection(link: ProviderLink) -> None:
    async with serving(answering(answer)) as p:
        for n in range(5):
            assert (await link.post(p.url, b"%d" % n)).body == b"%d" % n
    assert p.connections == 1


@pytest.mark.parametrize(
    ("version", "headers", "connections"),
    [
        ("HTTP/1.1", "Connection: close\r\n", 2),
        ("HTTP/1.0", "", 2),
        ("HTTP/1.0", "Connection: keep-alive\r\n", 1),
    ],
)
async def test_keep_alive_follows_what_the_answer_says(
    link: ProviderLink, version: str, headers: str, connections: int
) -> None:
    def respond(body: bytes) -> bytes:
        return answer(body, headers=headers).replace(b"HTTP/1.1", version.encode(), 1)

    async with serving(answering(respond)) as p:
        assert (await link.post(p.url, b"a")).body == b"a"
        assert (await link.post(p.url, b"b")).body == b"b"
    assert p.connections == connections


async def test_an_idle_connection_the_provider_closed_is_not_taken_from_the_pool(
    link: ProviderLink,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader)
        assert request is not None
        writer.write(answer(b"once"))
        await writer.drain()

    async with serving(handler) as p:
        await link.post(p.url, b"{}")
        wire = next(iter(link._idle.values()))[0]
        async with asyncio.timeout(30):
            while wire.reusable:  # noqa: ASYNC110 - the client's own flag; nothing signals it.
                await asyncio.sleep(0.001)
        assert (await link.post(p.url, b"{}")).body == b"once"
    assert p.connections == 2


def reset_on_close(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_a_reused_connection_closed_by_the_provider_is_retried_once(
    link: ProviderLink, reset: bool
) -> None:
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while (request := await read_request(reader)) is not None:
            requests.append(request[1])
            if n == 0 and len(requests) == 2:
                if reset:
                    reset_on_close(writer)
                return  # the keep-alive timeout fires as the second request arrives
            writer.write(answer(request[1]))
            await writer.drain()

    async with serving(handler) as p:
        assert (await link.post(p.url, b"first")).body == b"first"
        assert (await link.post(p.url, b"second")).body == b"second"
    assert requests == [b"first", b"second", b"second"]
    assert p.connections == 2


async def test_a_retry_is_made_only_once(link: ProviderLink) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        if n == 0:
            writer.write(answer(b"ok"))
            await writer.drain()
            await read_request(reader)

    async with serving(handler) as p:
        await link.post(p.url, b"{}")
        with pytest.raises(ProviderLinkError, match="closed the connection without answering"):
            await link.post(p.url, b"{}")
    assert p.connections == 2


async def test_a_reset_on_a_fresh_connection_is_an_error_without_retry(link: ProviderLink) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        reset_on_close(writer)

    async with serving(handler) as p:
        with pytest.raises(ProviderLinkError, match="without answering"):
            await link.post(p.url, b"{}")
    assert p.connections == 1


async def test_a_connection_lost_mid_answer_is_an_error_even_when_reused(
    link: ProviderLink,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(answer(b"ok"))
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()

    async with serving(handler) as p:
        await link.post(p.url, b"{}")
        with pytest.raises(ProviderLinkError, match=r"127\.0\.0\.1:\d+ closed the connection mid"):
            await link.post(p.url, b"{}")
    assert p.connections == 1


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_answer_over_the_size_limit_is_an_error(chunked: bool) -> None:
    body = b"x" * 5000
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n" + body + b"\r\n0\r\n\r\n"
        if chunked
        else answer(body)
    )
    async with (
        serving(answering(lambda _: reply)) as p,
        aclosing(ProviderLink(max_response_bytes=4096)) as link,
    ):
        with pytest.raises(ProviderLinkError, match="sent more than 4096 bytes"):
            await link.post(p.url, b"{}")
        assert idle_count(link) == 0


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_a_malformed_answer_is_an_error(link: ProviderLink, reply: bytes) -> None:
    async with serving(answering(lambda _: reply)) as p:
        with pytest.raises(ProviderLinkError, match="sent a malformed HTTP response"):
            await link.post(p.url, b"{}")
    assert idle_count(link) == 0


async def test_bytes_after_the_answer_drop_the_connection(link: ProviderLink) -> None:
    async with serving(answering(lambda body: answer(body) + b"HTTP/1.1 200 OK\r\n")) as p:
        assert (await link.post(p.url, b"a")).body == b"a"
        assert (await link.post(p.url, b"b")).body == b"b"
    assert p.connections == 2


async def test_an_interim_answer_is_skipped() -> None:
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    async with (
        serving(answering(lambda body: hints + answer(body))) as p,
        aclosing(ProviderLink()) as link,
    ):
        assert await link.post(p.url, b"a") == ProviderAnswer(200, ENVELOPE, b"a")
        assert await link.post(p.url, b"b") == ProviderAnswer(200, ENVELOPE, b"b")
    assert p.connections == 1


async def test_a_provider_that_does_not_answer_in_time_is_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        await reader.read()

    async with serving(handler) as p, aclosing(ProviderLink(timeout=0.2)) as link:
        with pytest.raises(ProviderLinkError, match=r"did not answer within 0\.2 s"):
            await link.post(p.url, b"{}")
        assert idle_count(link) == 0


async def test_a_cancelled_post_closes_its_connection(link: ProviderLink) -> None:
    arrived, closed = asyncio.Event(), asyncio.Event()

    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        arrived.set()
        await reader.read()
        closed.set()

    async with serving(handler) as p:
        post = asyncio.create_task(link.post(p.url, b"{}"))
        async with asyncio.timeout(30):
            await arrived.wait()
            post.cancel()
            with pytest.raises(asyncio.CancelledError):
                await post
            await closed.wait()
    assert idle_count(link) == 0


async def test_a_refused_connection_is_an_error(link: ProviderLink) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        ProviderLinkError, match=rf"provider at 127\.0\.0\.1:{port}: connection refused"
    ):
        await link.post(f"http://127.0.0.1:{port}/deliver", b"{}")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://provider.test/deliver",
        "http:///deliver",
        "garbage",
        "",
        "http://provider.test:99999/",
        "http://user:secret@provider.test/",
        "http://provider.test/a b",
        "https://bücher.test/",
    ],
)
async def test_a_bad_endpoint_url_is_an_error(link: ProviderLink, url: str) -> None:
    with pytest.raises(ProviderLinkError, match="the provider endpoint"):
        await link.post(url, b"{}")


async def test_an_error_status_with_a_problem_body_is_returned(link: ProviderLink) -> None:
    problem = b'{"title": "consent revoked", "status": 403}'
    reply = answer(problem, status="403 Forbidden").replace(ENVELOPE.encode(), PROBLEM.encode())
    async with serving(answering(lambda _: reply)) as p:
        assert await link.post(p.url, b"{}") == ProviderAnswer(403, PROBLEM, problem)
        assert await link.post(p.url, b"{}") == ProviderAnswer(403, PROBLEM, problem)
    assert p.connections == 1


async def test_an_ipv6_literal_host_is_reached(link: ProviderLink) -> None:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 cannot be bound here")
    async with serving(answering(answer), host="::1") as p:
        assert p.url.startswith("http://[::1]:")
        assert (await link.post(p.url, b"six")).body == b"six"


async def test_concurrent_posts_each_get_their_own_answer(link: ProviderLink) -> None:
    async with serving(answering(lambda body: answer(body * 1000))) as p:
        bodies = [b"%02d" % n for n in range(20)]
        answers = await asyncio.gather(*(link.post(p.url, body) for body in bodies))
        again = await asyncio.gather(*(link.post(p.url, body) for body in bodies))
    assert [a.body for a in answers] == [a.body for a in again] == [b * 1000 for b in bodies]
    assert p.connections == 20


async def test_idle_connections_per_origin_are_capped() -> None:
    async with (
        serving(answering(answer)) as p,
        aclosing(ProviderLink(max_idle_per_origin=2)) as link,
    ):
        await asyncio.gather(*(link.post(p.url, b"{}") for _ in range(5)))
        assert idle_count(link) == 2


async def test_after_aclose_idle_connections_are_closed_and_posts_are_refused() -> None:
    ended = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await answering(answer)(reader, writer, 0)
        ended.set()

    async with serving(handler) as p:
        link = ProviderLink()
        await link.post(p.url, b"{}")
        await link.aclose()
        async with asyncio.timeout(30):
            await ended.wait()
        with pytest.raises(ProviderLinkError, match="closed"):
            await link.post(p.url, b"{}")


@given(
    body=st.binary(max_size=20_000),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=8),
)
async def test_any_body_round_trips_through_any_chunking(body: bytes, cuts: list[int]) -> None:
    def respond(request: bytes) -> bytes:
        edges = sorted({0, len(request), *(c for c in cuts if c < len(request))})
        chunks = [request[a:b] for a, b in itertools.pairwise(edges)]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"

    async with serving(answering(respond)) as p, aclosing(ProviderLink()) as link:
        assert (await link.post(p.url, body)).body == body
        assert (await link.post(p.url, body[::-1])).body == body[::-1]


def self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provider.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


async def test_https_checks_the_provider_certificate(tmp_path: Path) -> None:
    cert, key = self_signed()
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    trusting = ssl.create_default_context(cadata=cert.decode())
    async with serving(answering(answer), ssl_context=server_context) as p:
        async with aclosing(ProviderLink(ssl_context=trusting)) as link:
            assert (await link.post(p.url, b"tls")).body == b"tls"
            assert (await link.post(p.url, b"again")).body == b"again"
        async with aclosing(ProviderLink()) as untrusting:
            with pytest.raises(ProviderLinkError, match=r"could not connect.*certificate"):
                await untrusting.post(p.url, b"{}")
    assert p.connections == 1  # the refused handshake never reached the provider's handler


MIB = 1024 * 1024


def provider_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None)

    @app.post("/deliver")
    async def deliver(request: Request) -> Response:
        token = (await request.json())["request"]
        if token == "revoked":
            return Response(b'{"title": "revoked"}', status_code=403, media_type=PROBLEM)
        return Response(token.encode() + bytes(range(256)) * (MIB // 256), media_type=ENVELOPE)

    return app


@contextmanager
def uvicorn_serving(app: FastAPI) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="provider")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the provider stopped while starting"
            assert time.monotonic() < deadline, "the provider did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}/deliver"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the provider did not stop"


async def test_a_uvicorn_provider_answers_a_mebibyte_envelope_and_a_problem(
    link: ProviderLink,
) -> None:
    with uvicorn_serving(provider_app()) as url:
        for token in ("jwt-1", "jwt-2"):
            result = await link.post(url, b'{"request": "%s"}' % token.encode())
            assert result.status == 200
            assert result.content_type == ENVELOPE
            assert result.body == token.encode() + bytes(range(256)) * (MIB // 256)
        refused = await link.post(url, b'{"request": "revoked"}')
        assert refused == ProviderAnswer(403, PROBLEM, b'{"title": "revoked"}')
        assert idle_count(link) == 1
        await link.aclose()
