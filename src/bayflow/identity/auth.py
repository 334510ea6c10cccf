"""Authentication for every API call: RFC 7523 client assertions in, short-lived tokens out.

A person authenticates with OAuth 2.0 client credentials and ``private_key_jwt`` (RFC 7523
§2.2, OpenID Connect Core §9): they sign a JWT assertion with their key and trade it at
``POST /oauth/token`` for an access token (an RFC 9068-style JWT, ``typ: at+jwt``) signed by
the hub, valid five minutes, naming the organisation, the person and the granted scopes.

Access tokens are verified without a database round trip: the hub's signature and the expiry
are enough, which is why they live only five minutes.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from bayflow.clock import Clock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jwt import ParsedJWT, ed25519_thumbprint, encode, verify_jwt
from bayflow.identity.errors import (
    InsufficientScope,
    InvalidAccessToken,
    InvalidClientAssertion,
    UnknownKey,
)
from bayflow.identity.interfaces import IdentityRepository
from bayflow.identity.models import KeyOwner, Organisation, Person, Role

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "ASSERTION_TYPE",
    "MAX_CLOCK_SKEW",
    "AccessToken",
    "Principal",
    "Scope",
    "TokenIssuer",
    "TokenVerifier",
    "allowed_scopes",
]

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME: Final = timedelta(minutes=5)
MAX_CLOCK_SKEW: Final = timedelta(seconds=60)
# An assertion is for immediate use; bounding its lifetime bounds the replay table too.
MAX_ASSERTION_LIFETIME: Final = timedelta(minutes=5)


class Scope(StrEnum):
    """What an access token allows. Requested scopes are narrowed to what the person may have."""

    ORG_READ = "org:read"
    ORG_ADMIN = "org:admin"
    OPERATOR = "operator"
    LEDGER = "ledger"
    CONSENT = "consent"
    EXCHANGE = "exchange"
    WALLET = "wallet"


_EVERYONE = frozenset({Scope.ORG_READ, Scope.LEDGER, Scope.CONSENT, Scope.EXCHANGE, Scope.WALLET})


def allowed_scopes(person: Person, organisation: Organisation) -> frozenset[Scope]:
    scopes = set(_EVERYONE)
    if Role.ADMINISTRATOR in person.roles:
        scopes.add(Scope.ORG_ADMIN)
        if organisation.is_operator:
            scopes.add(Scope.OPERATOR)
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: datetime
    scopes: frozenset[Scope]

    def as_oauth_response(self, now: datetime) -> dict[str, Any]:
        """The RFC 6749 §5.1 token response."""
        return {
            "access_token": self.token,
            "token_type": "Bearer",
            "expires_in": int((self.expires_at - now).total_seconds()),
            "scope": " ".join(sorted(self.scopes)),
        }


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the person, their organisation and what their token allows."""

    person_id: str
    organisation_id: str
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime

    def require(self, scope: Scope) -> None:
        if scope.value not in self.scopes:
            raise InsufficientScope(f"this call needs the {scope.value!r} scope")

    def is_member_of(self, organisation_id: str) -> bool:
        return self.organisation_id == organisation_id


def _numeric_date(claims: Mapping[str, Any], name: str, error: type[Exception]) -> datetime:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise error(f"the {name!r} claim is missing or not a number")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise error(f"the {name!r} claim is out of range") from exc


def _narrow(granted: frozenset[Scope], requested: str | None) -> frozenset[Scope]:
    if not requested:
        return granted
    wanted = set(requested.split())
    unknown = wanted - {s.value for s in Scope}
    if unknown:
        raise InvalidClientAssertion(f"unknown scope(s): {' '.join(sorted(unknown))}")
    narrowed = frozenset(s for s in granted if s.value in wanted)
    if not narrowed:
        raise InvalidClientAssertion("none of the requested scopes may be granted")
    return narrowed


class TokenIssuer:
    """Checks client assertions (RFC 7523 §3) and issues access tokens."""

    def __init__(
        self,
        repository: IdentityRepository,
        *,
        signing_key: SigningKey,
        issuer: str,
        clock: Clock,
    ) -> None:
        self._repo = repository
        self._key = signing_key
        self._kid = ed25519_thumbprint(signing_key.public_key)
        self._issuer = issuer
        self._clock = clock

    def _client_key(self, parsed: ParsedJWT) -> bytes:
        client_id = parsed.claims.get("iss")
        if not isinstance(client_id, str):
            raise InvalidClientAssertion("the assertion has no 'iss' (the client id)")
        kid = parsed.kid
        if kid is None:
            raise InvalidClientAssertion("the assertion header has no 'kid'")
        key = self._repo.get_key(kid)
        now = self._clock.now()
        if key is None or key.owner is not KeyOwner.PERSON or key.owner_id != client_id:
            raise InvalidClientAssertion(f"key {kid} is not registered to client {client_id}")
        if not key.is_active_at(now):
            raise InvalidClientAssertion(f"key {kid} was retired; sign with the current key")
        return key.public_key

    def exchange(
        self,
        *,
        grant_type: str,
        client_assertion_type: str,
        client_assertion: str,
        scope: str | None,
        audiences: Collection[str],
    ) -> AccessToken:
        """Trade a client assertion for an access token.

        ``audiences`` are the names this hub answers to (its issuer URL and its token endpoint
        URL); the assertion's ``aud`` must contain one (RFC 7523 §3 item 3).
        """
        if grant_type != "client_credentials":
            raise InvalidClientAssertion("grant_type must be client_credentials")
        if client_assertion_type != ASSERTION_TYPE:
            raise InvalidClientAssertion(f"client_assertion_type must be {ASSERTION_TYPE}")
        try:
            parsed = verify_jwt(client_assertion, self._client_key)
        except (CryptoError, UnknownKey) as exc:
            if isinstance(exc, InvalidClientAssertion):
                raise
            raise InvalidClientAssertion(f"the assertion is not valid: {exc.message}") from exc
        now = self._clock.now()
        client_id, expires_at = self._check_claims(parsed.claims, audiences, now)
        # (5) jti used once.
        jti = parsed.claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= 128:
            raise InvalidClientAssertion("the assertion needs a 'jti' of 1 to 128 characters")
        if not self._repo.remember_assertion(
            client_id, jti, expires_at=expires_at + MAX_CLOCK_SKEW
        ):
            raise InvalidClientAssertion("this assertion was already used (replayed 'jti')")
        # (6) the person exists, and the scopes are theirs to have.
        person = self._repo.get_person(client_id)
        org = self._repo.get_organisation(person.organisation_id) if person else None
        if person is None or org is None:
            raise InvalidClientAssertion(f"unknown client {client_id}")
        return self._issue(person, _narrow(allowed_scopes(person, org), scope), now)

    @staticmethod
    def _check_claims(
        claims: Mapping[str, Any], audiences: Collection[str], now: datetime
    ) -> tuple[str, datetime]:
        client_id = claims["iss"]
        # (1) iss and sub both name the client (RFC 7523 §3 items 1-2; RFC 7521 §5.2).
        if claims.get("sub") != client_id:
            raise InvalidClientAssertion("'sub' must equal 'iss' (the client id)")
        # (2) aud names this hub.
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(a in audiences for a in auds):
            raise InvalidClientAssertion(
                f"'aud' must name this hub's token endpoint ({min(audiences)})"
            )
        # (3) exp in the future, within the allowed skew; lifetime bounded.
        exp = _numeric_date(claims, "exp", InvalidClientAssertion)
        if exp + MAX_CLOCK_SKEW < now:
            raise InvalidClientAssertion("the assertion has expired")
        if exp - now > MAX_ASSERTION_LIFETIME + MAX_CLOCK_SKEW:
            raise InvalidClientAssertion("the assertion's 'exp' is more than 5 minutes ahead")
        # (4) iat, when given, not in the future beyond the skew.
        if "iat" in claims:
            iat = _numeric_date(claims, "iat", InvalidClientAssertion)
            if iat - MAX_CLOCK_SKEW > now:
                raise InvalidClientAssertion("the assertion's 'iat' is in the future (clock skew)")
        return client_id, exp

    def _issue(self, person: Person, scopes: frozenset[Scope], now: datetime) -> AccessToken:
        expires_at = now + ACCESS_TOKEN_LIFETIME
        claims = {
            "iss": self._issuer,
            "sub": person.id,
            "aud": self._issuer,
            "client_id": person.id,
            "org": person.organisation_id,
            "scope": " ".join(sorted(scopes)),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": secrets.token_urlsafe(16),
        }
        token = encode(claims, self._key, kid=self._kid, typ="at+jwt")
        return AccessToken(token, expires_at, scopes)


# Access tokens whose check is remembered, per verifier (a few hundred bytes each).
_CHECKED_TOKENS = 4096


class TokenVerifier:
    """Verifies the hub's access tokens; no database needed."""

    def __init__(self, public_keys: Mapping[str, bytes], *, issuer: str, clock: Clock) -> None:
        self._keys = dict(public_keys)
        self._issuer = issuer
        self._clock = clock
        # A token's signature and claims check out or not once and for all (for these keys and
        # this issuer): a client sends the same token with every call until it expires, so
        # the result is kept by the token's exact text and only the expiry is checked again.
        # Refused tokens are not kept (lru_cache does not keep exceptions).
        self._checked = functools.lru_cache(maxsize=_CHECKED_TOKENS)(self._check)

    def _key(self, parsed: ParsedJWT) -> bytes:
        key = self._keys.get(parsed.kid or "")
        if key is None:
            raise InvalidAccessToken("the access token was not signed by this hub")
        return key

    def verify(self, token: str) -> Principal:
        principal = self._checked(token)
        if principal.expires_at + MAX_CLOCK_SKEW < self._clock.now():
            raise InvalidAccessToken("the access token has expired")
        return principal

    def _check(self, token: str) -> Principal:
        try:
            parsed = verify_jwt(token, self._key)
        except CryptoError as exc:
            if isinstance(exc, InvalidAccessToken):
                raise
            raise InvalidAccessToken(f"the access token is not valid: {exc.message}") from exc
        if parsed.header.get("typ") != "at+jwt":
            raise InvalidAccessToken("not an access token (typ must be at+jwt)")
        claims = parsed.claims
        if claims.get("iss") != self._issuer:
            raise InvalidAccessToken("the access token was issued by another hub")
        expires_at = _numeric_date(claims, "exp", InvalidAccessToken)
        person, org, scope, jti = (claims.get(k) for k in ("sub", "org", "scope", "jti"))
        if not all(isinstance(v, str) for v in (person, org, scope, jti)):
            raise InvalidAccessToken("the access token lacks sub, org, scope or jti")
        assert isinstance(person, str)
        assert isinstance(org, str)
        assert isinstance(scope, str)
        assert isinstance(jti, str)
        return Principal(person, org, frozenset(scope.split()), jti, expires_at)
