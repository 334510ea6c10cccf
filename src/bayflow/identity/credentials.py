"""SD-JWT verifiable credentials (RFC 9901, SD-JWT VC) for registry facts.

The hub issues credentials; an organisation's wallet holds them; the organisation presents a
chosen subset of claims to a verifier, bound to the verifier's nonce with its own key; the
verifier checks the presentation offline against the issuer's published key and, through a
Token Status List, whether it was revoked.

Formats (all compact):

- **Issued SD-JWT** (RFC 9901 §4): ``<issuer-signed JWT>~<disclosure>~…~<disclosure>~``. The
  JWT header has ``typ: dc+sd-jwt`` (SD-JWT VC §3.2.1); its payload carries ``iss``, ``iat``,
  ``exp``, ``vct``, ``cnf.jwk`` (the holder key, RFC 7800), ``status`` (a Token Status List
  reference) and ``_sd_alg: sha-256`` in the clear, and every selectively disclosable claim
  only as a digest in an ``_sd`` array (or a ``{"...": digest}`` array element, §4.2.4).
- **Disclosure** (§4.2.1, §4.2.2): base64url of the JSON array ``[salt, name, value]`` (or
  ``[salt, value]`` for an array element), with a fresh 128-bit salt (§9.3); its digest is
  base64url(SHA-256(the disclosure's ASCII)). The JSON uses the separators of the RFC's own
  examples, so the examples reproduce byte for byte.
- **Presentation** (§4.3, §4.3.1): the issuer JWT, the chosen disclosures, and a KB-JWT with
  ``typ: kb+jwt`` carrying ``iat``, ``aud``, ``nonce`` and ``sd_hash``, the digest of
  everything before it.

Claim paths name what to disclose: ``"city"`` (a top-level claim), ``"legal_name.en"`` (a
member of an object claim) and ``"licences[0]"`` or ``"licences[]"`` (one or every element of
an array claim). Making both ``"legal_name"`` and ``"legal_name.en"`` disclosable nests one
disclosure in another (recursive disclosure, §4.2.6); presenting a child presents its parents.
Claim names containing ``.``, ``[`` or ``]`` cannot be addressed and are refused at issuance.

Decoy digests (§4.2.5) are added to every ``_sd`` array and the array sorted, so the number
and order of hidden claims do not show. Decoys are not added to arrays: positions of array
elements are what paths refer to.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from bayflow.crypto.errors import InvalidSignature, MalformedJOSE, UnknownKey
from bayflow.crypto.jose import (
    CompactJWS,
    KeyResolver,
    PrivateJWK,
    PublicJWK,
    b64url_decode,
    b64url_encode,
    loads_json,
    sign_jwt,
)
from bayflow.errors import InvalidInput
from bayflow.identity.errors import (
    AudienceMismatch,
    ClaimNotDisclosable,
    CredentialExpired,
    DisclosureNotReferenced,
    DuplicateDisclosure,
    IssuerSignatureInvalid,
    KeyBindingInvalid,
    KeyBindingMissing,
    KeyBindingStale,
    MalformedCredential,
    NonceMismatch,
    SdHashMismatch,
    UnexpectedCredentialType,
    UntrustedIssuer,
)
from bayflow.identity.status_list import StatusChecker, StatusReference

__all__ = [
    "AUTHORISED_SIGNATORY_VCT",
    "BUSINESS_REGISTRATION_VCT",
    "KB_JWT_TYP",
    "SD_ALG",
    "SD_JWT_VC_TYP",
    "ClaimSet",
    "Disclosure",
    "VerifiedCredential",
    "authorised_signatory_claims",
    "business_registration_claims",
    "format_claim_path",
    "issue_credential",
    "parse_claim_path",
    "present",
    "verify_presentation",
]

SD_JWT_VC_TYP: Final = "dc+sd-jwt"
KB_JWT_TYP: Final = "kb+jwt"
SD_ALG: Final = "sha-256"
BUSINESS_REGISTRATION_VCT: Final = "urn:bayflow:vct:business-registration:1"
AUTHORISED_SIGNATORY_VCT: Final = "urn:bayflow:vct:authorised-signatory:1"

_SALT_BYTES: Final = 16  # 128 bits, the minimum RFC 9901 §9.3 recommends.
_SEPARATOR: Final = "~"
_SD: Final = "_sd"
_ELLIPSIS: Final = "..."
# Claims SD-JWT VC §3.2.2 forbids making selectively disclosable, and ones issuance sets itself.
_NEVER_DISCLOSABLE: Final = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "_sd_alg"}
)
_SET_BY_ISSUER: Final = frozenset({"iss", "iat", "nbf", "exp", "cnf", "vct", "status", "_sd_alg"})
# JWT and SD-JWT VC claims about the credential rather than about its subject.
_REGISTERED: Final = _SET_BY_ISSUER | {"vct#integrity", "sub", "jti"}
_DEFAULT_LEEWAY: Final = timedelta(seconds=60)
_DEFAULT_MAX_KB_AGE: Final = timedelta(minutes=5)

ClaimPath = tuple[str | int, ...]
"""A concrete location in the claims: object member names and array positions."""
_Pattern = tuple[str | int | None, ...]
"""A location that may use ``None`` for "every element" of an array."""

_PATH_SEGMENT: Final = re.compile(r"([^.\[\]]+)((?:\[\d*\])*)")
_INDEX: Final = re.compile(r"\[(\d*)\]")


# Claim paths.


def parse_claim_path(text: str) -> tuple[str | int | None, ...]:
    """``"a.b[0]"`` → ``("a", "b", 0)``; ``"a[]"`` → ``("a", None)`` (every element)."""
    path: list[str | int | None] = []
    for segment in text.split("."):
        match = _PATH_SEGMENT.fullmatch(segment)
        if match is None:
            raise ClaimNotDisclosable(f"{text!r} is not a claim path such as 'a.b' or 'a[0]'")
        path.append(match.group(1))
        path.extend(int(i) if i else None for i in _INDEX.findall(match.group(2)))
    return tuple(path)


def format_claim_path(path: Iterable[str | int | None]) -> str:
    out = ""
    for part in path:
        if isinstance(part, str):
            out = f"{out}.{part}" if out else part
        else:
            out += "[]" if part is None else f"[{part}]"
    return out


def _matches(pattern: _Pattern, path: ClaimPath) -> bool:
    return len(pattern) == len(path) and all(
        p == q or (p is None and isinstance(q, int)) for p, q in zip(pattern, path, strict=True)
    )


# Disclosures.


def _digest(text: str) -> str:
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One disclosure (RFC 9901 §4.2.1); ``name`` is ``None`` for an array element (§4.2.2)."""

    encoded: str
    salt: str
    name: str | None
    value: Any
    digest: str

    @classmethod
    def create(cls, name: str | None, value: Any, *, salt: str | None = None) -> Disclosure:
        salt = salt if salt is not None else b64url_encode(secrets.token_bytes(_SALT_BYTES))
        array = [salt, value] if name is None else [salt, name, value]
        # Default separators and raw UTF-8, as in the RFC's examples; the digest covers these
        # exact bytes, so verifiers never re-serialise.
        text = json.dumps(array, ensure_ascii=False, allow_nan=False)
        encoded = b64url_encode(text.encode())
        return cls(encoded, salt, name, value, _digest(encoded))

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        try:
            array = loads_json(b64url_decode(encoded, what="disclosure"), what="disclosure")
        except MalformedJOSE as exc:
            raise MalformedCredential(exc.message) from exc
        if not isinstance(array, list) or len(array) not in {2, 3}:
            raise MalformedCredential("a disclosure is a JSON array of two or three elements")
        salt = array[0]
        if not isinstance(salt, str):
            raise MalformedCredential("a disclosure's salt is not a string")
        name: str | None = None
        if len(array) == 3:
            name = array[1]
            if not isinstance(name, str):
                raise MalformedCredential("a disclosure's claim name is not a string")
            # RFC 9901 §7.1 step 3.2.2.1: these names would let a disclosure rewrite structure.
            if name in {_SD, _ELLIPSIS}:
                raise MalformedCredential(f"a disclosure may not name the claim {name!r}")
        return cls(encoded, salt, name, array[-1], _digest(encoded))


def _decoy() -> str:
    return b64url_encode(hashlib.sha256(secrets.token_bytes(_SALT_BYTES)).digest())


# Issuance.


class _Concealer:
    """Turns claims into an SD-JWT payload, replacing disclosable parts by digests."""

    def __init__(self, patterns: list[_Pattern], decoys: int | None) -> None:
        self.patterns = patterns
        self.used = [False] * len(patterns)
        self.decoys = decoys
        self.disclosures: list[Disclosure] = []

    def _disclosable(self, path: ClaimPath) -> bool:
        hit = False
        for i, pattern in enumerate(self.patterns):
            if _matches(pattern, path):
                self.used[i] = hit = True
        return hit

    def conceal(self, value: Any, path: ClaimPath) -> Any:
        # Children first, so that a disclosable parent's disclosure carries its children's
        # digests rather than their values (recursive disclosure, RFC 9901 §4.2.6).
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            digests: list[str] = []
            for name, child in value.items():
                if not isinstance(name, str) or name in {_SD, _ELLIPSIS} or set(name) & set(".[]"):
                    raise InvalidInput(f"claim name {name!r} cannot be issued")
                child_path = (*path, name)
                concealed = self.conceal(child, child_path)
                if self._disclosable(child_path):
                    disclosure = Disclosure.create(name, concealed)
                    self.disclosures.append(disclosure)
                    digests.append(disclosure.digest)
                else:
                    out[name] = concealed
            if digests:
                count = self.decoys if self.decoys is not None else 1 + secrets.randbelow(3)
                digests.extend(_decoy() for _ in range(count))
                out[_SD] = sorted(digests)
            return out
        if isinstance(value, list | tuple):
            items: list[Any] = []
            for index, child in enumerate(value):
                child_path = (*path, index)
                concealed = self.conceal(child, child_path)
                if self._disclosable(child_path):
                    disclosure = Disclosure.create(None, concealed)
                    self.disclosures.append(disclosure)
                    items.append({_ELLIPSIS: disclosure.digest})
                else:
                    items.append(concealed)
            return items
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise InvalidInput(f"claim at {format_claim_path(path)!r} is not a JSON value")


def _numeric_date(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return int(when.timestamp())


def issue_credential(
    issuer_key: PrivateJWK,
    issuer_id: str,
    vct: str,
    claims: Mapping[str, Any],
    *,
    disclosable: Iterable[str],
    holder_jwk: PublicJWK,
    status: StatusReference | tuple[str, int] | None,
    now: datetime,
    expires_in: timedelta = timedelta(days=365),
    decoys: int | None = None,
) -> str:
    """Issue an SD-JWT VC with every disclosure (RFC 9901 §4, SD-JWT VC §3).

    ``disclosable`` lists claim paths; each must match at least one claim. ``decoys`` fixes
    the number of decoy digests per ``_sd`` array (default: one to three at random).
    """
    patterns = [parse_claim_path(p) for p in disclosable]
    for pattern in patterns:
        if pattern[0] in _NEVER_DISCLOSABLE:
            raise ClaimNotDisclosable(f"{pattern[0]!r} may not be selectively disclosable")
    reserved = _SET_BY_ISSUER.intersection(claims)
    if reserved:
        raise InvalidInput(f"claim {min(reserved)!r} is set by issuance, not by the caller")
    concealer = _Concealer(patterns, decoys)
    body = concealer.conceal(claims, ())
    unused = [
        format_claim_path(p) for p, hit in zip(patterns, concealer.used, strict=True) if not hit
    ]
    if unused:
        raise ClaimNotDisclosable(f"no claim at disclosable path {unused[0]!r}")
    if isinstance(status, tuple):
        status = StatusReference(*status)
    payload: dict[str, Any] = {
        "iss": issuer_id,
        "iat": _numeric_date(now),
        "exp": _numeric_date(now + expires_in),
        "vct": vct,
        "cnf": {"jwk": holder_jwk.to_dict(include_kid=False)},
    }
    if status is not None:
        payload["status"] = status.to_claim()
    payload["_sd_alg"] = SD_ALG
    payload.update(body)
    jwt = sign_jwt(issuer_key, payload, typ=SD_JWT_VC_TYP)
    return _SEPARATOR.join([jwt, *(d.encoded for d in concealer.disclosures), ""])


# Reading SD-JWTs: shared by the holder and the verifier.


class _Unpacker:
    """Replaces digests by disclosed values (RFC 9901 §7.1 step 3) and records their paths."""

    def __init__(self, disclosures: Iterable[Disclosure]) -> None:
        self.by_digest: dict[str, Disclosure] = {}
        for disclosure in disclosures:
            if disclosure.digest in self.by_digest:
                raise DuplicateDisclosure("the same disclosure is presented twice")
            self.by_digest[disclosure.digest] = disclosure
        self.seen: set[str] = set()
        self.paths: dict[str, ClaimPath] = {}

    def _reference(self, digest: Any) -> Disclosure | None:
        if not isinstance(digest, str):
            raise MalformedCredential("a digest is not a string")
        # §7.1 step 3.3: a digest may occur once across the payload and all disclosures.
        if digest in self.seen:
            raise DuplicateDisclosure("a digest occurs more than once in the credential")
        self.seen.add(digest)
        return self.by_digest.get(digest)

    def unpack(self, value: Any, path: ClaimPath) -> Any:
        if isinstance(value, dict):
            return self._unpack_object(value, path)
        if isinstance(value, list):
            return self._unpack_array(value, path)
        return value

    def _unpack_object(self, obj: dict[str, Any], path: ClaimPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, child in obj.items():
            if name == _SD or (name == "_sd_alg" and not path):
                continue
            if name in {_ELLIPSIS, "_sd_alg"}:
                raise MalformedCredential(f"{name!r} is not allowed at {format_claim_path(path)!r}")
            out[name] = self.unpack(child, (*path, name))
        digests = obj.get(_SD, [])
        if not isinstance(digests, list):
            raise MalformedCredential("an _sd member is not an array")
        for digest in digests:
            disclosure = self._reference(digest)
            if disclosure is None:
                continue  # A decoy, or a claim the holder did not disclose.
            if disclosure.name is None:
                raise MalformedCredential("an array-element disclosure is referenced from _sd")
            if disclosure.name in out:
                raise MalformedCredential(f"disclosed claim {disclosure.name!r} already exists")
            child_path = (*path, disclosure.name)
            self.paths[disclosure.digest] = child_path
            out[disclosure.name] = self.unpack(disclosure.value, child_path)
        return out

    def _unpack_array(self, array: list[Any], path: ClaimPath) -> list[Any]:
        out: list[Any] = []
        for index, item in enumerate(array):
            if isinstance(item, dict) and _ELLIPSIS in item:
                if len(item) != 1:
                    raise MalformedCredential("an array digest object has members besides '...'")
                disclosure = self._reference(item[_ELLIPSIS])
                if disclosure is None:
                    continue  # §7.1 step 3.4.2: undisclosed elements are removed.
                if disclosure.name is not None:
                    raise MalformedCredential("an object-property disclosure sits in an array")
                self.paths[disclosure.digest] = (*path, index)
                out.append(self.unpack(disclosure.value, (*path, index)))
            else:
                out.append(self.unpack(item, (*path, index)))
        return out

    def unreferenced(self) -> list[Disclosure]:
        return [d for digest, d in self.by_digest.items() if digest not in self.paths]


@dataclass(frozen=True, slots=True)
class _SplitSDJWT:
    jwt: str
    disclosures: list[str]
    kb_jwt: str  # Empty when the SD-JWT carries no key binding.

    @classmethod
    def split(cls, text: str) -> _SplitSDJWT:
        if not isinstance(text, str) or _SEPARATOR not in text:
            raise MalformedCredential("an SD-JWT is '~'-separated and ends with '~' or a KB-JWT")
        jwt, *disclosures, kb_jwt = text.split(_SEPARATOR)
        if not jwt or any(not d for d in disclosures):
            raise MalformedCredential("an SD-JWT has an empty component")
        return cls(jwt, disclosures, kb_jwt)

    def without_kb(self) -> str:
        """The part the KB-JWT's ``sd_hash`` covers (RFC 9901 §4.3.1), ending in ``~``."""
        return _SEPARATOR.join([self.jwt, *self.disclosures, ""])


def _parse_jws(token: str) -> CompactJWS:
    try:
        return CompactJWS.parse(token)
    except MalformedJOSE as exc:
        raise MalformedCredential(exc.message) from exc


def _claims(jws: CompactJWS, expected_typ: str) -> dict[str, Any]:
    try:
        jws.check_typ(expected_typ)
        return jws.claims()
    except MalformedJOSE as exc:
        raise MalformedCredential(exc.message) from exc


def _parse_disclosures(encoded: Iterable[str]) -> list[Disclosure]:
    return [Disclosure.parse(text) for text in encoded]


# Presentation.


def present(
    sd_jwt: str,
    disclose: Iterable[str],
    holder_key: PrivateJWK,
    *,
    audience: str,
    nonce: str,
    now: datetime,
) -> str:
    """Keep the disclosures for ``disclose`` and bind them to ``audience`` and ``nonce``.

    A path discloses the claim there, everything inside it and every disclosure on the way to
    it. A path that reaches no disclosure raises :class:`ClaimNotDisclosable`, so a holder
    never believes it disclosed something it did not.
    """
    split = _SplitSDJWT.split(sd_jwt)
    if split.kb_jwt:
        raise InvalidInput("present an issued SD-JWT, not a presentation")
    payload = _claims(_parse_jws(split.jwt), SD_JWT_VC_TYP)
    cnf_key = _holder_key(payload)
    if cnf_key.thumbprint != holder_key.public.thumbprint:
        raise InvalidInput("the holder key is not the one this credential is bound to")
    disclosures = _parse_disclosures(split.disclosures)
    unpacker = _Unpacker(disclosures)
    unpacker.unpack(payload, ())
    keep: set[ClaimPath] = set()
    for text in disclose:
        pattern = parse_claim_path(text)
        chosen = {p for p in unpacker.paths.values() if _matches(pattern, p[: len(pattern)])}
        if not chosen:
            # Disclosing an enclosing claim instead would reveal more than was asked for.
            raise ClaimNotDisclosable(f"the credential has no disclosable claim at {text!r}")
        keep |= chosen
    # A nested disclosure is only reachable through the disclosures that contain it.
    keep |= {p for p in unpacker.paths.values() if any(k[: len(p)] == p for k in keep)}
    kept = {digest for digest, path in unpacker.paths.items() if path in keep}
    presented = _SplitSDJWT(split.jwt, [d.encoded for d in disclosures if d.digest in kept], "")
    head = presented.without_kb()
    kb_claims = {
        "iat": _numeric_date(now),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": _digest(head),
    }
    return head + sign_jwt(holder_key, kb_claims, typ=KB_JWT_TYP)


# Verification.


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """What a verified presentation proves.

    ``claims`` are the subject's claims as disclosed (registered JWT and SD-JWT VC claims
    removed); ``disclosed`` names the paths of every disclosure the holder presented.
    ``expires_at`` and ``status`` are ``None`` when the credential has none.
    """

    issuer: str
    issuer_kid: str
    vct: str
    subject: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    status: StatusReference | None
    holder: PublicJWK
    claims: dict[str, Any]
    disclosed: frozenset[str]
    audience: str
    nonce: str
    presented_at: datetime


def _time_claim(claims: Mapping[str, Any], name: str, error: type[Exception]) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise error(f"{name} is out of range") from exc


def _holder_key(payload: Mapping[str, Any]) -> PublicJWK:
    cnf = payload.get("cnf")
    if not isinstance(cnf, Mapping) or "jwk" not in cnf:
        raise KeyBindingMissing("the credential names no holder key (cnf.jwk)")
    try:
        return PublicJWK.from_dict(cnf["jwk"])
    except MalformedJOSE as exc:
        raise MalformedCredential(f"cnf.jwk: {exc.message}") from exc


def _check_validity(payload: Mapping[str, Any], now: datetime, leeway: timedelta) -> None:
    expires_at = _time_claim(payload, "exp", MalformedCredential)
    if expires_at is not None and now >= expires_at + leeway:
        raise CredentialExpired(f"the credential expired at {expires_at.isoformat()}")
    not_before = _time_claim(payload, "nbf", MalformedCredential)
    if not_before is not None and now + leeway < not_before:
        raise CredentialExpired(f"the credential is not valid before {not_before.isoformat()}")
    issued_at = _time_claim(payload, "iat", MalformedCredential)
    if issued_at is not None and now + leeway < issued_at:
        raise CredentialExpired("the credential is issued in the future")


def _verify_key_binding(
    kb_jwt: str,
    holder: PublicJWK,
    covered: str,
    *,
    audience: str,
    nonce: str,
    now: datetime,
    max_age: timedelta,
    leeway: timedelta,
) -> datetime:
    """RFC 9901 §7.3 step 5; returns the KB-JWT's ``iat``."""
    if not kb_jwt:
        raise KeyBindingMissing("the presentation has no key binding JWT")
    try:
        jws = CompactJWS.parse(kb_jwt)
        jws.check_typ(KB_JWT_TYP)
        jws.verify(holder)
        claims = jws.claims()
    except InvalidSignature as exc:
        raise KeyBindingInvalid("the key binding JWT is not signed by the holder key") from exc
    except MalformedJOSE as exc:
        raise KeyBindingInvalid(f"the key binding JWT is malformed: {exc.message}") from exc
    if claims.get("aud") != audience:
        raise AudienceMismatch("the presentation is meant for another verifier")
    if claims.get("nonce") != nonce:
        raise NonceMismatch("the presentation does not carry this verifier's nonce")
    presented_at = _time_claim(claims, "iat", KeyBindingInvalid)
    if presented_at is None:
        raise KeyBindingInvalid("the key binding JWT has no iat")
    if presented_at > now + leeway:
        raise KeyBindingStale("the key binding JWT is issued in the future")
    if now - presented_at > max_age:
        raise KeyBindingStale(f"the key binding JWT is older than {max_age}")
    if claims.get("sd_hash") != _digest(covered):
        raise SdHashMismatch("sd_hash does not match the presented SD-JWT and disclosures")
    return presented_at


def verify_presentation(
    presentation: str,
    issuer_keys: KeyResolver,
    *,
    audience: str,
    nonce: str,
    now: datetime,
    status_checker: StatusChecker | None = None,
    max_kb_age: timedelta = _DEFAULT_MAX_KB_AGE,
    leeway: timedelta = _DEFAULT_LEEWAY,
    vct: str | None = None,
) -> VerifiedCredential:
    """Verify an SD-JWT VC presentation with key binding (RFC 9901 §7.1–§7.3).

    ``issuer_keys`` resolves the issuer's key from ``iss`` and the JWT's ``kid``. With
    ``status_checker`` the credential's status list entry must say VALID; without one the
    status is not checked (an offline verifier with no list at hand). ``vct``, when given,
    must match. Every failure raises a :class:`~bayflow.identity.errors.CredentialError`.
    """
    # 0. Split the presentation.
    # 1. Parse the issuer-signed JWT, resolve the issuer's key and verify its signature.
    # 2. Check the digest algorithm, the type and the validity period.
    # 3. Replace digests by disclosures; refuse duplicates and unreferenced disclosures.
    # 4. Verify the KB-JWT against cnf.jwk, the audience, nonce, age and sd_hash.
    # 5. Check the status list entry.
    # (0):
    split = _SplitSDJWT.split(presentation)
    # (1):
    jws = _parse_jws(split.jwt)
    payload = _claims(jws, SD_JWT_VC_TYP)
    issuer = payload.get("iss")
    if not isinstance(issuer, str):
        raise MalformedCredential("the credential has no iss string")
    try:
        issuer_key = issuer_keys(issuer, jws.kid)
    except UnknownKey as exc:
        raise UntrustedIssuer(exc.message) from exc
    try:
        jws.verify(issuer_key)
    except InvalidSignature as exc:
        raise IssuerSignatureInvalid("the issuer's signature does not verify") from exc
    except MalformedJOSE as exc:
        raise MalformedCredential(exc.message) from exc
    # (2):
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise MalformedCredential(f"_sd_alg {payload.get('_sd_alg')!r} is not supported")
    credential_type = payload.get("vct")
    if not isinstance(credential_type, str):
        raise MalformedCredential("the credential has no vct string")
    if vct is not None and credential_type != vct:
        raise UnexpectedCredentialType(f"expected a {vct} credential, got {credential_type}")
    _check_validity(payload, now, leeway)
    # (3):
    unpacker = _Unpacker(_parse_disclosures(split.disclosures))
    processed = unpacker.unpack(payload, ())
    if unpacker.unreferenced():
        raise DisclosureNotReferenced("a disclosure's digest appears nowhere in the credential")
    # (4):
    holder = _holder_key(payload)
    presented_at = _verify_key_binding(
        split.kb_jwt,
        holder,
        split.without_kb(),
        audience=audience,
        nonce=nonce,
        now=now,
        max_age=max_kb_age,
        leeway=leeway,
    )
    # (5):
    status = StatusReference.from_claim(payload["status"]) if "status" in payload else None
    if status is not None and status_checker is not None:
        status_checker(status, issuer=issuer, now=now)
    subject = processed.get("sub")
    return VerifiedCredential(
        issuer=issuer,
        issuer_kid=issuer_key.kid,
        vct=credential_type,
        subject=subject if isinstance(subject, str) else None,
        issued_at=_time_claim(payload, "iat", MalformedCredential),
        expires_at=_time_claim(payload, "exp", MalformedCredential),
        status=status,
        holder=holder,
        claims={k: v for k, v in processed.items() if k not in _REGISTERED},
        disclosed=frozenset(format_claim_path(p) for p in unpacker.paths.values()),
        audience=audience,
        nonce=nonce,
        presented_at=presented_at,
    )


# The hub's credential types for registry facts.


@dataclass(frozen=True, slots=True)
class ClaimSet:
    """A credential type's claims and which of them the holder may choose to disclose."""

    vct: str
    claims: dict[str, Any]
    disclosable: tuple[str, ...]


def _members_disclosable(claims: Mapping[str, Any], *containers: str) -> tuple[str, ...]:
    # Structured disclosure (RFC 9901 §4.2.6 first option): the container object is always
    # visible, each member inside it is disclosable on its own.
    paths: list[str] = []
    for name, value in claims.items():
        if name in containers and isinstance(value, Mapping):
            paths.extend(f"{name}.{member}" for member in value)
        elif name != "sub":
            paths.append(name)
    return tuple(paths)


_JURISDICTIONS: Final = frozenset({"HK", "MO", "CN"})


def business_registration_claims(
    *,
    organisation_id: str,
    legal_name_en: str,
    legal_name_zh: str | None,
    jurisdiction: str,
    city: str,
    registry_identifiers: Mapping[str, str],
    lei: str | None = None,
) -> ClaimSet:
    """A business registration credential: who the organisation is in its registry.

    ``registry_identifiers`` maps a scheme (``hk_brn``, ``cn_uscc``, ``mo_reg``) to the
    identifier, already validated by the organisation registry. The organisation id stays
    visible as ``sub``; every other fact is disclosable on its own. ``legal_name_zh`` ``None``
    means the organisation has no Chinese name, so ``legal_name`` has no ``zh`` member.
    """
    if jurisdiction not in _JURISDICTIONS:
        raise InvalidInput(f"jurisdiction must be HK, MO or CN, not {jurisdiction!r}")
    if not registry_identifiers:
        raise InvalidInput("a business registration credential needs a registry identifier")
    claims: dict[str, Any] = {
        "sub": organisation_id,
        "legal_name": {"en": legal_name_en}
        if legal_name_zh is None
        else {"en": legal_name_en, "zh": legal_name_zh},
        "jurisdiction": jurisdiction,
        "city": city,
        "registry_identifiers": dict(registry_identifiers),
    }
    if lei is not None:
        claims["lei"] = lei
    disclosable = _members_disclosable(claims, "legal_name", "registry_identifiers")
    return ClaimSet(BUSINESS_REGISTRATION_VCT, claims, disclosable)


def authorised_signatory_claims(
    *,
    person_id: str,
    person_name: str,
    role: str,
    organisation_id: str,
    organisation_name: str,
    mandate_summary: str,
    mandate_limit: tuple[str, str] | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> ClaimSet:
    """An authorised-signatory credential: this person may sign for this organisation.

    ``mandate_limit`` is ``(amount, currency)`` with the amount as a decimal string (JSON
    numbers would lose cents on the way through some parsers); ``None`` means no limit is
    stated. The person id stays visible as ``sub``.
    """
    mandate: dict[str, Any] = {"summary": mandate_summary}
    if mandate_limit is not None:
        amount, currency = mandate_limit
        mandate["limit"] = {"amount": amount, "currency": currency}
    if valid_from is not None:
        mandate["valid_from"] = valid_from.isoformat()
    if valid_until is not None:
        mandate["valid_until"] = valid_until.isoformat()
    claims: dict[str, Any] = {
        "sub": person_id,
        "name": person_name,
        "role": role,
        "organisation": {"id": organisation_id, "name": organisation_name},
        "mandate": mandate,
    }
    disclosable = _members_disclosable(claims, "organisation", "mandate")
    return ClaimSet(AUTHORISED_SIGNATORY_VCT, claims, disclosable)
