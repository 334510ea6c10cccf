"""Verification ledger: anchoring throughput, time to a signed proof, proof fetches, verification.

One hub in its own process on an embedded SQLite database (or ``BAYFLOW_DATABASE_URL``), all
traffic over real loopback HTTP with the operator's access token:

- ``anchor_entries_per_s``: batches of 1,000 fresh commitments through ``POST
  /ledger/v1/anchors?wait=false`` over several connections; each answer means the batch is
  committed (durable), with its indexes;
- ``submit_to_proof_p50_ms`` / ``_p99_ms``: single commitments, one after another, each waiting
  (the default) until a signed checkpoint covers it and its tlog-proof comes back;
- ``proof_fetch_p50_ms``: ``GET /ledger/v1/status/{commitment}`` of random entries in a tree of
  ``--entries`` leaves, which the script fills through the same batch API (the bulk path is the
  HTTP API itself, in 1,000-entry batches over several connections);
- ``verify_per_s``: offline ``verify_proof`` (log signature and inclusion proof) on one core.

    python bench/ledger.py [--entries N] [--anchor-entries N] [--singles N] [--fetches N]

The default tree is 1,000,000 entries, which takes about a minute to fill on the 2-core
development machine; ``--entries 100000`` is a quicker run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from _common import emit, hub, log, percentile
from bayflow.client import BayflowClient
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import Ed25519Verifier
from bayflow.ledger.proof import ProofBundle, verify_proof

BATCH = 1000


def _batch_bodies(count: int) -> list[tuple[bytes, list[str]]]:
    bodies = []
    for _ in range(count):
        digests = [os.urandom(32).hex() for _ in range(BATCH)]
        items = [{"digest": d, "schema": "bench/1", "kind": "document"} for d in digests]
        bodies.append((json.dumps(items).encode(), digests))
    return bodies


async def _post_all(
    base: str, path: str, token: str, bodies: Sequence[bytes], concurrency: int
) -> list[float]:
    """POST each body once over ``concurrency`` keep-alive connections; per-request seconds."""
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    queue = list(reversed(bodies))
    latencies: list[float] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue:
                body = queue.pop()
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                started = time.perf_counter()
                writer.write(head + body)
                response = await reader.readuntil(b"\r\n\r\n")
                status = int(response[9:12])
                length = 0
                for line in response.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    msg = f"HTTP {status}: {answer[:300]!r}"
                    raise RuntimeError(msg)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def _fill(base: str, token: str, batches: int, concurrency: int) -> tuple[float, list[str]]:
    """Anchor ``batches`` fresh batches; the elapsed seconds and every digest sent."""
    bodies = _batch_bodies(batches)
    started = time.perf_counter()
    asyncio.run(
        _post_all(base, "/ledger/v1/anchors?wait=false", token, [b for b, _ in bodies], concurrency)
    )
    elapsed = time.perf_counter() - started
    return elapsed, [digest for _, digests in bodies for digest in digests]


def _wait_integrated(client: BayflowClient, size: int) -> None:
    while True:
        text = client.request("GET", "/ledger/checkpoint", auth=False).text
        if int(text.split("\n")[1]) >= size:
            return
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="tree size for fetches")
    parser.add_argument("--anchor-entries", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--singles", type=int, default=60)
    parser.add_argument("--fetches", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        with hub(data, extra_env={"BAYFLOW_LOG_LEVEL": "warning"}) as base:
            client = BayflowClient.from_key_file(data / "operator.key", url=base)
            token = client.access_token()
            log_key = Ed25519Verifier.from_vkey(
                client.request("GET", "/ledger/key", auth=False).text.strip()
            )

            # Anchoring throughput, durable answers.
            batches = max(1, args.anchor_entries // BATCH)
            log(f"anchoring {batches * BATCH} commitments in batches of {BATCH}")
            elapsed, digests = _fill(base, token, batches, args.concurrency)
            anchor_rate = batches * BATCH / elapsed

            # Submit to proof, single entries.
            log(f"{args.singles} single commitments, each waiting for its proof")
            singles = []
            for _ in range(args.singles):
                started = time.perf_counter()
                answer = client.post(
                    "/ledger/v1/anchors", [{"digest": os.urandom(32).hex(), "schema": "bench/1"}]
                )
                singles.append(time.perf_counter() - started)
                assert answer["anchors"][0]["proof"]

            # Fill the tree to --entries through the same batch API, then fetch proofs.
            missing = -(-max(0, args.entries - len(digests) - args.singles) // BATCH)
            if missing:
                log(f"filling the tree with {missing * BATCH} more commitments")
                fill_elapsed, more = _fill(base, token, missing, args.concurrency)
                digests += more
                log(f"filled at {missing * BATCH / fill_elapsed:,.0f} entries/s")
            size = len(digests) + args.singles
            _wait_integrated(client, size)
            log(f"fetching {args.fetches} proofs from a tree of {size} entries")
            fetches = []
            bundles: list[tuple[ProofBundle, bytes]] = []
            for digest in random.sample(digests, args.fetches):
                started = time.perf_counter()
                status = client.get(f"/ledger/v1/status/{digest}", auth=False)
                fetches.append(time.perf_counter() - started)
                entry = status["entries"][0]
                bundles.append(
                    (
                        ProofBundle.from_text(entry["proof"]),
                        hash_leaf(base64.b64decode(entry["entry"])),
                    )
                )
            client.close()

    # Offline verification on one core (this process), no network.
    log("verifying proofs offline")
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < 3:
        for bundle, leaf in bundles:
            verify_proof(bundle, leaf, log_key, (), 0)
        count += len(bundles)
    verify_rate = count / (time.perf_counter() - started)

    emit(
        "ledger",
        {
            "anchor_entries_per_s": round(anchor_rate),
            "submit_to_proof_p50_ms": round(percentile(singles, 50) * 1000, 1),
            "submit_to_proof_p99_ms": round(percentile(singles, 99) * 1000, 1),
            "proof_fetch_p50_ms": round(percentile(fetches, 50) * 1000, 2),
            "verify_per_s": round(verify_rate),
            "entries": size,
            "anchored_in_batches": batches * BATCH,
            "batch": BATCH,
            "concurrency": args.concurrency,
            "singles": args.singles,
            "fetches": args.fetches,
            "database": "postgresql" if os.environ.get("BAYFLOW_DATABASE_URL") else "sqlite",
            "server_workers": 1,
        },
    )


if __name__ == "__main__":
    main()
