"""``POST /exchange/v1/requests``: check, route to the provider, relay only ciphertext.

The hub holds the database transaction only around its own decisions, never across the call
to the provider: (1) authorise and journal the request, (2) call the provider, (3) check the
envelope it returns and record the delivery and its receipt. The payload passes through as
opaque bytes; the hub keeps the SHA-256 of the ciphertext and the provider's signed receipt.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time
from functools import partial
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import in_transaction
from bayflow.api.provider_link import ProviderAnswer, ProviderLinkError
from bayflow.api.routes.consent import consent_service
from bayflow.consent.models import ProductScope
from bayflow.crypto import hpke
from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jose import PublicJWK, b64url_decode
from bayflow.errors import InvalidInput
from bayflow.exchange.envelope import Envelope
from bayflow.exchange.errors import PayloadRejected, ProviderUnavailable
from bayflow.exchange.requests import DataRequest, ExchangeService
from bayflow.exchange.routing import RoutedRequest, sign_routed_request
from bayflow.identity.auth import Principal, Scope
from bayflow.identity.models import KeyOwner
from bayflow.identity.service import IdentityService
from bayflow.store import Session
from bayflow.store.compliance import SqlDecisionRepository
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.outbox import SqlNotifier
from bayflow.store.requests import SqlRequestRepository

__all__ = ["ENVELOPE_MEDIA_TYPE", "router"]

router = APIRouter(prefix="/exchange/v1", tags=["interchange"])

ENVELOPE_MEDIA_TYPE = "application/vnd.bayflow.envelope"


class DataRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consent_id: str
    provider: str
    product: str
    data_from: date | None = Field(default=None, description="First date of data wanted")
    data_to: date | None = Field(default=None, description="Last date of data wanted")
    consumer_key: str = Field(description="The consumer's X25519 public key, base64url")
    consumer_kid: str = Field(description="The consumer's id for that key")


def _exchange(request: Request, session: Session) -> ExchangeService:
    state = request.app.state
    identity = IdentityService(SqlIdentityRepository(session), state.clock)
    return ExchangeService(
        SqlRequestRepository(session),
        SqlProductRepository(session),
        consent_service(request, session),
        identity=identity,
        gate=state.transfer_gate,
        decisions=SqlDecisionRepository(session),
        clock=state.clock,
        anchor=state.event_anchor(session),
        notifier=SqlNotifier(session, state.clock),
    )


def _authorise(
    request: Request,
    principal: Principal,
    body: DataRequestBody,
    consumer_key: hpke.PublicKey,
    session: Session,
) -> tuple[DataRequest, str, str, str]:
    authorised = _exchange(request, session).authorise(
        caller_person=principal.person_id,
        caller_org=principal.organisation_id,
        consent_id=body.consent_id,
        product=ProductScope(body.provider, body.product),
        data_from=_start_of(body.data_from),
        data_to=_start_of(body.data_to),
    )
    owner, data_request = authorised.data_owner, authorised.request
    ids = {k: v for k, v in vars_of(owner.identifiers).items() if v}
    routed = RoutedRequest(
        hub=request.app.state.issuer,
        provider=body.provider,
        request_id=data_request.id,
        consent_id=body.consent_id,
        data_owner=owner.id,
        data_owner_identifiers=ids,
        consumer=principal.organisation_id,
        product=body.product,
        data_from=body.data_from.isoformat() if body.data_from else None,
        data_to=body.data_to.isoformat() if body.data_to else None,
        consumer_key=consumer_key,
        consumer_kid=body.consumer_kid,
        issued_at=request.app.state.clock.now(),
    )
    hub_key = request.app.state.lazy_hub_keys.signing_jwk()
    return (
        data_request,
        owner.id,
        authorised.product.endpoint,
        sign_routed_request(routed, hub_key),
    )


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def vars_of(identifiers: Any) -> dict[str, str | None]:
    return {
        "hk_brn": identifiers.hk_brn,
        "cn_uscc": identifiers.cn_uscc,
        "mo_registration": identifiers.mo_registration,
        "lei": identifiers.lei,
    }


def _settle(
    request: Request,
    data_request: DataRequest,
    data_owner: str,
    envelope: Envelope | None,
    consumer_key: hpke.PublicKey,
    failure: str | None,
    session: Session,
) -> tuple[str, PayloadRejected | None]:
    """Check the envelope and record the delivery, or the failure.

    Returns the receipt, or the refusal to raise once this unit of work has committed: raised
    inside it, the refusal would roll back its own record, and the request would stay routed,
    counted against the consent's limit, with no reason in the journal.
    """
    exchange = _exchange(request, session)
    if envelope is None:
        exchange.failed(data_request, failure or "the provider did not answer")
        return "", None
    identity = IdentityService(SqlIdentityRepository(session), request.app.state.clock)
    # The one key the envelope names, if it is an organisation key of this provider.
    key = identity.key_or_none(envelope.header.provider_kid)
    if (
        key is None
        or key.owner is not KeyOwner.ORGANISATION
        or key.owner_id != data_request.provider
    ):
        exchange.failed(data_request, "the envelope is signed by an unknown key")
        return "", PayloadRejected("the provider signed with a key Corp ID does not know")
    try:
        envelope.check_relay(
            data_request.consent_id,
            data_request.id,
            PublicJWK.from_ed25519(key.public_key),
            consumer_public=consumer_key,
        )
    except CryptoError as exc:
        exchange.failed(data_request, f"envelope refused: {exc.message}")
        return "", PayloadRejected(f"the provider's answer failed the hub's checks: {exc.message}")
    receipt = envelope.receipt()
    exchange.delivered(
        data_request,
        ciphertext_digest=envelope.ciphertext_digest,
        receipt=receipt,
        data_owner=data_owner,
    )
    return receipt, None


class ProviderCaller(Protocol):
    """How the hub posts a routed request to a provider (``app.state.provider_link``)."""

    async def post(
        self, url: str, body: bytes, *, content_type: str = "application/json"
    ) -> ProviderAnswer: ...


async def _call_provider(request: Request, endpoint: str, routed: str) -> Envelope:
    link: ProviderCaller = request.app.state.provider_link
    body = json.dumps({"request": routed}).encode("ascii")
    try:
        answer = await link.post(endpoint, body)
    except ProviderLinkError as exc:
        raise ProviderUnavailable(f"the provider did not answer: {exc}") from exc
    if answer.status != 200:
        raise ProviderUnavailable(f"the provider answered HTTP {answer.status}")
    try:
        return Envelope.from_bytes(answer.body)
    except CryptoError as exc:
        raise PayloadRejected(f"the provider's answer is not an envelope: {exc.message}") from exc


@router.post(
    "/requests",
    summary="Fetch data under a consent: checked, routed, relayed as ciphertext",
    response_class=Response,
    responses={200: {"content": {ENVELOPE_MEDIA_TYPE: {}}, "description": "The sealed payload"}},
)
async def fetch(body: DataRequestBody, principal: PrincipalDep, request: Request) -> Response:
    principal.require(Scope.EXCHANGE)
    try:
        consumer_key = hpke.PublicKey.from_bytes(b64url_decode(body.consumer_key))
    except (CryptoError, ValueError) as exc:
        raise InvalidInput(
            "consumer_key is not an X25519 public key (32 bytes, base64url)"
        ) from exc
    database = request.app.state.database
    data_request, data_owner, endpoint, routed = await in_transaction(
        database, partial(_authorise, request, principal, body, consumer_key)
    )
    try:
        envelope = await _call_provider(request, endpoint, routed)
    except (ProviderUnavailable, PayloadRejected) as exc:
        await in_transaction(
            database,
            partial(_settle, request, data_request, data_owner, None, consumer_key, exc.message),
        )
        raise
    receipt, refused = await in_transaction(
        database, partial(_settle, request, data_request, data_owner, envelope, consumer_key, None)
    )
    if refused is not None:
        raise refused
    return Response(
        content=envelope.to_bytes(),
        media_type=ENVELOPE_MEDIA_TYPE,
        headers={"Bayflow-Request-Id": data_request.id, "Bayflow-Receipt": receipt},
    )


@router.get("/consents/{consent_id}/accesses", summary="Every request made under a consent")
def accesses(consent_id: str, principal: PrincipalDep, request: Request) -> list[dict[str, Any]]:
    principal.require(Scope.EXCHANGE)
    with request.app.state.database.transaction() as session:
        journal = _exchange(request, session).accesses(
            consent_id, viewer_org=principal.organisation_id
        )
        return [
            {
                "id": r.id,
                "consent_id": r.consent_id,
                "consent_version": r.consent_version,
                "consumer": r.consumer,
                "provider": r.provider,
                "product": r.product,
                "status": r.status.value,
                "created_at": r.created_at.isoformat(),
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                "ciphertext_sha256": r.ciphertext_digest.hex() if r.ciphertext_digest else None,
                "receipt": r.receipt,
                "receipt_digest": (
                    hashlib.sha256(r.receipt.encode("ascii")).hexdigest() if r.receipt else None
                ),
                "failure": r.failure,
                "deleted_at": r.deleted_at.isoformat() if r.deleted_at else None,
                "deletion_receipt": r.deletion_receipt,
                "decision_id": r.decision_id,
                "decision_digest": r.decision_digest.hex() if r.decision_digest else None,
                "decision_basis": r.decision_basis,
            }
            for r in journal
        ]


class DeletionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt: str = Field(description="The consumer's signed deletion receipt (compact JWS)")


@router.post(
    "/requests/{request_id}/deletion",
    summary="Record the consumer's signed deletion receipt (end of data life)",
)
def record_deletion(
    request_id: str, body: DeletionBody, principal: PrincipalDep, request: Request
) -> dict[str, Any]:
    principal.require(Scope.EXCHANGE)
    with request.app.state.database.transaction() as session:
        done = _exchange(request, session).record_deletion(
            request_id, body.receipt, caller_org=principal.organisation_id
        )
    return {
        "request": done.id,
        "deleted_at": done.deleted_at.isoformat() if done.deleted_at else None,
        "receipt_digest": hashlib.sha256(body.receipt.encode("ascii")).hexdigest(),
    }
