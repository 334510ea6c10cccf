"""The credential wallet over HTTP, with the issuer's metadata and its status lists.

Visibility: a wallet is its organisation's alone. Members (``wallet`` scope) read it and add
documents; administrators issue and revoke credentials, and a person may ask for their own
authorised-signatory credential. The operator may revoke or suspend any credential. Anyone
else asking for a credential or document gets the same 404 as for one that does not exist.
The issuer metadata and the status lists are public: verifiers need them without an account.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep
from bayflow.errors import InvalidInput, NotFound
from bayflow.identity.auth import Principal, Scope
from bayflow.identity.errors import DocumentTooLarge
from bayflow.identity.issuer import CredentialIssuer, load_credential_issuer
from bayflow.identity.service import IdentityService
from bayflow.identity.status_list import STATUS_LIST_TYP
from bayflow.identity.wallet import (
    MAX_DOCUMENT_BYTES,
    STATUS_LIST_TTL,
    CredentialState,
    CredentialType,
    DocumentKind,
    StoredCredential,
    WalletDocument,
    WalletService,
)
from bayflow.store import Session
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.wallet import SqlWalletRepository

__all__ = [
    "CredentialWithSDJWT",
    "IssuerDep",
    "credential_issuer",
    "credential_with_sd_jwt",
    "router",
    "wallet_service",
]

router = APIRouter(tags=["wallet"])

_STATUS_LIST_MEDIA_TYPE: Final = f"application/{STATUS_LIST_TYP}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CredentialCreate(_Strict):
    type: CredentialType
    person_id: str | None = Field(
        default=None, description="the signatory, for an authorised-signatory credential"
    )
    mandate_id: str | None = Field(
        default=None, description="the mandate to attest; default: the one needing fewest signers"
    )


class StatusReferenceRead(BaseModel):
    uri: str
    idx: int


class CredentialRead(BaseModel):
    id: str
    type: CredentialType
    vct: str
    subject_id: str
    holder_kid: str
    status_list: StatusReferenceRead
    state: CredentialState
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    mandate_id: str | None
    form_request_id: str | None
    state_changed_at: datetime | None
    state_reason: str | None


class CredentialWithSDJWT(CredentialRead):
    sd_jwt: str = Field(description="the issued SD-JWT VC with every disclosure (RFC 9901 §4)")


class StateChange(_Strict):
    reason: str | None = Field(default=None, max_length=300)


class DocumentRead(BaseModel):
    id: str
    kind: DocumentKind
    name: str
    content_type: str
    sha256: str = Field(description="hex SHA-256 of the stored bytes")
    size: int
    issuer: str | None
    reference: str | None
    expires_on: date | None
    uploaded_by: str
    uploaded_at: datetime


class WalletRead(BaseModel):
    organisation_id: str
    credentials: list[CredentialRead]
    documents: list[DocumentRead]


def credential_issuer(request: Request) -> CredentialIssuer:
    """The hub's credential issuer, loaded (and on first use created) once per process."""
    issuer: CredentialIssuer | None = getattr(request.app.state, "credential_issuer", None)
    if issuer is None:
        issuer = load_credential_issuer(request.app.state.settings)
        request.app.state.credential_issuer = issuer
    return issuer


IssuerDep = Annotated[CredentialIssuer, Depends(credential_issuer)]


def wallet_service(request: Request, session: Session) -> WalletService:
    clock = request.app.state.clock
    identity = IdentityService(SqlIdentityRepository(session), clock)
    return WalletService(SqlWalletRepository(session), identity, credential_issuer(request), clock)


def credential_read(credential: StoredCredential, issuer: CredentialIssuer) -> CredentialRead:
    return CredentialRead(
        id=credential.id,
        type=credential.type,
        vct=credential.type.vct,
        subject_id=credential.subject_id,
        holder_kid=credential.holder_kid,
        status_list=StatusReferenceRead(
            uri=issuer.status_list_uri(credential.status_list_id), idx=credential.status_idx
        ),
        state=credential.state,
        issued_at=credential.issued_at,
        expires_at=credential.expires_at,
        issued_by=credential.issued_by,
        mandate_id=credential.mandate_id,
        form_request_id=credential.form_request_id,
        state_changed_at=credential.state_changed_at,
        state_reason=credential.state_reason,
    )


def credential_with_sd_jwt(
    credential: StoredCredential, issuer: CredentialIssuer
) -> CredentialWithSDJWT:
    read = credential_read(credential, issuer)
    return CredentialWithSDJWT(**read.model_dump(), sd_jwt=credential.sd_jwt)


def _document_read(document: WalletDocument) -> DocumentRead:
    return DocumentRead(
        id=document.id,
        kind=document.kind,
        name=document.name,
        content_type=document.content_type,
        sha256=document.sha256.hex(),
        size=document.size,
        issuer=document.issuer,
        reference=document.reference,
        expires_on=document.expires_on,
        uploaded_by=document.uploaded_by,
        uploaded_at=document.uploaded_at,
    )


def _may_issue(principal: Principal, body: CredentialCreate) -> None:
    own_signatory = (
        body.type is CredentialType.AUTHORISED_SIGNATORY and body.person_id == principal.person_id
    )
    if not own_signatory:
        principal.require(Scope.ORG_ADMIN)


# The wallet --------------------------------------------------------------------------------


@router.get("/wallet", summary="Your organisation's credentials and documents")
def get_wallet(
    principal: PrincipalDep, request: Request, session: SessionDep, issuer: IssuerDep
) -> WalletRead:
    principal.require(Scope.WALLET)
    service = wallet_service(request, session)
    org_id = principal.organisation_id
    return WalletRead(
        organisation_id=org_id,
        credentials=[credential_read(c, issuer) for c in service.credentials(org_id)],
        documents=[_document_read(d) for d in service.documents(org_id)],
    )


@router.post("/wallet/credentials", status_code=201, summary="Issue a registry credential")
def issue_credential(
    body: CredentialCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
) -> CredentialWithSDJWT:
    """Business registration: bound to the organisation's key (administrators present it).
    Authorised signatory: bound to the person's own key (they present it)."""
    principal.require(Scope.WALLET)
    _may_issue(principal, body)
    service = wallet_service(request, session)
    org_id = principal.organisation_id
    if body.type is CredentialType.BUSINESS_REGISTRATION:
        if body.person_id is not None or body.mandate_id is not None:
            raise InvalidInput("a business registration credential names no person or mandate")
        issued = service.issue_business_registration(org_id, issued_by=principal.person_id)
    else:
        if body.person_id is None:
            raise InvalidInput("name the signatory (person_id)")
        issued = service.issue_authorised_signatory(
            org_id, body.person_id, issued_by=principal.person_id, mandate_id=body.mandate_id
        )
    return credential_with_sd_jwt(issued, issuer)


@router.get("/wallet/credentials/{credential_id}", summary="One credential, with its SD-JWT")
def get_credential(
    credential_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
) -> CredentialWithSDJWT:
    principal.require(Scope.WALLET)
    found = wallet_service(request, session).credential(principal.organisation_id, credential_id)
    return credential_with_sd_jwt(found, issuer)


def _change_state(
    credential_id: str,
    state: CredentialState,
    body: StateChange | None,
    principal: Principal,
    request: Request,
    session: Session,
    issuer: CredentialIssuer,
) -> CredentialRead:
    principal.require(Scope.WALLET)
    service = wallet_service(request, session)
    # The operator acts on any credential; an organisation's administrators on their own.
    scope_org: str | None = principal.organisation_id
    if Scope.OPERATOR in principal.scopes:
        scope_org = None
    else:
        service.credential(principal.organisation_id, credential_id)  # 404 before 403
        principal.require(Scope.ORG_ADMIN)
    changed = service.set_state(
        scope_org, credential_id, state, reason=body.reason if body else None
    )
    return credential_read(changed, issuer)


@router.post("/wallet/credentials/{credential_id}/revoke", summary="Revoke (final)")
def revoke_credential(
    credential_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
    body: StateChange | None = None,
) -> CredentialRead:
    return _change_state(
        credential_id, CredentialState.REVOKED, body, principal, request, session, issuer
    )


@router.post("/wallet/credentials/{credential_id}/suspend", summary="Suspend until reinstated")
def suspend_credential(
    credential_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
    body: StateChange | None = None,
) -> CredentialRead:
    return _change_state(
        credential_id, CredentialState.SUSPENDED, body, principal, request, session, issuer
    )


@router.post("/wallet/credentials/{credential_id}/reinstate", summary="Lift a suspension")
def reinstate_credential(
    credential_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
    body: StateChange | None = None,
) -> CredentialRead:
    return _change_state(
        credential_id, CredentialState.VALID, body, principal, request, session, issuer
    )


# Documents -----------------------------------------------------------------------------------


async def _document_body(request: Request) -> bytes:
    # The document is the whole request body (its media type in Content-Type), read with a
    # limit: a body that says or turns out to be too large is refused before it is all held.
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(f"a document may be at most {MAX_DOCUMENT_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(f"a document may be at most {MAX_DOCUMENT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


DocumentBodyDep = Annotated[bytes, Depends(_document_body)]


@router.post(
    "/wallet/documents",
    status_code=201,
    summary="Store a licence, permit or certificate (the request body is the file)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def upload_document(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    content: DocumentBodyDep,
    kind: Annotated[DocumentKind, Query()],
    name: Annotated[str, Query(max_length=1000)],
    issuer: Annotated[str | None, Query(max_length=300)] = None,
    reference: Annotated[str | None, Query(max_length=100)] = None,
    expires_on: Annotated[date | None, Query()] = None,
) -> DocumentRead:
    principal.require(Scope.WALLET)
    document = wallet_service(request, session).add_document(
        principal.organisation_id,
        uploaded_by=principal.person_id,
        kind=kind,
        name=name,
        content_type=request.headers.get("content-type") or "application/octet-stream",
        content=content,
        issuer=issuer,
        reference=reference,
        expires_on=expires_on,
    )
    return _document_read(document)


@router.get("/wallet/documents/{document_id}", summary="A document's record")
def get_document(
    document_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> DocumentRead:
    principal.require(Scope.WALLET)
    service = wallet_service(request, session)
    return _document_read(service.document(principal.organisation_id, document_id))


@router.get(
    "/wallet/documents/{document_id}/content",
    summary="A document's bytes",
    response_class=Response,
)
def get_document_content(
    document_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> Response:
    principal.require(Scope.WALLET)
    service = wallet_service(request, session)
    document = service.document(principal.organisation_id, document_id, with_content=True)
    assert document.content is not None
    # Always a download, never rendered by a browser on the hub's origin.
    return Response(
        content=document.content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
            # RFC 9530: the digest of the bytes sent, as a structured-field byte sequence.
            "Repr-Digest": f"sha-256=:{base64.b64encode(document.sha256).decode()}:",
        },
    )


# Public: issuer metadata and status lists -----------------------------------------------------


@router.get(
    "/.well-known/jwt-vc-issuer",
    summary="The credential issuer's metadata and keys (SD-JWT VC §5)",
    tags=["credentials"],
)
def issuer_metadata(issuer: IssuerDep) -> dict[str, Any]:
    return issuer.metadata()


@router.get(
    "/status-lists/{list_id}",
    summary="A Token Status List (statuslist+jwt)",
    tags=["credentials"],
    response_class=Response,
    responses={200: {"content": {_STATUS_LIST_MEDIA_TYPE: {}}}},
)
def status_list(list_id: int, request: Request, session: SessionDep) -> Response:
    if list_id < 1:
        raise NotFound(f"no status list {list_id}")
    token = wallet_service(request, session).status_list_token(list_id)
    return Response(
        content=token,
        media_type=_STATUS_LIST_MEDIA_TYPE,
        headers={"Cache-Control": f"max-age={int(STATUS_LIST_TTL.total_seconds())}"},
    )
