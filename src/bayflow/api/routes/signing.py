"""Digital signing over HTTP: the hub's CA certificate, its RFC 3161 TSA, signing certificates.

- ``GET /ca.pem`` is public: it is the trust root relying parties install to validate PAdES
  signatures made through this hub (``bayflow ca export --url`` fetches it).
- ``POST /tsa`` is public too, as time-stamp authorities are: RFC 3161 §3.4 over HTTP, a DER
  ``TimeStampReq`` sent as ``application/timestamp-query``, a DER ``TimeStampResp`` back as
  ``application/timestamp-reply``. Any RFC 3161 client (pyHanko, Acrobat, ``openssl ts``) can
  use it. A request the TSA refuses still gets a 200 with a ``rejection`` status inside, since
  that is where RFC 3161 clients look for the reason.
- ``POST /orgs/{id}/signing-certificates`` certifies the caller's own P-256 key for one
  signing. Only the organisation's members get one, each for themselves: to anyone else the
  organisation does not exist (404), and asking for a role one does not hold is a 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep
from bayflow.crypto.pki import P256PublicKey, certificates_pem
from bayflow.errors import InvalidInput, NotFound
from bayflow.hub import SigningAuthorities, open_signing_authorities
from bayflow.identity.auth import Scope
from bayflow.identity.models import Role
from bayflow.identity.service import IdentityService
from bayflow.identity.signing import SIGNING_CERTIFICATE_VALIDITY, signer_subject, signing_role
from bayflow.logs import get_logger
from bayflow.store.identity import SqlIdentityRepository

__all__ = ["router"]

router = APIRouter(tags=["signing"])
_log = get_logger("bayflow.api.signing")

TIMESTAMP_QUERY: Final = "application/timestamp-query"
TIMESTAMP_REPLY: Final = "application/timestamp-reply"
# RFC 8555 §9.1: one or more PEM certificates.
PEM_CERTIFICATES: Final = "application/pem-certificate-chain"
# A TimeStampReq is about a hundred bytes; anything near this bound is not one.
_MAX_TIMESTAMP_QUERY: Final = 16 * 1024


class SigningCertificateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key_pem: str | None = Field(
        default=None, description="P-256 public key, PEM SubjectPublicKeyInfo"
    )
    public_key_jwk: dict[str, Any] | None = Field(
        default=None, description="P-256 public key as a JWK (kty EC, crv P-256)"
    )
    role: Role | None = Field(
        default=None, description="the role to sign in; default: the caller's highest"
    )

    @model_validator(mode="after")
    def _one_key(self) -> SigningCertificateCreate:
        if (self.public_key_pem is None) == (self.public_key_jwk is None):
            raise ValueError("give exactly one of public_key_pem or public_key_jwk")
        return self


class SigningCertificateRead(BaseModel):
    certificate_pem: str = Field(description="the signing certificate, then the hub's CA")
    serial: str = Field(description="the certificate's serial number, hexadecimal")
    subject: str = Field(description="the subject name, RFC 4514")
    organisation_id: str
    person_id: str
    role: Role
    not_before: datetime
    not_after: datetime


def _authorities(request: Request) -> SigningAuthorities:
    """The CA and TSA, opened (and on a first start created) on first use by this worker."""
    state = request.app.state
    authorities: SigningAuthorities | None = getattr(state, "signing_authorities", None)
    if authorities is None:
        authorities = open_signing_authorities(state.settings, state.clock.now())
        state.signing_authorities = authorities
    return authorities


@router.get(
    "/ca.pem",
    summary="The hub's organisational CA certificate (public)",
    response_class=Response,
    responses={200: {"content": {PEM_CERTIFICATES: {}}}},
)
def ca_certificate(request: Request) -> Response:
    return Response(_authorities(request).ca.certificate_pem, media_type=PEM_CERTIFICATES)


@router.post(
    "/tsa",
    summary="RFC 3161 time-stamp authority (public)",
    response_class=Response,
    responses={200: {"content": {TIMESTAMP_REPLY: {}}}},
)
async def timestamp(
    request: Request,
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header()] = None,
) -> Response:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != TIMESTAMP_QUERY:
        raise HTTPException(415, f"send a DER TimeStampReq as {TIMESTAMP_QUERY}")
    if content_length is not None and content_length > _MAX_TIMESTAMP_QUERY:
        raise HTTPException(413, "a TimeStampReq is a few hundred bytes at most")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_TIMESTAMP_QUERY:
            raise HTTPException(413, "a TimeStampReq is a few hundred bytes at most")
    authority = _authorities(request).tsa
    reply = authority.respond(body, request.app.state.clock.now())
    return Response(reply, media_type=TIMESTAMP_REPLY)


@router.post(
    "/orgs/{organisation_id}/signing-certificates",
    status_code=201,
    summary="Certify your own P-256 key to sign for your organisation",
)
def issue_signing_certificate(
    organisation_id: str,
    body: SigningCertificateCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> SigningCertificateRead:
    # 0. The caller may read organisations, and is a member of this one.
    # 1. The key is a P-256 public key.
    # 2. The caller holds the role they sign in (their highest unless they chose).
    # 3. The CA certifies the key, naming organisation, person and role.
    # (0):
    principal.require(Scope.ORG_READ)
    if not principal.is_member_of(organisation_id):
        raise NotFound(f"no organisation {organisation_id}")
    # (1):
    if body.public_key_pem is not None:
        public_key = P256PublicKey.from_pem(body.public_key_pem.encode("ascii", "replace"))
    else:
        public_key = P256PublicKey.from_jwk(body.public_key_jwk)
    # (2):
    clock = request.app.state.clock
    service = IdentityService(SqlIdentityRepository(session), clock)
    organisation = service.organisation(organisation_id)
    person = service.person(principal.person_id, organisation_id=organisation_id)
    role = signing_role(person, body.role)
    # (3):
    ca = _authorities(request).ca
    try:
        subject = signer_subject(organisation, person, role)
    except InvalidInput as exc:
        # A legal name longer than X.520 allows, say: the request was fine, the record is not.
        raise InvalidInput(f"cannot certify {person.name} for {organisation.id}: {exc}") from exc
    certificate = ca.certify_signing_key(
        subject, public_key, now=clock.now(), validity=SIGNING_CERTIFICATE_VALIDITY
    )
    serial = format(certificate.serial_number, "x")
    _log.info(
        "issued a signing certificate",
        organisation=organisation.id,
        person=person.id,
        role=role.value,
        serial=serial,
    )
    return SigningCertificateRead(
        certificate_pem=certificates_pem(certificate, ca.certificate).decode("ascii"),
        serial=serial,
        subject=certificate.subject.rfc4514_string(),
        organisation_id=organisation.id,
        person_id=person.id,
        role=role,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )
