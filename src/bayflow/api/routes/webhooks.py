"""Webhooks over HTTP: an organisation's administrators subscribe URLs and watch deliveries.

Every route but the key set needs ``org:admin``, and acts on the caller's own organisation:
a subscription of another organisation answers 404, as one that does not exist. The hub's key
set (``/webhooks/jwks.json``) is public: receivers fetch it to verify deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep
from bayflow.crypto.jose import JWKSet, PublicJWK
from bayflow.errors import Conflict, NotFound
from bayflow.exchange.notifications import (
    DeliveryStatus,
    EventType,
    OutboxEntry,
    Subscription,
    check_event_types,
    check_webhook_url,
)
from bayflow.identity.auth import Scope
from bayflow.ids import new_id
from bayflow.store.outbox import SqlWebhookRepository

__all__ = ["MAX_SUBSCRIPTIONS", "router"]

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

MAX_SUBSCRIPTIONS: Final = 10
"""Active subscriptions per organisation: each event is sent once to each of them."""


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Where to POST notifications: an absolute http(s) URL")
    events: list[EventType] = Field(
        default_factory=list, description="Event types to send; empty or omitted means all"
    )


class WebhookRead(BaseModel):
    id: str
    organisation_id: str
    url: str
    events: list[str] = Field(description="Event types sent; empty means all")
    created_at: datetime


class DeliveryRead(BaseModel):
    id: str = Field(description="The delivery id, sent as Bayflow-Delivery")
    subscription_id: str
    url: str
    type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None
    last_status: int | None = Field(description="HTTP status of the last attempt, if any")
    last_error: str | None
    data: dict[str, Any]


def _read(subscription: Subscription) -> WebhookRead:
    return WebhookRead(
        id=subscription.id,
        organisation_id=subscription.organisation_id,
        url=subscription.url,
        events=sorted(subscription.event_types),
        created_at=subscription.created_at,
    )


def _delivery(entry: OutboxEntry) -> DeliveryRead:
    notification = entry.notification
    return DeliveryRead(
        id=notification.id,
        subscription_id=entry.subscription_id,
        url=entry.url,
        type=notification.event_type,
        status=entry.status,
        attempts=entry.attempts,
        created_at=notification.created_at,
        next_attempt_at=entry.next_attempt_at,
        delivered_at=entry.delivered_at,
        dead_at=entry.dead_at,
        last_status=entry.last_status,
        last_error=entry.last_error,
        data=dict(notification.payload),
    )


@router.post("", status_code=201, summary="Subscribe a URL to the organisation's notifications")
def subscribe(
    body: WebhookCreate, principal: PrincipalDep, request: Request, session: SessionDep
) -> WebhookRead:
    principal.require(Scope.ORG_ADMIN)
    repository = SqlWebhookRepository(session)
    if len(repository.subscriptions(principal.organisation_id)) >= MAX_SUBSCRIPTIONS:
        raise Conflict(
            f"an organisation has at most {MAX_SUBSCRIPTIONS} webhooks: remove one first"
        )
    subscription = Subscription(
        id=new_id("whk"),
        organisation_id=principal.organisation_id,
        url=check_webhook_url(body.url),
        event_types=frozenset(check_event_types(body.events)),
        created_at=request.app.state.clock.now(),
    )
    repository.add_subscription(subscription)
    return _read(subscription)


@router.get("", summary="The organisation's webhooks")
def list_subscriptions(principal: PrincipalDep, session: SessionDep) -> list[WebhookRead]:
    principal.require(Scope.ORG_ADMIN)
    return [
        _read(s) for s in SqlWebhookRepository(session).subscriptions(principal.organisation_id)
    ]


@router.get("/deliveries", summary="Recent messages to the organisation and how they went")
def list_deliveries(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryRead]:
    principal.require(Scope.ORG_ADMIN)
    entries = SqlWebhookRepository(session).recent(principal.organisation_id, limit=limit)
    return [_delivery(entry) for entry in entries]


@router.get("/jwks.json", summary="The keys that sign webhook deliveries (a JWK Set)")
def webhook_keys(request: Request, response: Response) -> dict[str, Any]:
    signing_key = request.app.state.lazy_hub_keys.keys().signing_key
    response.headers["Cache-Control"] = "public, max-age=300"
    return JWKSet([PublicJWK.from_ed25519(signing_key.public_key)]).to_dict()


@router.delete(
    "/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a webhook; its pending messages are given up",
)
def unsubscribe(
    subscription_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> None:
    principal.require(Scope.ORG_ADMIN)
    removed = SqlWebhookRepository(session).remove_subscription(
        principal.organisation_id, subscription_id, now=request.app.state.clock.now()
    )
    if not removed:
        raise NotFound(f"no webhook {subscription_id}")
