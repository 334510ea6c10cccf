"""Exchange payload envelopes: seals and opens per second, 1 KiB and 1 MiB payloads, one core.

- ``seal_<size>_per_s``: what a provider does per answer: HPKE setup to the consumer's key
  (two X25519 operations), the plaintext commitment, one AES-128-GCM pass, the ciphertext
  digest, an Ed25519 signature, and the wire encoding.
- ``open_<size>_per_s``: what a consumer does: parse the wire form, verify the signature and
  the ciphertext digest, HPKE setup (one X25519 operation), decrypt, check the commitment.
- ``relay_check_<size>_per_s``: what the hub does before relaying: parse, verify the signature
  and the ciphertext digest; no private key, no decryption.
- ``envelope_overhead_<size>_bytes``: wire bytes beyond the payload (header, signature, tag).

A 1 MiB rate is also the throughput in MiB/s.

Each rate is the median of three runs of about ``--seconds``. The process is pinned to one CPU.

    python bench/envelope.py [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import warnings

from _common import emit, log, rate
from bayflow.crypto import hpke
from bayflow.crypto.jose import PrivateJWK
from bayflow.exchange.envelope import Envelope, open_payload, seal_payload

SIZES = {"1k": 1024, "1m": 1024 * 1024}
CONSENT = "con_2io3khcdaoc2q5npg7t4aygvxa"
REQUEST = "req_tlhhjj5bndceuqvyesft34sney"


def measure(seconds: float) -> dict[str, float]:
    consumer = hpke.PrivateKey.generate()
    provider = PrivateJWK.generate()
    figures: dict[str, float] = {}
    for name, size in SIZES.items():
        plaintext = os.urandom(size)

        def seal(plaintext: bytes = plaintext) -> bytes:
            return seal_payload(
                plaintext,
                content_type="application/json",
                consent_id=CONSENT,
                request_id=REQUEST,
                consumer_public_x25519=consumer.public_key,
                consumer_kid="bank-x25519-1",
                provider_key=provider,
            ).to_bytes()

        wire = seal()

        def open_(wire: bytes = wire) -> tuple[bytes, str]:
            return open_payload(
                Envelope.from_bytes(wire),
                consumer_private_x25519=consumer,
                provider_public=provider.public,
                consent_id=CONSENT,
                request_id=REQUEST,
            )

        def relay(wire: bytes = wire) -> None:
            Envelope.from_bytes(wire).check_relay(
                CONSENT, REQUEST, provider.public, consumer_public=consumer.public_key
            )

        for verb, operation in (("seal", seal), ("open", open_), ("relay_check", relay)):
            log(f"{verb} {name} ...")
            figures[f"{verb}_{name}_per_s"] = rate(operation, seconds)
        figures[f"envelope_overhead_{name}_bytes"] = len(wire) - size
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each run")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    warnings.simplefilter("error")
    figures = measure(args.seconds)
    emit("envelope", {**figures, "seconds_per_run": args.seconds, "cores": 1})


if __name__ == "__main__":
    main()
