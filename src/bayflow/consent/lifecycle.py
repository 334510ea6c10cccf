"""A consent's lifecycle: signed events folded into a state, evaluated at ``now``.

::

    requested ──approve──▶ active ──pause──▶ paused
        │                    ▲ └──────────resume─┘
        └──reject──▶ rejected │
                              └─(active or paused)──revoke──▶ revoked
    any live state (requested, active, paused) ──at expires_at──▶ expired

Every transition is an event signed by whoever made it (the consumer's person requests; a
person with a mandate of the data owner approves, rejects, pauses, resumes or revokes; the hub
itself records expiry). Expiry does not wait for anyone to record it: :func:`state_at` reports
``expired`` from the first instant past ``expires_at``, whatever the stored events say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Self

from bayflow.consent.errors import InvalidConsent, TransitionNotAllowed
from bayflow.consent.models import ConsentTerms

__all__ = [
    "EVENT_TYPE",
    "LIVE_STATES",
    "ConsentAction",
    "ConsentEvent",
    "ConsentState",
    "next_state",
    "state_at",
]

EVENT_TYPE: Final = "bayflow-consent-event/1"
HUB_ACTOR: Final = "hub"


class ConsentState(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    REJECTED = "rejected"
    PAUSED = "paused"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ConsentAction(StrEnum):
    REQUEST = "request"
    APPROVE = "approve"
    REJECT = "reject"
    PAUSE = "pause"
    RESUME = "resume"
    REVOKE = "revoke"
    EXPIRE = "expire"

    @property
    def by_owner(self) -> bool:
        """Whether the data owner (a mandate holder) takes this action."""
        return self in _OWNER_ACTIONS


_OWNER_ACTIONS = frozenset(
    {
        ConsentAction.APPROVE,
        ConsentAction.REJECT,
        ConsentAction.PAUSE,
        ConsentAction.RESUME,
        ConsentAction.REVOKE,
    }
)

LIVE_STATES: Final = frozenset({ConsentState.REQUESTED, ConsentState.ACTIVE, ConsentState.PAUSED})

_TRANSITIONS: Final[dict[tuple[ConsentState | None, ConsentAction], ConsentState]] = {
    (None, ConsentAction.REQUEST): ConsentState.REQUESTED,
    (ConsentState.REQUESTED, ConsentAction.APPROVE): ConsentState.ACTIVE,
    (ConsentState.REQUESTED, ConsentAction.REJECT): ConsentState.REJECTED,
    (ConsentState.ACTIVE, ConsentAction.PAUSE): ConsentState.PAUSED,
    (ConsentState.PAUSED, ConsentAction.RESUME): ConsentState.ACTIVE,
    (ConsentState.ACTIVE, ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.PAUSED, ConsentAction.REVOKE): ConsentState.REVOKED,
    (ConsentState.REQUESTED, ConsentAction.EXPIRE): ConsentState.EXPIRED,
    (ConsentState.ACTIVE, ConsentAction.EXPIRE): ConsentState.EXPIRED,
    (ConsentState.PAUSED, ConsentAction.EXPIRE): ConsentState.EXPIRED,
}


def next_state(current: ConsentState | None, action: ConsentAction) -> ConsentState:
    try:
        return _TRANSITIONS[(current, action)]
    except KeyError:
        where = current.value if current else "nothing"
        raise TransitionNotAllowed(f"cannot {action.value} a consent that is {where}") from None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One signed step in a consent's life: the payload of the event JWS.

    ``seq`` orders events of one consent version from 0; ``terms_digest`` binds the event to
    exactly the terms (see :meth:`ConsentTerms.digest`); ``actor`` is a person id, or ``hub``
    for expiry.
    """

    consent_id: str
    version: int
    seq: int
    terms_digest: bytes
    action: ConsentAction
    from_state: ConsentState | None
    to_state: ConsentState
    actor: str
    at: datetime

    def __post_init__(self) -> None:
        if next_state(self.from_state, self.action) is not self.to_state:
            raise InvalidConsent("event's states do not follow its action")
        if len(self.terms_digest) != 32:
            raise InvalidConsent("terms digest is 32 bytes")
        if self.seq < 0:
            raise InvalidConsent("event sequence numbers start at 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": EVENT_TYPE,
            "consent": self.consent_id,
            "version": self.version,
            "seq": self.seq,
            "terms_digest": self.terms_digest.hex(),
            "action": self.action.value,
            "from": self.from_state.value if self.from_state else None,
            "to": self.to_state.value,
            "actor": self.actor,
            "at": _iso(self.at),
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if not isinstance(data, dict) or data.get("type") != EVENT_TYPE:
            raise InvalidConsent(f"not a consent event (expected type {EVENT_TYPE})")
        expected = {"type", "consent", "version", "seq", "terms_digest", "action", "from", "to",
                    "actor", "at"}  # fmt: skip
        if set(data) != expected:
            raise InvalidConsent("consent event members missing or unknown")
        try:
            at = datetime.fromisoformat(data["at"])
            if at.tzinfo is None:
                raise InvalidConsent("event time needs a time zone")
            return cls(
                consent_id=str(data["consent"]),
                version=int(data["version"]),
                seq=int(data["seq"]),
                terms_digest=bytes.fromhex(data["terms_digest"]),
                action=ConsentAction(data["action"]),
                from_state=ConsentState(data["from"]) if data["from"] is not None else None,
                to_state=ConsentState(data["to"]),
                actor=str(data["actor"]),
                at=at.astimezone(UTC),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidConsent(f"consent event is malformed: {exc}") from exc

    def digest_of(self, signed: str) -> bytes:
        """What the ledger anchors for this event: SHA-256 of its compact JWS."""
        del self
        return hashlib.sha256(signed.encode("ascii")).digest()


def recorded_state(events: Sequence[ConsentEvent]) -> ConsentState:
    """The state the events lead to, checking they form one valid chain."""
    if not events:
        raise InvalidConsent("a consent has at least its request event")
    state: ConsentState | None = None
    for seq, event in enumerate(events):
        if event.seq != seq or event.from_state is not state:
            raise InvalidConsent(f"consent event {seq} does not follow the one before")
        state = next_state(state, event.action)
    assert state is not None
    return state


def state_at(terms: ConsentTerms, events: Sequence[ConsentEvent], now: datetime) -> ConsentState:
    """The consent's state at ``now``: live states become ``expired`` at ``expires_at``."""
    state = recorded_state(events)
    if state in LIVE_STATES and now >= terms.expires_at:
        return ConsentState.EXPIRED
    return state
