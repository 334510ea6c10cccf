"""HTTP baseline: the hub's liveness endpoint over real loopback HTTP.

Measures what the request edge (request id, metrics, log line, problem handling) leaves of
uvicorn's throughput, as the floor every other endpoint builds on. The client runs in this
process with concurrent connections; on a 2-core machine client and server share the CPU, so
figures are conservative.

    python bench/baseline.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import emit, hub, load, log, summarise_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, hub(Path(tmp)) as base:
        log(f"hub at {base}; {args.requests} GET /healthz, {args.concurrency} connections")
        elapsed, latencies = load(
            base, "/healthz", total=args.requests, concurrency=args.concurrency
        )
    emit(
        "baseline",
        {
            "healthz_req_per_s": round(args.requests / elapsed, 1),
            **{f"healthz_{k}": v for k, v in summarise_ms(latencies).items()},
            "requests": args.requests,
            "concurrency": args.concurrency,
            "server_workers": 1,
        },
    )


if __name__ == "__main__":
    main()
