"""Webhooks to participants: the message, its signed wire format, the retry schedule, and the
receiver's check.

**The message.** Every event that concerns an organisation (a consent requested, approved,
paused, revoked or expired; data ready, data accessed) becomes one :class:`Notification` per
subscribed URL. Its id is the delivery id: the hub keeps it across retries, so a receiver can
tell a retry of a delivery it has processed from a new one.

**The wire format.** The hub POSTs the body with three headers::

    POST <subscriber URL>
    Content-Type: application/json
    Bayflow-Delivery: msg_…                  the notification id
    Bayflow-Timestamp: 1795338000            Unix seconds when this attempt was signed
    Bayflow-Signature: eyJ…..MEUC…           detached JWS (RFC 7515 Appendix F)

    {"id":"msg_…","type":"consent.revoked","created_at":"2026-11-22T09:00:00+00:00","data":{…}}

The signature is a detached compact JWS, ``alg`` ``Ed25519``, ``typ`` :data:`WEBHOOK_TYP`, ``kid``
the hub key's RFC 7638 thumbprint, over the bytes ``<id>.<timestamp>.<body>``: the delivery id,
the timestamp header's digits and the body exactly as sent. Binding the id and the time into the
signature is what lets a receiver refuse a replay; the ``typ`` keeps a webhook signature from
passing as anything else the hub key signs. Every attempt is signed afresh with its own
timestamp; the id and the body stay the same. The hub publishes its keys as a JWK Set at
``/webhooks/jwks.json`` (the same set as ``/.well-known/jwks.json``).

**The retry schedule** (:class:`RetryPolicy`). A delivery succeeds on any 2xx answer; anything
else (an error status, a redirect, a refused connection, no answer within 5 s) is retried. The
wait after the n-th failed attempt is ``min(1 s × 2^(n-1), 10 min)`` less a random 0–20 % jitter,
so a crowd of deliveries that failed together does not come back together: ten attempts in the
first 17 minutes, then one about every 10 minutes. A delivery is given up (marked dead) after
150 attempts or when the next one would fall more than 24 hours after the event, whichever comes
first; a receiver that is down for less than a day loses nothing.

**The receiver's check** (:func:`verify_webhook`) raises on a bad signature, a timestamp more
than 5 minutes from its clock, or a delivery id it has seen (a :class:`ReplayCache`).
"""

from __future__ import annotations

import heapq
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jose import (
    ED25519,
    CompactJWS,
    JWKSet,
    PrivateJWK,
    PublicJWK,
    dumps_json,
    loads_json_object,
    sign_detached,
)
from bayflow.errors import InvalidInput
from bayflow.exchange.errors import WebhookRejected, WebhookReplayed, WebhookStale

__all__ = [
    "DEFAULT_TOLERANCE",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_TYP",
    "ClaimedMessage",
    "DeliveryStatus",
    "EventType",
    "InMemoryReplayCache",
    "Notification",
    "OutboxEntry",
    "ReplayCache",
    "RetryPolicy",
    "SignedDelivery",
    "Subscription",
    "check_event_types",
    "check_webhook_url",
    "sign_delivery",
    "verify_webhook",
]

WEBHOOK_TYP: Final = "bayflow-webhook+jws"
DELIVERY_HEADER: Final = "Bayflow-Delivery"
TIMESTAMP_HEADER: Final = "Bayflow-Timestamp"
SIGNATURE_HEADER: Final = "Bayflow-Signature"

DEFAULT_TOLERANCE: Final = timedelta(minutes=5)
"""How far a delivery's timestamp may be from the receiver's clock, either way."""

# Delivery ids carry no dot, so "<id>.<timestamp>.<body>" splits one way only.
_DELIVERY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,11}")
_MAX_URL_LENGTH: Final = 2048


class EventType(StrEnum):
    """What a notification is about; subscribers filter on these names."""

    CONSENT_REQUESTED = "consent.requested"
    CONSENT_ACTIVE = "consent.active"
    CONSENT_REJECTED = "consent.rejected"
    CONSENT_PAUSED = "consent.paused"
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_EXPIRED = "consent.expired"
    DATA_READY = "data.ready"  # to the consumer: a provider's answer is at the hub
    DATA_ACCESSED = "data.accessed"  # to the data owner: data was delivered under its consent


def check_event_types(names: Collection[str]) -> frozenset[EventType]:
    """The event types named, or InvalidInput naming the first unknown one.

    An empty collection means every event type, including ones added later.
    """
    types: set[EventType] = set()
    for name in names:
        try:
            types.add(EventType(name))
        except ValueError:
            known = ", ".join(sorted(EventType))
            raise InvalidInput(f"unknown event type {name!r}; known: {known}") from None
    return frozenset(types)


def check_webhook_url(url: str) -> str:
    """Return ``url`` if the hub can POST to it, else raise InvalidInput.

    Only absolute ``http``/``https`` URLs without credentials or a fragment: a secret in a URL
    would be shown in every listing, and a fragment is never sent.
    """
    if len(url) > _MAX_URL_LENGTH:
        raise InvalidInput(f"a webhook URL has at most {_MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        # Reading the port validates it: urlsplit alone accepts "host:99999".
        if parts.port == 0:
            raise InvalidInput("a webhook URL needs a non-zero port")
    except ValueError as exc:
        raise InvalidInput(f"{url!r} is not a URL: {exc}") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"{url!r} is not an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a webhook URL must not carry credentials")
    if parts.fragment:
        raise InvalidInput("a webhook URL must not have a fragment")
    return url


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one subscriber; ``id`` is also the delivery id, kept across retries.

    ``payload`` is the event's data, as the body's ``data`` member; it must be JSON.
    """

    id: str
    organisation_id: str
    event_type: str
    payload: Mapping[str, Any]
    created_at: datetime

    def body(self) -> bytes:
        """The request body: the same bytes on every attempt."""
        return dumps_json(
            {
                "id": self.id,
                "type": self.event_type,
                "created_at": self.created_at.astimezone(UTC).isoformat(),
                "data": dict(self.payload),
            }
        )


@dataclass(frozen=True, slots=True)
class Subscription:
    """An organisation's URL for notifications.

    An empty ``event_types`` means every type, including types added after it was made; a
    removed subscription stays on record, inactive, with the messages sent to it.
    """

    id: str
    organisation_id: str
    url: str
    event_types: frozenset[str]
    created_at: datetime
    active: bool = True

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.event_types or event_type in self.event_types)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not yet delivered: due, claimed by a worker, or waiting for a retry
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # given up: out of attempts or time, or its subscription was removed


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message in the outbox with where its delivery stands, for its organisation to read.

    ``next_attempt_at`` is None once the message is delivered or dead; while a worker holds
    it, it is the end of the worker's lease. ``last_status`` is None when the last attempt got
    no HTTP answer at all (refused, timed out), and ``last_error`` says why.
    """

    notification: Notification
    subscription_id: str
    url: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None
    last_status: int | None
    last_error: str | None

    @property
    def status(self) -> DeliveryStatus:
        if self.delivered_at is not None:
            return DeliveryStatus.DELIVERED
        if self.dead_at is not None:
            return DeliveryStatus.DEAD
        return DeliveryStatus.PENDING


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message one worker has leased for one attempt; ``attempts`` counts this one.

    ``claim`` is the lease's token: the outcome is recorded only if the lease is still the
    worker's, so a worker that overran its lease cannot overwrite a newer attempt.
    """

    notification: Notification
    url: str
    attempts: int
    claim: str


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    """One attempt's request: the headers to send with the body."""

    headers: dict[str, str]
    body: bytes


def _signed_content(delivery_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{delivery_id}.{timestamp}.".encode("ascii") + body


def sign_delivery(notification: Notification, key: PrivateJWK, *, now: datetime) -> SignedDelivery:
    """Sign one delivery attempt of ``notification`` at ``now`` with the hub's key."""
    if not _DELIVERY_ID.fullmatch(notification.id):
        raise ValueError(f"{notification.id!r} cannot be a delivery id")
    body = notification.body()
    timestamp = str(int(now.timestamp()))
    signature = sign_detached(
        key, _signed_content(notification.id, timestamp, body), typ=WEBHOOK_TYP
    )
    headers = {
        "Content-Type": "application/json",
        DELIVERY_HEADER: notification.id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature,
    }
    return SignedDelivery(headers, body)


# Retries.


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed delivery again, and when to stop.

    The wait after ``attempts`` failures is :meth:`nominal_delay` (exponential from
    ``first_delay``, capped at ``max_delay``) shortened by up to ``jitter`` of itself. Jitter
    only shortens, so no wait exceeds the cap; and since it shortens by at most a fifth while
    each uncapped step doubles, waits still grow from one attempt to the next until the cap.
    """

    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=10)
    jitter: float = 0.2
    give_up_after: timedelta = timedelta(hours=24)
    max_attempts: int = 150

    def __post_init__(self) -> None:
        if not timedelta(0) < self.first_delay <= self.max_delay:
            raise ValueError("need 0 < first_delay <= max_delay")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if self.max_attempts < 1:
            raise ValueError("max_attempts is at least 1")

    def nominal_delay(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed attempts (1 or more), before jitter."""
        if attempts < 1:
            raise ValueError("attempts counts failed attempts, from 1")
        # Doubling past the cap is pointless; stopping early keeps the arithmetic small.
        doublings = 0
        delay = self.first_delay
        while doublings < attempts - 1 and delay < self.max_delay:
            delay *= 2
            doublings += 1
        return min(delay, self.max_delay)

    def delay(self, attempts: int, *, rand: float) -> timedelta:
        """The jittered wait; ``rand`` is uniform in [0, 1) from the caller's generator."""
        if not 0 <= rand < 1:
            raise ValueError("rand is in [0, 1)")
        return self.nominal_delay(attempts) * (1 - self.jitter * rand)

    def next_attempt_at(
        self, *, attempts: int, created_at: datetime, now: datetime, rand: float
    ) -> datetime | None:
        """When to try again after ``attempts`` failures; None means give up."""
        if attempts >= self.max_attempts:
            return None
        at = now + self.delay(attempts, rand=rand)
        if at > created_at + self.give_up_after:
            return None
        return at


# The receiver's side.


class ReplayCache(Protocol):
    """Remembers accepted delivery ids; a shared store (Redis, a table) suits several workers."""

    def remember(self, delivery_id: str, *, now: datetime, keep_until: datetime) -> None:
        """Record ``delivery_id`` until at least ``keep_until``; raise WebhookReplayed if known."""
        ...


@dataclass(slots=True)
class InMemoryReplayCache:
    """A :class:`ReplayCache` for one receiver process, safe across its threads.

    ``retention`` defaults to the hub's 24-hour retry horizon plus a margin: within it, a retry
    of a delivery whose answer was lost is recognised as one already processed. Replay
    protection needs only the time tolerance; the longer memory is for exactly-once processing.
    Entries expire lazily as ``now`` moves past them.
    """

    retention: timedelta = timedelta(hours=25)
    _expiry: dict[str, datetime] = field(default_factory=dict)
    _heap: list[tuple[datetime, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, delivery_id: str, *, now: datetime, keep_until: datetime) -> None:
        with self._lock:
            self._prune(now)
            if delivery_id in self._expiry:
                raise WebhookReplayed(f"delivery {delivery_id} was received before")
            expiry = max(keep_until, now + self.retention)
            self._expiry[delivery_id] = expiry
            heapq.heappush(self._heap, (expiry, delivery_id))

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            expiry, delivery_id = heapq.heappop(self._heap)
            if self._expiry.get(delivery_id) == expiry:
                del self._expiry[delivery_id]


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    values = [value for key, value in headers.items() if key.lower() == wanted]
    if len(values) != 1:
        raise WebhookRejected(f"expected one {name} header, got {len(values)}")
    return values[0].strip()


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    hub_keys: JWKSet | PublicJWK,
    *,
    now: datetime,
    seen: ReplayCache,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Check a delivery as its receiver and return the parsed body.

    ``headers`` are the request's (names compare case-insensitively), ``body`` its exact bytes,
    ``hub_keys`` the hub's JWK Set from ``/webhooks/jwks.json``. Raises WebhookRejected for a
    malformed delivery or a signature that does not hold, WebhookStale for a timestamp more than
    ``tolerance`` from ``now``, and WebhookReplayed for a delivery id ``seen`` holds.

    A receiver that meets WebhookReplayed should still answer 2xx: the delivery is one it has
    accepted before, and a 2xx stops the hub's retries. Any other error deserves a 4xx.
    """
    # 0. Read the three headers strictly.
    # 1. The timestamp is within the tolerance of the receiver's clock.
    # 2. The signature holds under a hub key, with the webhook typ and Ed25519.
    # 3. The body is the JSON object the hub signed, for this delivery id.
    # 4. The delivery id is new; remembered only now, so forgeries cannot fill the cache.

    # (0):
    delivery_id = _header(headers, DELIVERY_HEADER)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise WebhookRejected(f"{DELIVERY_HEADER} is not a delivery id")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookRejected(f"{TIMESTAMP_HEADER} is not Unix seconds")

    # (1):
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    if abs(now - signed_at) > tolerance:
        raise WebhookStale(
            f"delivery {delivery_id} was signed at {signed_at.isoformat()}, more than "
            f"{tolerance} from now ({now.astimezone(UTC).isoformat()})"
        )

    # (2):
    try:
        jws = CompactJWS.parse(
            signature, detached_payload=_signed_content(delivery_id, timestamp, body)
        )
        jws.check_typ(WEBHOOK_TYP)
        key = hub_keys.get(jws.kid) if isinstance(hub_keys, JWKSet) else hub_keys
        jws.verify(key, algorithms={ED25519})
    except CryptoError as exc:
        raise WebhookRejected(f"delivery {delivery_id}: {exc}") from exc

    # (3):
    try:
        message = loads_json_object(body, what="webhook body")
    except CryptoError as exc:  # pragma: no cover - the hub signs only what it serialised
        raise WebhookRejected(f"delivery {delivery_id}: {exc}") from exc
    if message.get("id") != delivery_id:
        raise WebhookRejected(f"the body's id is not the delivery id {delivery_id}")

    # (4):
    seen.remember(delivery_id, now=now, keep_until=signed_at + tolerance)
    return message
