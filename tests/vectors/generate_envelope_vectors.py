"""Regenerate Bayflow's payload-envelope test vectors in ``tests/vectors/envelope/``.

    .venv/bin/python tests/vectors/generate_envelope_vectors.py          # rewrite the files
    .venv/bin/python tests/vectors/generate_envelope_vectors.py --check  # exit 1 if stale

Every key is derived from a fixed label (X25519 keys through RFC 9180 ``DeriveKeyPair``,
Ed25519 keys from a SHA-256 seed) and every HPKE ephemeral key too, and Ed25519 signatures are
deterministic (RFC 8032), so the output is the same on every run; a test checks that the
files match it. Each file is one case, named for what it shows or the attack it represents,
with everything needed to check it and the error the hub's relay check and the consumer's
open must raise (``null`` when they succeed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import warnings
from pathlib import Path
from typing import Any

from bayflow.crypto import ed25519, hpke
from bayflow.crypto.jose import PrivateJWK, sign_detached
from bayflow.errors import DevelopmentModeWarning
from bayflow.exchange.envelope import ENVELOPE_TYP, Envelope, seal_payload

OUT = Path(__file__).parent / "envelope"


def _id(prefix: str, label: str) -> str:
    # The shape of bayflow.ids.new_id, derived from a label instead of the CSPRNG.
    digest = hashlib.sha256(label.encode()).digest()[:16]
    return f"{prefix}_{base64.b32encode(digest).decode().rstrip('=').lower()}"


def _x25519(label: str) -> hpke.PrivateKey:
    return hpke.PrivateKey.derive(f"bayflow envelope vectors: {label}".encode())


def _ed25519(label: str) -> PrivateJWK:
    seed = hashlib.sha256(f"bayflow envelope vectors: {label}".encode()).digest()
    return PrivateJWK.from_signing_key(ed25519.SigningKey.from_seed(seed))


CONSUMER = _x25519("Lion Rock Bank consumer key")
OTHER_CONSUMER = _x25519("another consumer key")
PROVIDER = _ed25519("Pearl River e-Invoice provider key")
OTHER_PROVIDER = _ed25519("another provider key")
CONSENT_ID = _id("con", "Bayline consent to Lion Rock Bank")
REQUEST_ID = _id("req", "first fetch of e-invoices")
OTHER_REQUEST_ID = _id("req", "second fetch of e-invoices")
CONSUMER_KID = "lion-rock-bank-x25519-1"
INVOICES = json.dumps(
    {"seller": "91440400MA5H3Q8R0D", "period": "2026-Q3", "total_sales_cny": "1284500.00"},
    separators=(",", ":"),
).encode()


def _seal(
    plaintext: bytes,
    *,
    case: str,
    request_id: str = REQUEST_ID,
    content_type: str = "application/json",
    consumer: hpke.PrivateKey = CONSUMER,
    suite: hpke.Suite = hpke.DEFAULT_SUITE,
) -> Envelope:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DevelopmentModeWarning)
        return seal_payload(
            plaintext,
            content_type=content_type,
            consent_id=CONSENT_ID,
            request_id=request_id,
            consumer_public_x25519=consumer.public_key,
            consumer_kid=CONSUMER_KID,
            provider_key=PROVIDER,
            suite=suite,
            unsafe_ephemeral=_x25519(f"ephemeral for {case}"),
        )


def _resign(header: dict[str, Any], ciphertext: bytes, key: PrivateJWK = PROVIDER) -> bytes:
    """An envelope with ``header`` signed by ``key``, bypassing the constructor's checks."""
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return _frame(header_bytes, sign_detached(key, header_bytes, typ=ENVELOPE_TYP), ciphertext)


def _frame(header_bytes: bytes, signature: str, ciphertext: bytes, magic: bytes = b"BFEN") -> bytes:
    sig = signature.encode("ascii")
    return b"".join(
        (
            struct.pack(">4sBI", magic, 1, len(header_bytes)),
            header_bytes,
            struct.pack(">H", len(sig)),
            sig,
            ciphertext,
        )
    )


def _cases() -> dict[str, dict[str, Any]]:
    valid = _seal(INVOICES, case="valid")
    header = valid.header.to_json()
    other = _seal(INVOICES, case="other request", request_id=OTHER_REQUEST_ID)
    altered = bytearray(valid.ciphertext)
    altered[0] ^= 0x01
    # Any 32 bytes other than the real commitment will do; the ciphertext digest is handy.
    forged_commitment = dict(header, plaintext_commitment=header["ciphertext_sha256"])
    cases: dict[str, tuple[str, bytes, str | None, str | None, dict[str, Any]]] = {
        "valid_json_payload": (
            "A provider's JSON answer, sealed with the default suite.",
            valid.to_bytes(), None, None, {},
        ),
        "valid_empty_payload": (
            "An empty payload is sealed and signed like any other.",
            _seal(b"", case="empty").to_bytes(), None, None, {"plaintext": ""},
        ),
        "valid_csv_chacha20poly1305": (
            "A CSV answer with a media-type parameter, sealed with ChaCha20-Poly1305 (0x0003).",
            _seal(
                b"month,kwh\n2026-07,18250\n2026-08,19120\n", case="csv",
                content_type="text/csv; charset=utf-8",
                suite=hpke.Suite(hpke.AEADId.CHACHA20_POLY1305),
            ).to_bytes(), None, None,
            {"plaintext": b"month,kwh\n2026-07,18250\n2026-08,19120\n".hex(),
             "content_type": "text/csv; charset=utf-8"},
        ),
        "replayed_under_another_request": (
            "An authentic envelope for one request, presented as the answer to another.",
            other.to_bytes(), "EnvelopeMismatch", "EnvelopeMismatch", {},
        ),
        "ciphertext_altered": (
            "One bit of the ciphertext flipped in transit.",
            _frame(valid.header_bytes, valid.signature, bytes(altered)),
            "DecryptionFailed", "DecryptionFailed", {},
        ),
        "header_altered": (
            "The content type changed in the signed header; the header stays canonical.",
            _frame(
                valid.header_bytes.replace(b"application/json", b"application/text"),
                valid.signature, valid.ciphertext,
            ),
            "InvalidSignature", "InvalidSignature", {},
        ),
        "signed_by_another_provider": (
            "A well-formed envelope signed by a key other than the provider's.",
            _resign(dict(header, provider_kid=OTHER_PROVIDER.kid), valid.ciphertext,
                    OTHER_PROVIDER),
            "InvalidSignature", "InvalidSignature", {},
        ),
        "sealed_to_another_consumer": (
            "Sealed to another consumer's key; the hub, knowing the consumer's key, refuses it.",
            _seal(INVOICES, case="other consumer", consumer=OTHER_CONSUMER).to_bytes(),
            "WrongRecipient", "WrongRecipient", {},
        ),
        "ciphertext_moved_to_another_request": (
            (
                "A signed header for another request around this request's ciphertext: the "
                "HPKE info binds the request, so it does not open."
            ),
            _resign(
                dict(other.header.to_json(), enc=header["enc"],
                     ciphertext_sha256=header["ciphertext_sha256"]),
                valid.ciphertext,
            ),
            None, "DecryptionFailed",
            {"request_id": OTHER_REQUEST_ID},
        ),
        "commitment_does_not_match": (
            (
                "The provider signed a commitment that is not the plaintext's: only the "
                "consumer can tell."
            ),
            _resign(forged_commitment, valid.ciphertext),
            None, "InvalidSignature", {},
        ),
        "header_not_canonical": (
            "A correctly signed header with a space after a colon: one header, one encoding.",
            _frame(
                valid.header_bytes.replace(b'"v":1', b'"v": 1'),
                sign_detached(
                    PROVIDER, valid.header_bytes.replace(b'"v":1', b'"v": 1'), typ=ENVELOPE_TYP
                ),
                valid.ciphertext,
            ),
            "MalformedEnvelope", "MalformedEnvelope", {},
        ),
        "wrong_magic": (
            "Not a Bayflow envelope: the first four bytes are not BFEN.",
            _frame(valid.header_bytes, valid.signature, valid.ciphertext, magic=b"BFEX"),
            "MalformedEnvelope", "MalformedEnvelope", {},
        ),
    }  # fmt: skip
    out = {}
    for name, (description, data, relay_error, open_error, overrides) in cases.items():
        out[name] = {
            "description": description,
            "consent_id": CONSENT_ID,
            "request_id": overrides.get("request_id", REQUEST_ID),
            "consumer_private_x25519": CONSUMER.to_bytes().hex(),
            "consumer_public_x25519": CONSUMER.public_key.to_bytes().hex(),
            "provider_public_jwk": PROVIDER.public.to_dict(),
            "plaintext": overrides.get("plaintext", INVOICES.hex()),
            "content_type": overrides.get("content_type", "application/json"),
            "envelope": data.hex(),
            "relay_error": relay_error,
            "open_error": open_error,
        }
    return out


def build() -> dict[str, str]:
    """File name to file content, for every vector."""
    return {f"{name}.json": json.dumps(case, indent=2) + "\n" for name, case in _cases().items()}


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        on_disk = {p.name: p.read_text() for p in OUT.glob("*.json")}
        if on_disk != files:
            sys.stderr.write("envelope vectors are stale: run generate_envelope_vectors.py\n")
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        (OUT / name).write_text(content)
    sys.stderr.write(f"wrote {len(files)} vectors to {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
