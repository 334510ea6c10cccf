"""Compact JWTs signed with Ed25519 (RFC 7519, RFC 7515 compact serialisation).

Access tokens are checked on every API call, so this path is written directly against
:mod:`bayflow.crypto.ed25519` rather than through a general JOSE library: one base64 decode,
one JSON parse per part and one libsodium verification. The algorithm is named ``Ed25519``
as RFC 9864 (fully specified algorithms) asks; ``EdDSA`` (RFC 8037) is accepted from clients
on input because most JOSE libraries still emit it, and means the same thing for an Ed25519 key.

Parsing is strict: three base64url parts without padding, JSON objects, a string ``alg`` we
know, no ``crit`` header we do not understand, and a 64-byte signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bayflow.crypto.ed25519 import SIGNATURE_SIZE, SigningKey, verify
from bayflow.crypto.errors import CryptoError, InvalidSignature

# One strict base64url for all of Bayflow's JOSE; re-exported for this module's callers.
from bayflow.crypto.jose import b64url_decode, b64url_encode

__all__ = [
    "ACCEPTED_ALGORITHMS",
    "MalformedJWT",
    "ParsedJWT",
    "b64url_decode",
    "b64url_encode",
    "ed25519_public_jwk",
    "ed25519_public_key_from_jwk",
    "ed25519_thumbprint",
    "encode",
    "parse",
    "verify_jwt",
]

ACCEPTED_ALGORITHMS = frozenset({"Ed25519", "EdDSA"})

# Generous for any token we issue or accept; stops a hostile client making us decode megabytes.
_MAX_TOKEN_LENGTH = 16 * 1024


class MalformedJWT(CryptoError):
    slug = "malformed-jwt"
    title = "Malformed JWT"


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedJWT(f"JWT {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedJWT(f"JWT {what} is not a JSON object")
    return value


def encode(
    claims: Mapping[str, Any],
    key: SigningKey,
    *,
    kid: str | None = None,
    typ: str = "JWT",
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    header: dict[str, Any] = {"alg": "Ed25519", "typ": typ}
    if kid is not None:
        header["kid"] = kid
    if extra_headers:
        header.update(extra_headers)
    head = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    body = b64url_encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64url_encode(key.sign(signing_input))}"


@dataclass(frozen=True, slots=True)
class ParsedJWT:
    """A JWT split and decoded, signature not yet checked."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


def parse(token: str) -> ParsedJWT:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
        raise MalformedJWT("JWT is not a string of acceptable length")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedJWT("JWT must have three dot-separated parts")
    head, body, sig = parts
    header = _json_object(b64url_decode(head), "header")
    claims = _json_object(b64url_decode(body), "claims")
    if header.get("alg") not in ACCEPTED_ALGORITHMS:
        raise MalformedJWT(f"JWT algorithm {header.get('alg')!r} is not accepted (use Ed25519)")
    if "crit" in header:
        raise MalformedJWT("JWT has critical header parameters this verifier does not support")
    signature = b64url_decode(sig)
    if len(signature) != SIGNATURE_SIZE:
        raise MalformedJWT("JWT signature is not 64 bytes")
    return ParsedJWT(header, claims, f"{head}.{body}".encode("ascii"), signature)


def verify_jwt(token: str, resolve_key: Callable[[ParsedJWT], bytes]) -> ParsedJWT:
    """Parse ``token`` and check its signature with the public key ``resolve_key`` returns.

    ``resolve_key`` sees the parsed (unverified) token so it can pick a key by ``kid`` or
    ``iss``; it raises if it knows no such key. Claims are not checked here: expiry, audience
    and the rest are the caller's policy.
    """
    parsed = parse(token)
    public_key = resolve_key(parsed)
    try:
        verify(public_key, parsed.signature, parsed.signing_input)
    except InvalidSignature as exc:
        raise InvalidSignature("JWT signature does not verify") from exc
    return parsed


def ed25519_public_jwk(public_key: bytes) -> dict[str, str]:
    """The RFC 8037 OKP JWK of an Ed25519 public key."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}


def ed25519_thumbprint(public_key: bytes) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url): Bayflow's ``kid`` for a key.

    The members are the required ones for OKP in lexicographic order with no whitespace,
    as RFC 7638 §3.2 and RFC 8037 §2 prescribe.
    """
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + b64url_encode(public_key) + '"}'
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def ed25519_public_key_from_jwk(jwk: Mapping[str, Any]) -> bytes:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
        raise MalformedJWT("expected a public Ed25519 OKP JWK")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise MalformedJWT("JWK has no x member")
    public_key = b64url_decode(x)
    if len(public_key) != 32:
        raise MalformedJWT("Ed25519 public key is not 32 bytes")
    return public_key
