"""Token Status Lists (draft-ietf-oauth-status-list): revocation without a call home per check.

An issuer keeps one compressed array of small status values per list; each credential names
its list and index in a ``status`` claim (§6.1, a *Referenced Token*). A verifier fetches the
signed list once, caches it for its ``ttl``, and answers every status question locally, so the
issuer learns nothing about which credential was checked, or when.

Layout (§4.1): entry ``i`` occupies ``bits`` bits starting at bit ``i * bits``, counted from
the least significant bit of each byte; the byte array is compressed with DEFLATE in the ZLIB
format (RFC 1950) and base64url-encoded into ``lst``. The token (§5.1) is a JWT with ``typ:
statuslist+jwt`` whose ``sub`` is the list's own URI, ``iat``, optional ``exp`` and ``ttl``.

Verification fails closed: a list that cannot be fetched, is badly signed, stale, or does not
cover the index raises :class:`~bayflow.identity.errors.StatusUnavailable`, never "valid".
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, Final, Protocol

from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jose import (
    CompactJWS,
    KeyResolver,
    PrivateJWK,
    b64url_decode,
    b64url_encode,
    sign_jwt,
)
from bayflow.errors import BayflowError
from bayflow.identity.errors import (
    CredentialRevoked,
    CredentialSuspended,
    MalformedCredential,
    StatusUnavailable,
)

__all__ = [
    "STATUS_LIST_TYP",
    "StatusChecker",
    "StatusList",
    "StatusListChecker",
    "StatusListToken",
    "StatusReference",
    "StatusValue",
    "issue_status_list_token",
    "verify_status_list_token",
]

STATUS_LIST_TYP: Final = "statuslist+jwt"
_BITS: Final = frozenset({1, 2, 4, 8})
# A decompressed list larger than this is refused before it is inflated: 16 MiB holds 134
# million one-bit entries, far beyond any list the hub keeps, and it caps a zip bomb's cost.
_MAX_LIST_BYTES: Final = 16 * 1024 * 1024
_DEFAULT_LEEWAY: Final = timedelta(seconds=60)
# How long a list without `ttl` or `exp` may be reused; §13.7 leaves the choice to the verifier.
_DEFAULT_CACHE: Final = timedelta(minutes=5)


class StatusValue(IntEnum):
    """The registered status values (§7.1); 0x03 and up are application specific."""

    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02


class StatusList:
    """A mutable array of ``bits``-bit statuses, all VALID to begin with."""

    __slots__ = ("_data", "bits")

    def __init__(self, size: int, *, bits: int = 1) -> None:
        if bits not in _BITS:
            raise ValueError(f"bits must be one of 1, 2, 4 or 8, not {bits}")
        if size < 1:
            raise ValueError("a status list holds at least one entry")
        self.bits = bits
        self._data = bytearray(-(-size * bits // 8))

    @classmethod
    def from_bytes(cls, data: bytes, *, bits: int = 1) -> StatusList:
        """The list whose uncompressed byte array is ``data``."""
        status_list = cls(max(1, len(data) * 8 // bits), bits=bits)
        status_list._data[:] = data
        return status_list

    @property
    def size(self) -> int:
        """How many entries the list can address; padding bits of the last byte count too."""
        return len(self._data) * 8 // self.bits

    def _locate(self, idx: int) -> tuple[int, int]:
        if not 0 <= idx < self.size:
            raise IndexError(f"index {idx} is outside a status list of {self.size} entries")
        bit = idx * self.bits
        return bit // 8, bit % 8

    def get(self, idx: int) -> int:
        byte, shift = self._locate(idx)
        return (self._data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, idx: int, status: int) -> None:
        if not 0 <= status < 1 << self.bits:
            raise ValueError(f"status {status} does not fit in {self.bits} bits")
        byte, shift = self._locate(idx)
        mask = ((1 << self.bits) - 1) << shift
        self._data[byte] = (self._data[byte] & ~mask) | (status << shift)

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def to_claim(self) -> dict[str, Any]:
        """The ``status_list`` claim (§4.2); compression at level 9 as §4.1 recommends."""
        return {"bits": self.bits, "lst": b64url_encode(zlib.compress(self._data, 9))}

    @classmethod
    def from_claim(cls, claim: Any) -> StatusList:
        """Parse a ``status_list`` claim strictly; raise :class:`MalformedCredential`."""
        if not isinstance(claim, Mapping):
            raise MalformedCredential("status_list is not a JSON object")
        bits, lst = claim.get("bits"), claim.get("lst")
        if type(bits) is not int or bits not in _BITS:
            raise MalformedCredential("status_list bits must be 1, 2, 4 or 8")
        if not isinstance(lst, str):
            raise MalformedCredential("status_list lst is not a string")
        try:
            compressed = b64url_decode(lst, what="status_list lst")
        except CryptoError as exc:
            raise MalformedCredential(exc.message) from exc
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(compressed, _MAX_LIST_BYTES)
        except zlib.error as exc:
            raise MalformedCredential("status_list lst is not ZLIB data") from exc
        if inflater.unconsumed_tail:
            raise MalformedCredential("status_list is larger than Bayflow accepts")
        if not inflater.eof or inflater.unused_data:
            raise MalformedCredential("status_list lst is truncated or has trailing data")
        if not data:
            raise MalformedCredential("status_list is empty")
        return cls.from_bytes(data, bits=bits)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self.bits == other.bits and self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # Mutable: equal lists may change apart.

    def __repr__(self) -> str:
        return f"StatusList(size={self.size}, bits={self.bits})"


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a credential's status lives: entry ``idx`` of the list at ``uri`` (§6.1)."""

    uri: str
    idx: int

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri:
            raise MalformedCredential("status list uri is not a non-empty string")
        if type(self.idx) is not int or self.idx < 0:
            raise MalformedCredential("status list idx is not a non-negative integer")

    def to_claim(self) -> dict[str, Any]:
        """The Referenced Token's ``status`` claim value."""
        return {"status_list": {"idx": self.idx, "uri": self.uri}}

    @classmethod
    def from_claim(cls, claim: Any) -> StatusReference:
        if not isinstance(claim, Mapping) or not isinstance(claim.get("status_list"), Mapping):
            raise MalformedCredential("status claim has no status_list object")
        ref = claim["status_list"]
        return cls(uri=ref.get("uri"), idx=ref.get("idx"))


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A verified Status List Token. ``ttl`` and ``expires_at`` are ``None`` when absent."""

    uri: str
    issuer: str | None
    issued_at: datetime
    expires_at: datetime | None
    ttl: timedelta | None
    status_list: StatusList

    def cache_until(self, fetched_at: datetime) -> datetime:
        """When a copy fetched at ``fetched_at`` must be fetched again (§13.7)."""
        until = fetched_at + (self.ttl if self.ttl is not None else _DEFAULT_CACHE)
        if self.expires_at is not None:
            until = min(until, self.expires_at)
        return until


def _numeric_date(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return int(when.timestamp())


def _from_numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int subclass; a NumericDate is a number (RFC 7519 §2), never true/false.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedCredential(f"{name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedCredential(f"{name} is out of range") from exc


def issue_status_list_token(
    key: PrivateJWK,
    status_list: StatusList,
    *,
    uri: str,
    now: datetime,
    issuer: str | None = None,
    expires_in: timedelta | None = timedelta(days=1),
    ttl: timedelta | None = timedelta(hours=1),
) -> str:
    """Sign ``status_list`` as the Status List Token served at ``uri`` (§5.1)."""
    claims: dict[str, Any] = {"sub": uri, "iat": _numeric_date(now)}
    if issuer is not None:
        claims["iss"] = issuer
    if expires_in is not None:
        claims["exp"] = _numeric_date(now + expires_in)
    if ttl is not None:
        claims["ttl"] = int(ttl.total_seconds())
    claims["status_list"] = status_list.to_claim()
    return sign_jwt(key, claims, typ=STATUS_LIST_TYP)


def verify_status_list_token(
    token: str,
    keys: KeyResolver,
    *,
    uri: str,
    now: datetime,
    leeway: timedelta = _DEFAULT_LEEWAY,
) -> StatusListToken:
    """Validate a Status List Token fetched from ``uri`` (§8.3); raise StatusUnavailable.

    The signing key is resolved from the token's ``iss`` and ``kid``. A token for another
    list (``sub`` differs from ``uri``), from the future, or past its ``exp`` is refused, and
    so is one that does not parse: a verifier cannot tell a broken list from a withheld one.
    """
    try:
        return _verify_status_list_token(token, keys, uri, now, leeway)
    except (CryptoError, MalformedCredential) as exc:
        raise StatusUnavailable(f"status list token refused: {exc.message}") from exc


def _verify_status_list_token(
    token: str, keys: KeyResolver, uri: str, now: datetime, leeway: timedelta
) -> StatusListToken:
    # 0. Parse and check the type, 1. resolve the key and verify the signature, 2. check the
    #    subject and times, 3. decode the list.
    # (0):
    jws = CompactJWS.parse(token)
    jws.check_typ(STATUS_LIST_TYP)
    claims = jws.claims()
    issuer = claims.get("iss")
    if issuer is not None and not isinstance(issuer, str):
        raise MalformedCredential("status list token iss is not a string")
    # (1):
    jws.verify(keys(issuer, jws.kid))
    # (2):
    if claims.get("sub") != uri:
        raise StatusUnavailable("status list token is for another list (sub differs)")
    issued_at = _from_numeric_date(claims, "iat")
    if issued_at is None:
        raise MalformedCredential("status list token has no iat")
    if issued_at > now + leeway:
        raise StatusUnavailable("status list token is issued in the future")
    expires_at = _from_numeric_date(claims, "exp")
    if expires_at is not None and now >= expires_at + leeway:
        raise StatusUnavailable("status list token has expired")
    ttl_claim = claims.get("ttl")
    if ttl_claim is not None and (type(ttl_claim) is not int or ttl_claim < 0):
        raise MalformedCredential("status list token ttl is not a non-negative integer")
    ttl = timedelta(seconds=ttl_claim) if ttl_claim is not None else None
    # (3):
    status_list = StatusList.from_claim(claims.get("status_list"))
    return StatusListToken(uri, issuer, issued_at, expires_at, ttl, status_list)


class StatusChecker(Protocol):
    """Answers "may this credential still be accepted?"; raises when it may not."""

    def __call__(self, reference: StatusReference, *, issuer: str, now: datetime) -> None: ...


class StatusListChecker:
    """A :class:`StatusChecker` that fetches, verifies and caches Status List Tokens.

    ``fetch(uri)`` returns the token text; it is the caller's transport (HTTP, a database,
    a file), and raises a :class:`~bayflow.errors.BayflowError` when it cannot. With
    ``require_same_issuer`` (the default) a list only speaks for credentials from its own
    ``iss``, so one trusted issuer cannot un-revoke another's credentials.
    """

    def __init__(
        self,
        fetch: Callable[[str], str],
        keys: KeyResolver,
        *,
        require_same_issuer: bool = True,
        leeway: timedelta = _DEFAULT_LEEWAY,
    ) -> None:
        self._fetch = fetch
        self._keys = keys
        self._require_same_issuer = require_same_issuer
        self._leeway = leeway
        self._cache: dict[str, tuple[StatusListToken, datetime]] = {}

    def load(self, uri: str, token: str, *, now: datetime) -> StatusListToken:
        """Verify ``token`` as the list at ``uri`` and cache it, e.g. one that came bundled."""
        verified = verify_status_list_token(
            token, self._keys, uri=uri, now=now, leeway=self._leeway
        )
        self._cache[uri] = (verified, verified.cache_until(now))
        return verified

    def _list_for(self, uri: str, now: datetime) -> StatusListToken:
        cached = self._cache.get(uri)
        if cached is not None and now < cached[1]:
            return cached[0]
        try:
            token = self._fetch(uri)
        except BayflowError as exc:
            raise StatusUnavailable(f"status list {uri} cannot be fetched: {exc.message}") from exc
        return self.load(uri, token, now=now)

    def __call__(self, reference: StatusReference, *, issuer: str, now: datetime) -> None:
        status_token = self._list_for(reference.uri, now)
        if self._require_same_issuer and status_token.issuer != issuer:
            raise StatusUnavailable("status list is not signed by the credential's issuer")
        try:
            status = status_token.status_list.get(reference.idx)
        except IndexError as exc:
            raise StatusUnavailable(str(exc)) from exc
        if status == StatusValue.VALID:
            return
        if status == StatusValue.INVALID:
            raise CredentialRevoked("the credential has been revoked")
        if status == StatusValue.SUSPENDED:
            raise CredentialSuspended("the credential is suspended")
        # Application-specific values (§7.1) mean nothing to this verifier: fail closed.
        raise StatusUnavailable(f"status value {status:#04x} is not understood")
