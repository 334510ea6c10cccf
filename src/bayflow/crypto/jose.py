"""JOSE for Bayflow: JWKs, compact and detached JWS, and JWTs, parsed strictly.

What this module accepts and produces:

- **Keys** (RFC 7517, RFC 8037): Ed25519 as ``{"kty": "OKP", "crv": "Ed25519"}`` and, optionally,
  P-256 as ``{"kty": "EC", "crv": "P-256"}``. A key's ``kid`` defaults to its RFC 7638
  thumbprint, computed by joserfc.
- **Algorithms**: ``Ed25519``, the fully-specified name of RFC 9864 §2.2, is what Bayflow signs
  with. ``EdDSA`` (RFC 8037 §3.1, deprecated by RFC 9864 §4) is accepted when *verifying*, and
  only with an Ed25519 key: the key, not the header, pins the curve, so both names denote the
  same computation and accepting the old one opens no algorithm confusion, while wallets that
  predate RFC 9864 keep working. Pass ``algorithms={"Ed25519"}`` to refuse it. ``ES256``
  (RFC 7518 §3.4) is supported for P-256 keys. ``none`` and MACs are never accepted.
- **Compact JWS** (RFC 7515 §7.1) and **detached content** (RFC 7515 Appendix F): the payload
  segment is empty and the verifier supplies the bytes. RFC 7797 (``b64: false``) is not
  supported: it saves only the base64url pass over the content, and a plain detached JWS is one
  any JWS library verifies once given the content.

Ed25519 signs and verifies through :mod:`bayflow.crypto.ed25519` (libsodium), about twice as fast
at verification as the ``cryptography`` path joserfc would take; joserfc supplies key import,
thumbprints and ECDSA. Every malformed input raises :class:`~bayflow.crypto.errors.MalformedJOSE`
(or its subclass :class:`~bayflow.crypto.errors.UnsupportedAlgorithm`); a signature that does
not hold raises :class:`~bayflow.crypto.errors.InvalidSignature`. Nothing returns ``False``.
Parsing is strict: canonical unpadded base64url only, JSON objects without duplicate names or
non-finite numbers. Headers with ``crit`` or ``b64`` (extensions Bayflow does not implement)
or ``jwk``, ``jku``, ``x5u``, ``x5c`` (a token naming its own key) are refused outright: keys
come only from the caller's trust store, and a refused header cannot be half-honoured.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, Protocol

from joserfc.errors import JoseError
from joserfc.jwa import ESAlgorithm
from joserfc.jwk import ECKey, thumbprint

from bayflow.crypto import ed25519
from bayflow.crypto.errors import (
    InvalidSignature,
    MalformedJOSE,
    UnknownKey,
    UnsupportedAlgorithm,
)

__all__ = [
    "DEFAULT_ALGORITHMS",
    "ED25519",
    "EDDSA",
    "ES256",
    "CompactJWS",
    "JWKSet",
    "KeyResolver",
    "PrivateJWK",
    "PublicJWK",
    "TrustedIssuers",
    "b64url_decode",
    "b64url_encode",
    "dumps_json",
    "loads_json",
    "loads_json_object",
    "sign_compact",
    "sign_detached",
    "sign_jwt",
    "verify_compact",
    "verify_detached",
    "verify_jwt",
]

ED25519: Final = "Ed25519"
EDDSA: Final = "EdDSA"
ES256: Final = "ES256"
DEFAULT_ALGORITHMS: Final = frozenset({ED25519, EDDSA, ES256})
"""What verification accepts unless told otherwise; each key narrows it to its own family."""

SigningAlgorithm = Literal["Ed25519", "ES256"]

# Bounds on untrusted input, well above anything Bayflow issues: a status list of a million
# entries is a few kilobytes compressed, and an SD-JWT with every registry fact is under 4 KiB.
_MAX_HEADER_SEGMENT: Final = 8 * 1024
_MAX_PAYLOAD_SEGMENT: Final = 4 * 1024 * 1024
_MAX_SIGNATURE_SEGMENT: Final = 1024

_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*")
_CANONICAL_LAST: Final = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
# Header parameters that would change how the signature must be checked or where the key comes
# from. Bayflow understands none of these extensions, and it never lets a token name its own key.
_REFUSED_HEADERS: Final = frozenset({"crit", "b64", "jku", "x5u", "jwk", "x5c"})

_P256: Final = ESAlgorithm("ES256", "P-256", 256)
_P256_COORDINATE_SIZE: Final = 32


# Encodings.


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2, RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url, refusing padding, other alphabets and stray bits.

    A non-canonical encoding (the last character carrying non-zero unused bits) is refused so
    that one value has exactly one textual form: digests over disclosures depend on it.
    """
    remainder = len(text) % 4
    if remainder == 1 or not _B64URL_RE.fullmatch(text):
        raise MalformedJOSE(f"{what} is not unpadded base64url")
    # With 2 or 3 characters left over, the last one carries 4 or 2 unused bits that must be 0.
    if remainder and text[-1] not in _CANONICAL_LAST[remainder]:
        raise MalformedJOSE(f"{what} is not canonical base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern rules it out
        raise MalformedJOSE(f"{what} is not unpadded base64url") from exc


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2 and RFC 7519 §7.2 tell parsers to reject duplicate member names (or use the
    # last one); rejecting keeps two parsers from reading different claims out of one token.
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise ValueError(f"duplicate member {name!r}")
        obj[name] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every parse: building a JSONDecoder per call costs as much as a small parse.
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_object, parse_constant=_refuse_constant
)


def loads_json(data: bytes | str, *, what: str = "JSON") -> Any:
    """Parse strict I-JSON-like JSON: UTF-8, unique member names, finite numbers only."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedJOSE(f"{what} is not valid JSON: {exc}") from exc


def loads_json_object(data: bytes | str, *, what: str = "JSON") -> dict[str, Any]:
    value = loads_json(data, what=what)
    if not isinstance(value, dict):
        raise MalformedJOSE(f"{what} is not a JSON object")
    return value


def dumps_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as signed into headers and payloads."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# Keys.


def _member(jwk: Mapping[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise MalformedJOSE(f"JWK member {name!r} is missing or not a string")
    return value


def _coordinate(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    value = b64url_decode(_member(jwk, name), what=f"JWK member {name!r}")
    if len(value) != size:
        raise MalformedJOSE(f"JWK member {name!r} is {len(value)} bytes, expected {size}")
    return value


class PublicJWK:
    """A public verification key, Ed25519 or P-256, with the algorithms it may verify.

    ``kid`` is the key id the key was published under, or its RFC 7638 thumbprint when it
    carried none; ``thumbprint`` is always the thumbprint, for comparing keys by value.
    """

    __slots__ = ("_ec", "_ed", "_public", "algorithms", "kid", "thumbprint")

    def __init__(self, public: dict[str, str], *, kid: str | None = None) -> None:
        # `public` holds exactly the RFC 7638 required members, already validated by a
        # constructor below; that is why this initialiser is not meant to be called directly.
        self._public = public
        self.thumbprint: str = thumbprint(public)
        self.kid: str = kid if kid is not None else self.thumbprint
        self._ec: ECKey | None = None
        self._ed: bytes | None = None
        if public["kty"] == "OKP":
            self.algorithms: frozenset[str] = frozenset({ED25519, EDDSA})
            self._ed = b64url_decode(public["x"])
        else:
            self.algorithms = frozenset({ES256})
            try:
                # joserfc builds the key through `cryptography`, which refuses points that are
                # not on the curve.
                self._ec = ECKey.import_key(dict(public))
            except (JoseError, ValueError, TypeError) as exc:
                raise MalformedJOSE(f"JWK is not a valid P-256 public key: {exc}") from exc

    @classmethod
    def from_ed25519(cls, public_key: bytes, *, kid: str | None = None) -> PublicJWK:
        if len(public_key) != ed25519.PUBLIC_KEY_SIZE:
            raise MalformedJOSE("an Ed25519 public key is 32 bytes")
        if cls is PublicJWK:
            return _ed25519_jwk(bytes(public_key), kid)
        return cls({"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(public_key)}, kid=kid)

    @classmethod
    def from_dict(cls, jwk: Any) -> PublicJWK:
        """Import a public JWK (RFC 7517 §4), strictly.

        Refused: anything but Ed25519 (OKP) or P-256 (EC) keys, a private member ``d``, a
        ``use`` other than ``sig``, ``key_ops`` without ``verify``, and an ``alg`` the key
        cannot verify. Other members are ignored, as RFC 7517 §4 requires.
        """
        if not isinstance(jwk, Mapping):
            raise MalformedJOSE("a JWK is a JSON object")
        if "d" in jwk:
            raise MalformedJOSE("a public JWK must not carry the private key member 'd'")
        kty = _member(jwk, "kty")
        if kty == "OKP":
            crv = _member(jwk, "crv")
            if crv != "Ed25519":
                raise UnsupportedAlgorithm(f"OKP curve {crv!r} is not supported")
            x = _coordinate(jwk, "x", ed25519.PUBLIC_KEY_SIZE)
            public = {"crv": crv, "kty": kty, "x": b64url_encode(x)}
        elif kty == "EC":
            crv = _member(jwk, "crv")
            if crv != "P-256":
                raise UnsupportedAlgorithm(f"EC curve {crv!r} is not supported")
            x = _coordinate(jwk, "x", _P256_COORDINATE_SIZE)
            y = _coordinate(jwk, "y", _P256_COORDINATE_SIZE)
            public = {"crv": crv, "kty": kty, "x": b64url_encode(x), "y": b64url_encode(y)}
        else:
            raise UnsupportedAlgorithm(f"key type {kty!r} is not supported")
        kid = jwk.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise MalformedJOSE("JWK member 'kid' is not a non-empty string")
        key = cls(public, kid=kid)
        key._check_usage(jwk)
        return key

    def _check_usage(self, jwk: Mapping[str, Any]) -> None:
        use = jwk.get("use")
        if use is not None and use != "sig":
            raise MalformedJOSE(f"JWK 'use' is {use!r}, not 'sig'")
        ops = jwk.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            raise MalformedJOSE("JWK 'key_ops' does not allow 'verify'")
        alg = jwk.get("alg")
        if alg is not None and alg not in self.algorithms:
            raise UnsupportedAlgorithm(f"JWK 'alg' {alg!r} does not fit a {self.curve} key")

    @property
    def curve(self) -> str:
        return self._public["crv"]

    @property
    def raw_ed25519(self) -> bytes:
        """The 32-byte RFC 8032 public key; only for Ed25519 keys."""
        if self._ed is None:
            raise UnsupportedAlgorithm("not an Ed25519 key")
        return self._ed

    def to_dict(self, *, include_kid: bool = True) -> dict[str, str]:
        """The public JWK; without ``kid`` it is exactly the RFC 7638 thumbprint input."""
        out = dict(self._public)
        if include_kid:
            out["kid"] = self.kid
        return out

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> None:
        """Check a JWS signature made with ``alg``; raise if ``alg`` does not fit this key."""
        if alg not in self.algorithms:
            raise UnsupportedAlgorithm(f"algorithm {alg!r} does not fit a {self.curve} key")
        if self._ed is not None:
            ed25519.verify(self._ed, signature, signing_input)
            return
        assert self._ec is not None
        if not _P256.verify(signing_input, signature, self._ec):
            raise InvalidSignature("ES256 signature does not verify")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicJWK):
            return NotImplemented
        return self.thumbprint == other.thumbprint and self.kid == other.kid

    def __hash__(self) -> int:
        return hash((self.thumbprint, self.kid))

    def __repr__(self) -> str:
        return f"PublicJWK(crv={self.curve!r}, kid={self.kid!r})"


@lru_cache(maxsize=4096)
def _ed25519_jwk(public_key: bytes, kid: str | None) -> PublicJWK:
    # The hub checks a provider's signature on every delivery with a key it reads from Corp ID
    # as bytes; the JWK and its RFC 7638 thumbprint are the same every time. PublicJWK is never
    # changed after construction, so one instance serves every caller.
    return PublicJWK({"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(public_key)}, kid=kid)


class PrivateJWK:
    """A signing key and its public JWK. ``alg`` is the one algorithm it signs with."""

    __slots__ = ("_ec", "_ed", "alg", "public")

    def __init__(self, *, ed: ed25519.SigningKey | None = None, ec: ECKey | None = None) -> None:
        if (ed is None) == (ec is None):
            raise ValueError("give exactly one of an Ed25519 or a P-256 key")
        self._ed = ed
        self._ec = ec
        self.alg: SigningAlgorithm
        if ed is not None:
            self.alg = ED25519
            self.public = PublicJWK.from_ed25519(ed.public_key)
        else:
            assert ec is not None
            self.alg = ES256
            self.public = PublicJWK.from_dict(ec.as_dict(private=False))

    @classmethod
    def generate(cls, alg: SigningAlgorithm = ED25519) -> PrivateJWK:
        if alg == ED25519:
            return cls(ed=ed25519.SigningKey.generate())
        if alg == ES256:
            return cls(ec=ECKey.generate_key("P-256"))
        raise UnsupportedAlgorithm(f"cannot generate keys for {alg!r}")

    @classmethod
    def from_signing_key(cls, key: ed25519.SigningKey) -> PrivateJWK:
        return cls(ed=key)

    @classmethod
    def from_dict(cls, jwk: Any) -> PrivateJWK:
        """Import a private JWK (RFC 8037 §2 for Ed25519, RFC 7518 §6.2.2 for P-256).

        The public members must match the private one: a key file whose ``x`` belongs to
        another key would make every signature fail later, far from the cause.
        """
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("d"), str):
            raise MalformedJOSE("a private JWK is a JSON object with a 'd' member")
        public = PublicJWK.from_dict({k: v for k, v in jwk.items() if k != "d"})
        if public.curve == "Ed25519":
            seed = _coordinate(jwk, "d", ed25519.SEED_SIZE)
            key = cls(ed=ed25519.SigningKey(seed))
        else:
            _coordinate(jwk, "d", _P256_COORDINATE_SIZE)
            try:
                key = cls(ec=ECKey.import_key(dict(jwk)))
            except (JoseError, ValueError, TypeError) as exc:
                raise MalformedJOSE(f"JWK is not a valid P-256 private key: {exc}") from exc
        if key.public.thumbprint != public.thumbprint:
            raise MalformedJOSE("the JWK's public members do not belong to its private key")
        return key

    @property
    def kid(self) -> str:
        return self.public.kid

    def to_dict(self) -> dict[str, str]:
        """The private JWK, with ``d``. Treat it as a secret."""
        out = self.public.to_dict()
        if self._ed is not None:
            out["d"] = b64url_encode(self._ed.seed)
        else:
            assert self._ec is not None
            out["d"] = str(self._ec.as_dict(private=True)["d"])
        return out

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature (RFC 7515 §5.1 step 5) over ``signing_input``."""
        if self._ed is not None:
            return self._ed.sign(signing_input)
        assert self._ec is not None
        return _P256.sign(signing_input, self._ec)

    def __repr__(self) -> str:
        return f"PrivateJWK(alg={self.alg!r}, kid={self.kid!r})"


class KeyResolver(Protocol):
    """Finds the trusted key for an issuer (a JWT ``iss``) and a ``kid``; raises UnknownKey."""

    def __call__(self, issuer: str | None, kid: str | None) -> PublicJWK: ...


class JWKSet:
    """A JWK Set (RFC 7517 §5): the keys of one party, current and retired."""

    __slots__ = ("_by_kid", "keys")

    def __init__(self, keys: Iterable[PublicJWK]) -> None:
        self.keys: tuple[PublicJWK, ...] = tuple(keys)
        self._by_kid: dict[str, PublicJWK] = {}
        for key in self.keys:
            if key.kid in self._by_kid:
                raise MalformedJOSE(f"JWK Set has two keys with kid {key.kid!r}")
            self._by_kid[key.kid] = key

    @classmethod
    def from_dict(cls, jwks: Any) -> JWKSet:
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise MalformedJOSE("a JWK Set is a JSON object with a 'keys' array")
        return cls(PublicJWK.from_dict(key) for key in jwks["keys"])

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.to_dict() for key in self.keys]}

    def get(self, kid: str | None) -> PublicJWK:
        """The key with this ``kid``; without a ``kid``, the set's only key."""
        if kid is None:
            if len(self.keys) == 1:
                return self.keys[0]
            raise UnknownKey("the signature names no kid and the issuer has several keys")
        try:
            return self._by_kid[kid]
        except KeyError:
            raise UnknownKey(f"no trusted key with kid {kid!r}") from None


class TrustedIssuers:
    """A :class:`KeyResolver` over a fixed table of issuers and their JWK Sets."""

    __slots__ = ("_issuers",)

    def __init__(self, issuers: Mapping[str, JWKSet | Iterable[PublicJWK]]) -> None:
        self._issuers = {
            iss: keys if isinstance(keys, JWKSet) else JWKSet(keys) for iss, keys in issuers.items()
        }

    def __call__(self, issuer: str | None, kid: str | None) -> PublicJWK:
        if issuer is None:
            raise UnknownKey("the signed object names no issuer")
        keys = self._issuers.get(issuer)
        if keys is None:
            raise UnknownKey(f"issuer {issuer!r} is not trusted")
        return keys.get(kid)


# JWS.


def _normalise_typ(typ: str) -> str:
    # RFC 7515 §4.1.9: media type names compare case-insensitively and "application/" may be
    # omitted.
    typ = typ.lower()
    return typ.removeprefix("application/")


@dataclass(frozen=True, slots=True)
class CompactJWS:
    """A parsed, not yet verified, compact JWS (RFC 7515 §7.1).

    ``payload`` is the content the signature covers: for a detached JWS it is the bytes the
    caller supplied. ``header_segment`` and ``signing_input`` are kept verbatim because the
    signature covers the encoded form, not a re-serialisation of the parsed header.
    """

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes
    detached: bool

    @classmethod
    def parse(cls, token: str, *, detached_payload: bytes | None = None) -> CompactJWS:
        """Split and decode a compact JWS; with ``detached_payload``, expect Appendix F form."""
        if not isinstance(token, str):
            raise MalformedJOSE("a compact JWS is a string")
        parts = token.split(".")
        if len(parts) != 3:
            raise MalformedJOSE("a compact JWS has exactly three dot-separated parts")
        header_seg, payload_seg, signature_seg = parts
        if len(header_seg) > _MAX_HEADER_SEGMENT or len(signature_seg) > _MAX_SIGNATURE_SEGMENT:
            raise MalformedJOSE("JWS header or signature is too long")
        if len(payload_seg) > _MAX_PAYLOAD_SEGMENT:
            raise MalformedJOSE("JWS payload is too long")
        header = loads_json_object(b64url_decode(header_seg, what="JWS header"), what="JWS header")
        _check_header(header)
        if detached_payload is None:
            if not payload_seg:
                raise MalformedJOSE("JWS payload is detached; supply the content to verify it")
            payload = b64url_decode(payload_seg, what="JWS payload")
        else:
            if payload_seg:
                raise MalformedJOSE("expected a detached JWS (an empty payload segment)")
            payload = detached_payload
            payload_seg = b64url_encode(payload)
        signature = b64url_decode(signature_seg, what="JWS signature")
        signing_input = f"{header_seg}.{payload_seg}".encode("ascii")
        return cls(header, payload, signing_input, signature, detached_payload is not None)

    @property
    def alg(self) -> str:
        alg: str = self.header["alg"]
        return alg

    @property
    def kid(self) -> str | None:
        return self.header.get("kid")

    @property
    def typ(self) -> str | None:
        return self.header.get("typ")

    def check_typ(self, expected: str) -> None:
        """Raise unless the ``typ`` header names ``expected`` (RFC 7515 §4.1.9)."""
        if self.typ is None or _normalise_typ(self.typ) != _normalise_typ(expected):
            raise MalformedJOSE(f"JWS typ is {self.typ!r}, expected {expected!r}")

    def verify(self, key: PublicJWK, *, algorithms: Collection[str] = DEFAULT_ALGORITHMS) -> None:
        """Check the signature under ``key``; the ``alg`` must be allowed and fit the key."""
        if self.alg not in algorithms:
            raise UnsupportedAlgorithm(f"algorithm {self.alg!r} is not accepted here")
        key.verify(self.alg, self.signing_input, self.signature)

    def claims(self) -> dict[str, Any]:
        """The payload as a JWT Claims Set (RFC 7519 §7.2 step 10): a JSON object."""
        return loads_json_object(self.payload, what="JWT claims")


def _check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MalformedJOSE("JWS header has no 'alg' string")
    if alg not in DEFAULT_ALGORITHMS:
        raise UnsupportedAlgorithm(f"algorithm {alg!r} is not supported")
    refused = _REFUSED_HEADERS.intersection(header)
    if refused:
        raise MalformedJOSE(f"JWS header parameter {min(refused)!r} is not supported")
    for name in ("kid", "typ", "cty"):
        if name in header and not isinstance(header[name], str):
            raise MalformedJOSE(f"JWS header {name!r} is not a string")


def _protected_header(
    key: PrivateJWK, header: Mapping[str, Any] | None, typ: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"alg": key.alg, "kid": key.kid}
    if typ is not None:
        out["typ"] = typ
    for name, value in (header or {}).items():
        if name in {"alg", "kid", "typ"} or name in _REFUSED_HEADERS:
            raise ValueError(f"header parameter {name!r} is set by the signer, not the caller")
        out[name] = value
    return out


def sign_compact(
    key: PrivateJWK,
    payload: bytes,
    *,
    typ: str | None = None,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS over ``payload``; the header names ``alg`` and the key's ``kid``."""
    header_seg = b64url_encode(dumps_json(_protected_header(key, header, typ)))
    signing_input = f"{header_seg}.{b64url_encode(payload)}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def verify_compact(
    token: str,
    key: PublicJWK,
    *,
    typ: str | None = None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
) -> CompactJWS:
    """Parse and verify a compact JWS; with ``typ``, also require that media type."""
    jws = CompactJWS.parse(token)
    if typ is not None:
        jws.check_typ(typ)
    jws.verify(key, algorithms=algorithms)
    return jws


def sign_detached(
    key: PrivateJWK,
    content: bytes,
    *,
    typ: str | None = None,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A detached compact JWS over ``content`` (RFC 7515 Appendix F): ``header..signature``."""
    header_seg, _, signature_seg = sign_compact(key, content, typ=typ, header=header).split(".")
    return f"{header_seg}..{signature_seg}"


def verify_detached(
    jws: str,
    content: bytes,
    key: PublicJWK,
    *,
    typ: str | None = None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
) -> CompactJWS:
    """Verify a detached JWS over ``content``; returns the parsed JWS for its header."""
    parsed = CompactJWS.parse(jws, detached_payload=content)
    if typ is not None:
        parsed.check_typ(typ)
    parsed.verify(key, algorithms=algorithms)
    return parsed


def sign_jwt(
    key: PrivateJWK,
    claims: Mapping[str, Any],
    *,
    typ: str,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A signed JWT (RFC 7519 §7.1) with an explicit ``typ`` (RFC 8725 §3.11)."""
    return sign_compact(key, dumps_json(dict(claims)), typ=typ, header=header)


def verify_jwt(
    token: str,
    key: PublicJWK,
    *,
    typ: str,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
) -> dict[str, Any]:
    """Verify a JWT's signature and ``typ`` and return its claims; time claims are the caller's.

    Claim checks (``exp``, ``aud``…) differ per token type, so each caller makes its own, with
    its own ``now``.
    """
    return verify_compact(token, key, typ=typ, algorithms=algorithms).claims()
