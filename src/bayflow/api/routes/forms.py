"""Pre-filled forms over HTTP: requests for profile fields and their answers.

A request is visible to the organisation that made it and the organisation it asks; to anyone
else it does not exist (404). Answering takes a mandate covering ``profile:share``; the
approving client makes the presentation itself (see :mod:`bayflow.identity.forms`)::

    POST /forms/requests                      the requester asks
    POST /forms/requests/{id}/credential      the approver gets a credential bound to their key
    POST /forms/requests/{id}/approve         ...and submits the presentation of chosen fields
    POST /forms/requests/{id}/decline
    GET  /forms/requests[?role=requester|subject], GET /forms/requests/{id}
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep, SettingsDep
from bayflow.api.routes.wallet import (
    CredentialWithSDJWT,
    IssuerDep,
    credential_with_sd_jwt,
    wallet_service,
)
from bayflow.identity.auth import Principal, Scope
from bayflow.identity.forms import FormRequest, FormService, FormState
from bayflow.identity.service import IdentityService, did_for
from bayflow.store import Session
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.wallet import SqlFormRepository

__all__ = ["router"]

router = APIRouter(tags=["forms"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FormRequestCreate(_Strict):
    subject_org: str = Field(description="the organisation whose profile is asked for")
    fields: list[str] = Field(min_length=1, max_length=20, examples=[["legal_name", "city"]])
    purpose: str = Field(max_length=500)
    audience: str | None = Field(
        default=None,
        max_length=300,
        description="the presentation's aud; default: the requester's did:web",
    )
    nonce: str | None = Field(
        default=None, max_length=128, description="default: 128 random bits, base64url"
    )


class FormApproval(_Strict):
    fields: list[str] = Field(min_length=1, max_length=20)
    presentation: str = Field(max_length=64 * 1024)


class FormDecline(_Strict):
    reason: str | None = Field(default=None, max_length=500)


class FormRequestRead(BaseModel):
    id: str
    requester_org: str
    requester_person: str
    subject_org: str
    fields: list[str]
    purpose: str
    audience: str
    nonce: str
    state: FormState
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    shared_fields: list[str]
    credential_id: str | None
    presentation: str | None = Field(
        description="the SD-JWT VC presentation of the shared fields, once approved"
    )
    reason: str | None


def _read(request: FormRequest, now: datetime) -> FormRequestRead:
    return FormRequestRead(
        id=request.id,
        requester_org=request.requester_org,
        requester_person=request.requester_person,
        subject_org=request.subject_org,
        fields=list(request.fields),
        purpose=request.purpose,
        audience=request.audience,
        nonce=request.nonce,
        state=request.state_at(now),
        created_at=request.created_at,
        expires_at=request.expires_at,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
        shared_fields=list(request.shared_fields),
        credential_id=request.credential_id,
        presentation=request.presentation,
        reason=request.reason,
    )


def _service(request: Request, session: Session) -> FormService:
    clock = request.app.state.clock
    identity = IdentityService(SqlIdentityRepository(session), clock)
    return FormService(
        SqlFormRepository(session), wallet_service(request, session), identity, clock
    )


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _caller(principal: Principal) -> tuple[str, str]:
    principal.require(Scope.WALLET)
    return principal.organisation_id, principal.person_id


@router.post("/forms/requests", status_code=201, summary="Ask an organisation for profile fields")
def create_request(
    body: FormRequestCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> FormRequestRead:
    org_id, person_id = _caller(principal)
    made = _service(request, session).create(
        requester_org=org_id,
        requester_person=person_id,
        subject_org=body.subject_org,
        fields=body.fields,
        purpose=body.purpose,
        audience=body.audience or did_for(settings.effective_public_url, org_id),
        nonce=body.nonce,
    )
    return _read(made, _now(request))


@router.get("/forms/requests", summary="Requests you made or received, newest first")
def list_requests(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    role: Annotated[Literal["requester", "subject"] | None, Query()] = None,
) -> list[FormRequestRead]:
    org_id, _ = _caller(principal)
    now = _now(request)
    return [_read(r, now) for r in _service(request, session).requests(org_id, role=role)]


@router.get("/forms/requests/{request_id}", summary="One request and its answer")
def get_request(
    request_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> FormRequestRead:
    org_id, _ = _caller(principal)
    return _read(_service(request, session).request(request_id, org_id), _now(request))


@router.post(
    "/forms/requests/{request_id}/credential",
    summary="The credential to present for this request, bound to your key",
)
def prepare(
    request_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
) -> CredentialWithSDJWT:
    org_id, person_id = _caller(principal)
    credential = _service(request, session).prepare(request_id, org_id, person_id)
    return credential_with_sd_jwt(credential, issuer)


@router.post("/forms/requests/{request_id}/approve", summary="Share the chosen fields")
def approve(
    request_id: str,
    body: FormApproval,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> FormRequestRead:
    org_id, person_id = _caller(principal)
    approved = _service(request, session).approve(
        request_id, org_id, person_id, fields=body.fields, presentation=body.presentation
    )
    return _read(approved, _now(request))


@router.post("/forms/requests/{request_id}/decline", summary="Refuse the request")
def decline(
    request_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    body: FormDecline | None = None,
) -> FormRequestRead:
    org_id, person_id = _caller(principal)
    declined = _service(request, session).decline(
        request_id, org_id, person_id, reason=body.reason if body else None
    )
    return _read(declined, _now(request))
