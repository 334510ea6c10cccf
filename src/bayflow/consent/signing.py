"""Signed consent events: compact JWS over the event's RFC 8785 JSON.

The JWS header names the signer's key (``kid``, an RFC 7638 thumbprint registered in Corp ID)
and ``typ: consent-event+jwt``. Verification resolves the key, checks it belonged to the
event's actor and was in force when the event says it was made, and only then trusts the
payload.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

import rfc8785

from bayflow.consent.errors import ConsentSignatureInvalid, InvalidConsent
from bayflow.consent.lifecycle import ConsentEvent
from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jose import CompactJWS, PrivateJWK, PublicJWK, loads_json_object, sign_compact

__all__ = ["EVENT_TYP", "KeyLookup", "sign_event", "verify_event"]

EVENT_TYP: Final = "consent-event+jwt"


class KeyLookup:
    """What verification needs to know about a key: its owner and when it was in force."""

    def __init__(
        self, public_key: bytes, owner_id: str, created_at: datetime, retired_at: datetime | None
    ) -> None:
        self.public_key = public_key
        self.owner_id = owner_id
        self.created_at = created_at
        self.retired_at = retired_at

    def in_force_at(self, when: datetime) -> bool:
        return self.created_at <= when and (self.retired_at is None or when < self.retired_at)


def sign_event(event: ConsentEvent, key: PrivateJWK) -> str:
    return sign_compact(key, rfc8785.dumps(event.to_json()), typ=EVENT_TYP)


def verify_event(signed: str, resolve: Callable[[str], KeyLookup | None]) -> ConsentEvent:
    """Verify ``signed`` and return its event; ``resolve`` maps a ``kid`` to its key facts."""
    try:
        jws = CompactJWS.parse(signed)
        jws.check_typ(EVENT_TYP)
    except CryptoError as exc:
        raise InvalidConsent(f"not a signed consent event: {exc.message}") from exc
    if jws.kid is None:
        raise ConsentSignatureInvalid("the event's signature names no key (kid)")
    found = resolve(jws.kid)
    if found is None:
        raise ConsentSignatureInvalid(f"key {jws.kid} is not registered")
    try:
        jws.verify(PublicJWK.from_ed25519(found.public_key))
    except CryptoError as exc:
        raise ConsentSignatureInvalid("the event's signature does not verify") from exc
    try:
        payload = loads_json_object(jws.payload, what="consent event")
    except CryptoError as exc:
        raise InvalidConsent("the signed consent event is not JSON") from exc
    event = ConsentEvent.from_json(payload)
    if found.owner_id != event.actor:
        raise ConsentSignatureInvalid(
            f"the event says {event.actor} acted but key {jws.kid} belongs to {found.owner_id}"
        )
    if not found.in_force_at(event.at):
        raise ConsentSignatureInvalid(f"key {jws.kid} was not in force at {event.at.isoformat()}")
    return event
