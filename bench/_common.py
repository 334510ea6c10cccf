"""Shared helpers for benchmarks: machine facts, servers on loopback, latency summaries.

Each benchmark prints exactly one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def emit(name: str, figures: dict[str, Any]) -> None:
    print(json.dumps({"benchmark": name, **figures, "machine": machine()}, sort_keys=False))


def percentile(samples: Sequence[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan"),
    }


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Median operations per second over three runs of about ``seconds`` each."""
    batch = 1
    while True:  # Calibrate a batch that takes at least a tenth of the budget.
        start = time.perf_counter()
        for _ in range(batch):
            operation()
        if time.perf_counter() - start >= seconds / 10:
            break
        batch *= 2
    rates = []
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(batch):
                operation()
            count += batch
        rates.append(count / elapsed)
    return round(statistics.median(rates), 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    """Return once ``url`` answers; raise if ``process`` exits or 30 s pass first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)
        else:
            return


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL server at ``server_url``, dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text  # noqa: PLC0415 - only for this option.

    name = f"bayflow_bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def hub(
    data_dir: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """A migrated hub in its own process on a free loopback port; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYFLOW_")}
    env["BAYFLOW_DATA_DIR"] = str(data_dir)
    env["BAYFLOW_LOG_LEVEL"] = os.environ.get("BAYFLOW_LOG_LEVEL", "info")
    env.update(extra_env or {})
    cli = [sys.executable, "-m", "bayflow", "--log-format", "json"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    port = free_port()
    # The hub's log goes beside its data, for when a run goes wrong.
    log_file = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log_file.close()


async def _one_connection(
    host: str,
    port: int,
    request: bytes,
    count: list[int],
    latencies: list[float],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while count[0] > 0:
            count[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status >= 400:
                msg = f"HTTP {status}"
                raise RuntimeError(msg)
    finally:
        writer.close()


def load(
    base: str,
    path: str,
    *,
    total: int,
    concurrency: int,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[float, list[float]]:
    """Drive ``total`` keep-alive HTTP/1.1 requests over ``concurrency`` connections.

    A hand-rolled client: a general-purpose Python HTTP client costs more CPU per request than
    the server under test, and on two cores that would measure the client.
    Returns (elapsed seconds, per-request latencies).
    """
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    latencies: list[float] = []

    async def run() -> float:
        warm = [min(50, total)]
        await _one_connection(host, port, request, warm, [])
        count = [total]
        start = time.perf_counter()
        await asyncio.gather(
            *(_one_connection(host, port, request, count, latencies) for _ in range(concurrency))
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    return elapsed, latencies
