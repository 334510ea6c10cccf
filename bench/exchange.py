"""Consented requests end to end on loopback, against a bare FastAPI endpoint.

    python bench/exchange.py [--requests N] [--rounds R] [--concurrency C] [--big-requests M]
                             [--workers W] [--postgres SERVER_URL]

A hub and a reference provider run in their own server processes, with a temporary SQLite
database. Each consented request goes consumer client -> hub (token check, consent checks,
journal) -> provider (routed-request check, read, HPKE seal, Ed25519 signature) -> hub
(envelope check, receipt anchored in the ledger) -> consumer client (decrypt, commitment check),
exactly as in production. The same client machinery fetches 1 KiB from a bare FastAPI
endpoint, so ``ratio_1k`` compares like with like: each round runs N consented fetches, then N
bare ones, and the figures are the medians of the rounds (the ratio of each round's pair). The
clients are Python threads sharing the machine's two cores with both servers.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from _common import emit, free_port, fresh_postgres, hub, log, summarise_ms, wait_until_up
from bayflow.client import BayflowClient
from bayflow.consent.lifecycle import ConsentAction
from bayflow.consent.models import ConsentTerms, FetchType, Frequency, FrequencyUnit, ProductScope
from bayflow.crypto.jwt import b64url_encode
from bayflow.identity.keyfile import EncryptionKey, KeyFile, KeyPair
from bayflow.identity.models import Jurisdiction
from bayflow.ids import new_id

HERE = Path(__file__).parent


def _register(
    operator: BayflowClient, name: str, jurisdiction: str, city: str, ids: dict[str, str]
) -> KeyFile:
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    result = operator.post(
        "/orgs",
        {
            "legal_name_en": name,
            "jurisdiction": jurisdiction,
            "city": city,
            "identifiers": ids,
            "administrator": {
                "name": "admin",
                "roles": ["director"],
                "public_key": b64url_encode(admin.public_key),
            },
            "organisation_public_key": b64url_encode(org_key.public_key),
        },
    )
    return KeyFile(
        operator.url,
        result["organisation"]["id"],
        result["administrator"]["id"],
        admin,
        org_key,
        EncryptionKey.generate(),
    )


def _start(args: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    wait_until_up(health, process)
    return process


def _drive(
    total: int, concurrency: int, make: Callable[[], Callable[[], None]]
) -> tuple[float, list[float]]:
    """Run ``total`` calls over ``concurrency`` threads, each with its own client."""
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [total]

    def worker() -> None:
        call = make()
        call()  # warm-up: token, connection
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            t0 = time.perf_counter()
            call()
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)

    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            worker()
        except BaseException as exc:  # noqa: BLE001 - reported after the run.
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start, latencies


def main() -> None:  # noqa: PLR0915 - one benchmark, set up in order.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--big-requests", type=int, default=60)
    # Four threads: beyond that the load generator, one Python process, contends for its own
    # GIL and becomes the limit of both runs (bench/README.md has the sweep from 2 to 8).
    parser.add_argument("--concurrency", type=int, default=4)
    # Five pairs: on this class of machine the speed drifts over seconds, and single rounds'
    # ratios spread by ±10 % around their median.
    parser.add_argument("--rounds", type=int, default=5, help="consented/bare pairs of runs")
    parser.add_argument("--workers", type=int, default=1, help="hub worker processes")
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="run the hub on a fresh database on this PostgreSQL server instead of SQLite "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)",
    )
    args = parser.parse_args()
    # Every fetch, warm-ups included, counts against the consent's limit (10,000 an hour).
    fetches = args.rounds * (args.requests + args.concurrency) + args.big_requests + 4
    if fetches > 10_000:
        parser.error(f"{fetches} fetches do not fit under one consent's limit of 10,000 an hour")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYFLOW_")}
    env["BAYFLOW_LOG_LEVEL"] = "warning"
    processes: list[subprocess.Popen[bytes]] = []
    hub_env = {"BAYFLOW_LOG_LEVEL": "info"}
    rounds_1k: list[float] = []
    rounds_bare: list[float] = []
    lat_1k: list[float] = []
    lat_bare: list[float] = []
    with contextlib.ExitStack() as stack:
        if args.postgres:
            hub_env["BAYFLOW_DATABASE_URL"] = stack.enter_context(fresh_postgres(args.postgres))
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        base = stack.enter_context(hub(Path(tmp) / "hub", workers=args.workers, extra_env=hub_env))
        home = Path(tmp)
        try:
            operator = BayflowClient(base, KeyFile.read(home / "hub" / "operator.key"))
            owner = _register(
                operator,
                "Qianhai Bayline Logistics Co., Ltd.",
                "CN",
                "Shenzhen",
                {"cn_uscc": "91440300MA5G7K2P0C"},
            )
            bank = _register(
                operator, "Lion Rock Bank Limited", "HK", "Hong Kong", {"hk_brn": "12345678"}
            )
            provider = _register(
                operator,
                "Victoria Harbour Utilities Limited",
                "HK",
                "Hong Kong",
                {"hk_brn": "87654321"},
            )
            provider_key = home / "provider.key"
            provider.write(provider_key)
            data = home / "data"
            for product, size in (("bills-1k", 1024), ("bills-1m", 1024 * 1024)):
                (data / product).mkdir(parents=True)
                record = {"period": "2026-09", "filler": "x" * (size - 120)}
                (data / product / "91440300MA5G7K2P0C.json").write_text(
                    json.dumps([record]), encoding="utf-8"
                )
            port = free_port()
            processes.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "bayflow",
                        "provider",
                        "serve",
                        "--data",
                        str(data),
                        "--key",
                        str(provider_key),
                        "--hub",
                        base,
                        "--port",
                        str(port),
                    ],
                    env,
                    f"http://127.0.0.1:{port}/healthz",
                )
            )
            with BayflowClient(base, provider) as p:
                for product in ("bills-1k", "bills-1m"):
                    p.post(
                        "/exchange/v1/products",
                        {
                            "id": product,
                            "title_en": product,
                            "title_zh": product,
                            "json_schema": {"type": "object"},
                            "personal_information": False,
                            "held_in": "HK",
                            "held_in_city": "Hong Kong",
                            "endpoint": f"http://127.0.0.1:{port}/deliver",
                        },
                    )
            with BayflowClient(base, owner) as o:
                o.post(
                    f"/orgs/{owner.organisation}/mandates",
                    {"description": "any director", "role": "director", "min_signers": 1},
                )
            now = datetime.now(UTC).replace(microsecond=0)
            products = tuple(
                ProductScope(provider.organisation, p) for p in ("bills-1k", "bills-1m")
            )
            terms = ConsentTerms(
                id=new_id("con"),
                version=1,
                data_owner=owner.organisation,
                consumer=bank.organisation,
                products=products,
                purpose_code="benchmark",
                purpose_text="throughput measurement",
                data_from=date(2020, 1, 1),
                data_to=date(2030, 1, 1),
                fetch_type=FetchType.PERIODIC,
                frequency=Frequency(FrequencyUnit.HOUR, 10_000),
                data_life=timedelta(days=1),
                expires_at=now + timedelta(days=1),
                origin=Jurisdiction.HK,
                destination=Jurisdiction.HK,
                created_at=now,
            )
            with BayflowClient(base, bank) as b:
                b.request_consent(terms)
            with BayflowClient(base, owner) as o:
                o.act_on_consent(terms.id, ConsentAction.APPROVE)

            def consented(product: str) -> Callable[[], Callable[[], None]]:
                def make() -> Callable[[], None]:
                    client = BayflowClient(base, bank)
                    return lambda: (
                        client.fetch_data(terms.id, provider.organisation, product) and None
                    )

                return make

            bare_port = free_port()
            processes.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "_bare:app",
                        "--app-dir",
                        str(HERE),
                        "--port",
                        str(bare_port),
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    env,
                    f"http://127.0.0.1:{bare_port}/bare",
                )
            )

            def bare() -> Callable[[], None]:
                client = httpx.Client(base_url=f"http://127.0.0.1:{bare_port}")
                return lambda: client.get("/bare").raise_for_status() and None

            # The load generator's own full garbage collections (40 ms each, measured) would
            # show in both sides' latencies: what exists after setup is left out of them.
            gc.collect()
            gc.freeze()
            # Rounds alternate the consented and the bare runs, so that a slow spell of the
            # machine weighs on both sides of a round's ratio alike.
            for round_number in range(1, args.rounds + 1):
                log(
                    f"round {round_number}/{args.rounds}: {args.requests} consented 1 KiB "
                    f"fetches, then {args.requests} bare 1 KiB GETs, {args.concurrency} threads"
                )
                elapsed, latencies = _drive(args.requests, args.concurrency, consented("bills-1k"))
                rounds_1k.append(args.requests / elapsed)
                lat_1k.extend(latencies)
                elapsed, latencies = _drive(args.requests, args.concurrency, bare)
                rounds_bare.append(args.requests / elapsed)
                lat_bare.extend(latencies)
            log(f"{args.big_requests} consented 1 MiB fetches")
            elapsed_1m, lat_1m = _drive(
                args.big_requests, min(args.concurrency, 4), consented("bills-1m")
            )
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)

    ratios = [c / b for c, b in zip(rounds_1k, rounds_bare, strict=True)]
    s1k, s1m, sbare = summarise_ms(lat_1k), summarise_ms(lat_1m), summarise_ms(lat_bare)
    figures: dict[str, Any] = {
        "consented_1k_req_per_s": round(statistics.median(rounds_1k), 1),
        "p50_ms_1k": s1k["p50_ms"],
        "p99_ms_1k": s1k["p99_ms"],
        "consented_1m_req_per_s": round(args.big_requests / elapsed_1m, 2),
        "p50_ms_1m": s1m["p50_ms"],
        "p99_ms_1m": s1m["p99_ms"],
        "bare_1k_req_per_s": round(statistics.median(rounds_bare), 1),
        "bare_p50_ms": sbare["p50_ms"],
        "bare_p99_ms": sbare["p99_ms"],
        "ratio_1k": round(statistics.median(ratios), 3),
        "rounds_consented_1k_req_per_s": [round(r, 1) for r in rounds_1k],
        "rounds_bare_1k_req_per_s": [round(r, 1) for r in rounds_bare],
        "rounds_ratio_1k": [round(r, 3) for r in ratios],
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "big_requests": args.big_requests,
        "concurrency": args.concurrency,
        "hub_workers": args.workers,
        "database": "postgresql" if args.postgres else "sqlite",
    }
    emit("exchange", figures)


if __name__ == "__main__":
    main()
