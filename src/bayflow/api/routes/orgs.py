"""Corp ID over HTTP: organisations, people, keys, mandates, did:web documents.

Visibility: an organisation's own members read its records; its administrators change them;
the operator admits organisations and may read every record. Anyone else asking about an
organisation gets the same 404 as for one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep, SettingsDep
from bayflow.api.routes.wallet import wallet_service
from bayflow.crypto.jwt import b64url_decode, b64url_encode
from bayflow.errors import NotFound
from bayflow.identity.auth import Principal, Scope
from bayflow.identity.mandates import Authority, NoAuthority
from bayflow.identity.models import (
    City,
    Jurisdiction,
    KeyOwner,
    Mandate,
    Money,
    Organisation,
    Person,
    PublicKey,
    Role,
)
from bayflow.identity.service import IdentityService, did_for, registry_identifiers
from bayflow.store.identity import SqlIdentityRepository

__all__ = ["router"]

router = APIRouter(tags=["organisations"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentifiersBody(_Strict):
    hk_brn: str | None = Field(default=None, description="HK Business Registration Number")
    cn_uscc: str | None = Field(default=None, description="Unified Social Credit Code")
    mo_registration: str | None = Field(default=None, description="Macao registration number")
    lei: str | None = Field(default=None, description="ISO 17442 Legal Entity Identifier")


class PersonCreate(_Strict):
    name: str
    name_zh: str | None = None
    roles: list[Role] = Field(default_factory=list)
    public_key: str = Field(description="Ed25519 public key, base64url (the JWK 'x')")


class OrganisationCreate(_Strict):
    legal_name_en: str
    legal_name_zh: str | None = None
    jurisdiction: Jurisdiction
    city: str
    identifiers: IdentifiersBody
    administrator: PersonCreate
    organisation_public_key: str = Field(description="Ed25519 public key, base64url")


class OrganisationRead(BaseModel):
    id: str
    legal_name_en: str
    legal_name_zh: str | None
    jurisdiction: Jurisdiction
    city: City
    identifiers: IdentifiersBody
    did: str
    is_operator: bool
    created_at: datetime


class PersonRead(BaseModel):
    id: str
    organisation_id: str
    name: str
    name_zh: str | None
    roles: list[Role]
    created_at: datetime


class KeyRead(BaseModel):
    kid: str
    owner: KeyOwner
    owner_id: str
    algorithm: str
    public_key: str
    created_at: datetime
    retired_at: datetime | None


class RegistrationRead(BaseModel):
    organisation: OrganisationRead
    administrator: PersonRead
    administrator_key: KeyRead
    organisation_key: KeyRead


class RolesUpdate(_Strict):
    roles: list[Role]


class KeyRotate(_Strict):
    owner: KeyOwner
    owner_id: str | None = Field(default=None, description="the person; omit for the organisation")
    public_key: str


class MoneyBody(_Strict):
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: HKD, CNY, MOP…")
    amount: Decimal = Field(gt=0)


class MandateCreate(_Strict):
    description: str
    min_signers: int = Field(ge=1, le=50)
    role: Role | None = None
    persons: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    limit: MoneyBody | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class MandateRead(BaseModel):
    id: str
    organisation_id: str
    description: str
    min_signers: int
    role: Role | None
    persons: list[str]
    actions: list[str]
    limit: MoneyBody | None
    valid_from: datetime
    valid_until: datetime | None


class AuthorityQuery(_Strict):
    signers: list[str] = Field(min_length=1, max_length=50)
    action: str
    amount: MoneyBody | None = None
    at: datetime | None = Field(default=None, description="when; default now")


class AuthorityRead(BaseModel):
    allowed: bool
    mandate: MandateRead | None = None
    signers: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


def _org(org: Organisation, public_url: str) -> OrganisationRead:
    ids = org.identifiers
    return OrganisationRead(
        id=org.id,
        legal_name_en=org.legal_name_en,
        legal_name_zh=org.legal_name_zh,
        jurisdiction=org.jurisdiction,
        city=org.city,
        identifiers=IdentifiersBody(
            hk_brn=ids.hk_brn, cn_uscc=ids.cn_uscc, mo_registration=ids.mo_registration, lei=ids.lei
        ),
        did=did_for(public_url, org.id),
        is_operator=org.is_operator,
        created_at=org.created_at,
    )


def _person(person: Person) -> PersonRead:
    return PersonRead(
        id=person.id,
        organisation_id=person.organisation_id,
        name=person.name,
        name_zh=person.name_zh,
        roles=sorted(person.roles),
        created_at=person.created_at,
    )


def _key(key: PublicKey) -> KeyRead:
    return KeyRead(
        kid=key.kid,
        owner=key.owner,
        owner_id=key.owner_id,
        algorithm=key.algorithm.value,
        public_key=b64url_encode(key.public_key),
        created_at=key.created_at,
        retired_at=key.retired_at,
    )


def _mandate(m: Mandate) -> MandateRead:
    return MandateRead(
        id=m.id,
        organisation_id=m.organisation_id,
        description=m.description,
        min_signers=m.min_signers,
        role=m.role,
        persons=sorted(m.persons),
        actions=sorted(m.actions),
        limit=MoneyBody(currency=m.limit.currency, amount=m.limit.amount) if m.limit else None,
        valid_from=m.valid_from,
        valid_until=m.valid_until,
    )


def _service(request: Request, session: SessionDep) -> IdentityService:
    return IdentityService(SqlIdentityRepository(session), request.app.state.clock)


def _readable(principal: Principal, organisation_id: str) -> None:
    """Members and the operator may read; to anyone else the organisation does not exist."""
    principal.require(Scope.ORG_READ)
    if not principal.is_member_of(organisation_id) and Scope.OPERATOR not in principal.scopes:
        raise NotFound(f"no organisation {organisation_id}")


def _writable(principal: Principal, organisation_id: str) -> None:
    _readable(principal, organisation_id)
    if not principal.is_member_of(organisation_id):
        raise NotFound(f"no organisation {organisation_id}")
    principal.require(Scope.ORG_ADMIN)


@router.post("/orgs", status_code=201, summary="Admit an organisation (operator)")
def register_organisation(
    body: OrganisationCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> RegistrationRead:
    principal.require(Scope.OPERATOR)
    service = _service(request, session)
    registration = service.register_organisation(
        legal_name_en=body.legal_name_en,
        legal_name_zh=body.legal_name_zh,
        jurisdiction=body.jurisdiction,
        city=City.parse(body.city),
        identifiers=registry_identifiers(
            body.jurisdiction,
            hk_brn=body.identifiers.hk_brn,
            cn_uscc=body.identifiers.cn_uscc,
            mo_registration=body.identifiers.mo_registration,
            lei=body.identifiers.lei,
        ),
        administrator_name=body.administrator.name,
        administrator_name_zh=body.administrator.name_zh,
        administrator_public_key=b64url_decode(body.administrator.public_key),
        organisation_public_key=b64url_decode(body.organisation_public_key),
    )
    extra_roles = frozenset(body.administrator.roles) - {Role.ADMINISTRATOR}
    admin = registration.administrator
    if extra_roles:
        admin = service.set_roles(admin.organisation_id, admin.id, admin.roles | extra_roles)
    return RegistrationRead(
        organisation=_org(registration.organisation, settings.effective_public_url),
        administrator=_person(admin),
        administrator_key=_key(registration.administrator_key),
        organisation_key=_key(registration.organisation_key),
    )


@router.get("/orgs", summary="Organisations visible to the caller")
def list_organisations(
    principal: PrincipalDep, request: Request, session: SessionDep, settings: SettingsDep
) -> list[OrganisationRead]:
    principal.require(Scope.ORG_READ)
    service = _service(request, session)
    if Scope.OPERATOR in principal.scopes:
        orgs = service.organisations()
    else:
        orgs = [service.organisation(principal.organisation_id)]
    return [_org(o, settings.effective_public_url) for o in orgs]


@router.get("/directory", summary="Find an organisation by a registry number")
def directory(
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    hk_brn: str | None = None,
    cn_uscc: str | None = None,
    mo_registration: str | None = None,
    lei: str | None = None,
) -> OrganisationRead:
    """Registry facts are public: any participant may look an organisation up by its number."""
    principal.require(Scope.ORG_READ)
    found = None
    for jurisdiction, given in (
        (Jurisdiction.HK, hk_brn),
        (Jurisdiction.CN, cn_uscc),
        (Jurisdiction.MO, mo_registration),
    ):
        if given:
            ids = registry_identifiers(
                jurisdiction,
                hk_brn=hk_brn if jurisdiction is Jurisdiction.HK else None,
                cn_uscc=cn_uscc if jurisdiction is Jurisdiction.CN else None,
                mo_registration=mo_registration if jurisdiction is Jurisdiction.MO else None,
            )
            found = SqlIdentityRepository(session).find_organisation(ids)
    if lei and found is None:
        ids = registry_identifiers(Jurisdiction.HK, lei=lei, required=False)
        found = SqlIdentityRepository(session).find_organisation(ids)
    if found is None:
        raise NotFound("no organisation with that registry number")
    return _org(found, settings.effective_public_url)


@router.get("/orgs/{organisation_id}", summary="One organisation")
def get_organisation(
    organisation_id: str,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> OrganisationRead:
    _readable(principal, organisation_id)
    return _org(
        _service(request, session).organisation(organisation_id), settings.effective_public_url
    )


@router.get(
    "/orgs/{organisation_id}/did.json",
    summary="The organisation's did:web document (public)",
    response_model=None,
)
def did_document(
    organisation_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    return _service(request, session).did_document(organisation_id, settings.effective_public_url)


@router.get("/orgs/{organisation_id}/people", summary="The organisation's people")
def list_people(
    organisation_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> list[PersonRead]:
    _readable(principal, organisation_id)
    return [_person(p) for p in _service(request, session).people(organisation_id)]


@router.post("/orgs/{organisation_id}/people", status_code=201, summary="Add a person")
def add_person(
    organisation_id: str,
    body: PersonCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> PersonRead:
    _writable(principal, organisation_id)
    person, _ = _service(request, session).add_person(
        organisation_id,
        name=body.name,
        name_zh=body.name_zh,
        roles=frozenset(body.roles),
        public_key=b64url_decode(body.public_key),
    )
    return _person(person)


@router.put("/orgs/{organisation_id}/people/{person_id}/roles", summary="Set a person's roles")
def set_roles(
    organisation_id: str,
    person_id: str,
    body: RolesUpdate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> PersonRead:
    _writable(principal, organisation_id)
    person = _service(request, session).set_roles(organisation_id, person_id, frozenset(body.roles))
    # A signatory credential attests a role: once the role is gone, so is the credential.
    wallet_service(request, session).revoke_lapsed_signatories(organisation_id, person_id)
    return _person(person)


@router.get("/orgs/{organisation_id}/keys", summary="Every key, retired ones included")
def list_keys(organisation_id: str, principal: PrincipalDep, session: SessionDep) -> list[KeyRead]:
    _readable(principal, organisation_id)
    repo = SqlIdentityRepository(session)
    return [_key(k) for k in repo.keys_of_organisation(organisation_id)]


@router.post("/orgs/{organisation_id}/keys", status_code=201, summary="Rotate a key")
def rotate_key(
    organisation_id: str,
    body: KeyRotate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> KeyRead:
    """An administrator rotates the organisation's key or anyone's; a person their own."""
    _readable(principal, organisation_id)
    owner_id = organisation_id if body.owner is KeyOwner.ORGANISATION else body.owner_id
    if owner_id is None:
        raise NotFound("name the person whose key rotates (owner_id)")
    if owner_id != principal.person_id:
        _writable(principal, organisation_id)
    key = _service(request, session).rotate_key(
        organisation_id, body.owner, owner_id, b64url_decode(body.public_key)
    )
    return _key(key)


@router.get("/orgs/{organisation_id}/mandates", summary="Signing mandates")
def list_mandates(
    organisation_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> list[MandateRead]:
    _readable(principal, organisation_id)
    return [_mandate(m) for m in _service(request, session).mandates(organisation_id)]


@router.post("/orgs/{organisation_id}/mandates", status_code=201, summary="Add a mandate")
def add_mandate(
    organisation_id: str,
    body: MandateCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> MandateRead:
    _writable(principal, organisation_id)
    mandate = _service(request, session).add_mandate(
        organisation_id,
        description=body.description,
        min_signers=body.min_signers,
        role=body.role,
        persons=body.persons,
        actions=body.actions,
        limit=Money(body.limit.currency, body.limit.amount) if body.limit else None,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    return _mandate(mandate)


@router.post(
    "/orgs/{organisation_id}/authority",
    summary="May these signers bind the organisation for this action?",
)
def check_authority(
    organisation_id: str,
    body: AuthorityQuery,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> AuthorityRead:
    _readable(principal, organisation_id)
    result = _service(request, session).check_authority(
        organisation_id,
        body.signers,
        action=body.action,
        amount=Money(body.amount.currency, body.amount.amount) if body.amount else None,
        now=body.at,
    )
    if isinstance(result, Authority):
        return AuthorityRead(
            allowed=True,
            mandate=_mandate(result.mandate),
            signers=[p.id for p in result.signers],
        )
    assert isinstance(result, NoAuthority)
    return AuthorityRead(allowed=False, reasons=list(result.reasons))
