"""What the hub sends a provider: a request it has checked, signed so the provider can tell.

A provider answers only requests the hub routed: a short-lived JWT (``typ:
bayflow-routed-request+jwt``) signed with the hub's key, addressed to the provider
(``aud``), naming the consent, the request, the data owner (with its registry numbers, since
that is how a provider files its data), the product and date range, and the consumer's X25519
key to seal the answer to. The provider checks it against the hub's published keys
(``/.well-known/jwks.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bayflow.crypto import hpke
from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jose import (
    CompactJWS,
    JWKSet,
    PrivateJWK,
    b64url_decode,
    b64url_encode,
    sign_jwt,
)
from bayflow.exchange.errors import RoutedRequestInvalid

__all__ = ["ROUTED_TYP", "RoutedRequest", "sign_routed_request", "verify_routed_request"]

ROUTED_TYP: Final = "bayflow-routed-request+jwt"
ROUTED_LIFETIME: Final = timedelta(seconds=60)
_SKEW: Final = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class RoutedRequest:
    hub: str
    provider: str
    request_id: str
    consent_id: str
    data_owner: str
    data_owner_identifiers: dict[str, str]
    consumer: str
    product: str
    data_from: str | None
    data_to: str | None
    consumer_key: hpke.PublicKey
    consumer_kid: str
    issued_at: datetime

    def claims(self) -> dict[str, Any]:
        return {
            "iss": self.hub,
            "aud": self.provider,
            "jti": self.request_id,
            "consent": self.consent_id,
            "owner": self.data_owner,
            "owner_ids": self.data_owner_identifiers,
            "consumer": self.consumer,
            "product": self.product,
            "from": self.data_from,
            "to": self.data_to,
            "consumer_key": b64url_encode(self.consumer_key.to_bytes()),
            "consumer_kid": self.consumer_kid,
            "iat": int(self.issued_at.timestamp()),
            "exp": int((self.issued_at + ROUTED_LIFETIME).timestamp()),
        }


def sign_routed_request(request: RoutedRequest, hub_key: PrivateJWK) -> str:
    return sign_jwt(hub_key, request.claims(), typ=ROUTED_TYP)


def verify_routed_request(
    token: str, hub_keys: JWKSet, *, hub: str, provider: str, now: datetime
) -> RoutedRequest:
    """Check the hub signed it, for this provider, recently; raise ``RoutedRequestInvalid``."""
    try:
        jws = CompactJWS.parse(token)
        jws.check_typ(ROUTED_TYP)
        jws.verify(hub_keys.get(jws.kid))
        claims = jws.claims()
    except CryptoError as exc:
        raise RoutedRequestInvalid(f"not a request routed by the hub: {exc.message}") from exc
    if claims.get("iss") != hub:
        raise RoutedRequestInvalid("the request was routed by another hub")
    if claims.get("aud") != provider:
        raise RoutedRequestInvalid("the request is addressed to another provider")
    try:
        issued = datetime.fromtimestamp(int(claims["iat"]), tz=UTC)
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        if now > expires + _SKEW or issued - _SKEW > now:
            raise RoutedRequestInvalid("the routed request has expired or is from the future")
        owner_ids = claims["owner_ids"]
        if not isinstance(owner_ids, dict):
            raise RoutedRequestInvalid("owner_ids is not an object")
        return RoutedRequest(
            hub=str(claims["iss"]),
            provider=str(claims["aud"]),
            request_id=str(claims["jti"]),
            consent_id=str(claims["consent"]),
            data_owner=str(claims["owner"]),
            data_owner_identifiers={str(k): str(v) for k, v in owner_ids.items()},
            consumer=str(claims["consumer"]),
            product=str(claims["product"]),
            data_from=claims["from"],
            data_to=claims["to"],
            consumer_key=hpke.PublicKey.from_bytes(b64url_decode(str(claims["consumer_key"]))),
            consumer_kid=str(claims["consumer_kid"]),
            issued_at=issued,
        )
    except (KeyError, TypeError, ValueError, CryptoError) as exc:
        raise RoutedRequestInvalid(f"the routed request is malformed: {exc}") from exc
