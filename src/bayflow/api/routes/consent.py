"""Consent over HTTP: request, act, read. Every body is a signed event or canonical terms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep
from bayflow.consent.interfaces import ConsentRecord
from bayflow.consent.models import ConsentTerms
from bayflow.consent.service import ConsentService
from bayflow.identity.auth import Scope
from bayflow.identity.service import IdentityService
from bayflow.store import Session
from bayflow.store.consent import SqlConsentRepository
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.outbox import SqlNotifier

__all__ = ["consent_service", "consent_view", "router"]

router = APIRouter(prefix="/consent/v1", tags=["consent"])


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: dict[str, Any] = Field(description="The consent terms (type bayflow-consent/1)")
    event: str = Field(description="The consumer's signed request event (compact JWS)")


class ConsentEventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: str = Field(description="A data owner's signed event (compact JWS)")
    version: int | None = Field(default=None, description="Default: the latest version")


def consent_service(request: Request, session: Session) -> ConsentService:
    state = request.app.state
    clock = state.clock
    return ConsentService(
        SqlConsentRepository(session),
        IdentityService(SqlIdentityRepository(session), clock),
        SqlProductRepository(session),
        state.event_anchor(session),
        clock,
        hub_key=state.lazy_hub_keys.signing_jwk(),
        notifier=SqlNotifier(session, clock),
    )


def consent_view(service: ConsentService, record: ConsentRecord) -> dict[str, Any]:
    return {
        "id": record.terms.id,
        "version": record.terms.version,
        "state": service.state_of(record).value,
        "terms": record.terms.to_json(),
        "terms_digest": record.terms.digest().hex(),
        "events": [
            {
                **signed.event.to_json(),
                "jws": signed.jws,
                "digest": signed.event.digest_of(signed.jws).hex(),
            }
            for signed in record.events
        ],
    }


@router.post("/consents", status_code=201, summary="Request a consent (the consumer)")
def request_consent(
    body: ConsentRequest, principal: PrincipalDep, request: Request, session: SessionDep
) -> dict[str, Any]:
    principal.require(Scope.CONSENT)
    service = consent_service(request, session)
    record = service.request(
        ConsentTerms.from_json(body.terms),
        body.event,
        caller_person=principal.person_id,
        caller_org=principal.organisation_id,
    )
    return consent_view(service, record)


@router.get("/consents", summary="Every consent the caller's organisation is party to")
def list_consents(
    principal: PrincipalDep, request: Request, session: SessionDep
) -> list[dict[str, Any]]:
    principal.require(Scope.CONSENT)
    service = consent_service(request, session)
    return [consent_view(service, r) for r in service.list_for(principal.organisation_id)]


@router.get("/consents/{consent_id}", summary="One consent version with its signed events")
def get_consent(
    consent_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    version: int | None = None,
) -> dict[str, Any]:
    principal.require(Scope.CONSENT)
    service = consent_service(request, session)
    record = service.get(consent_id, viewer_org=principal.organisation_id, version=version)
    return consent_view(service, record)


@router.post("/consents/{consent_id}/events", summary="Approve, reject, pause, resume or revoke")
def act_on_consent(
    consent_id: str,
    body: ConsentEventBody,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> dict[str, Any]:
    principal.require(Scope.CONSENT)
    service = consent_service(request, session)
    record = service.act(
        consent_id,
        body.event,
        caller_person=principal.person_id,
        caller_org=principal.organisation_id,
        version=body.version,
    )
    return consent_view(service, record)
