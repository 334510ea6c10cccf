"""Corp ID: admitting organisations, their people, keys and mandates.

The service never commits: the caller (an HTTP request, a CLI command) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bayflow.clock import Clock
from bayflow.compliance.identifiers import HKBRN, LEI, USCC, MacaoRegistrationNumber
from bayflow.crypto.ed25519 import PUBLIC_KEY_SIZE
from bayflow.crypto.jwt import ed25519_public_jwk, ed25519_thumbprint
from bayflow.errors import InvalidInput, NotFound
from bayflow.identity.errors import InvalidOrganisation, UnknownKey
from bayflow.identity.interfaces import IdentityRepository
from bayflow.identity.mandates import Authority, NoAuthority, check_action, check_authority
from bayflow.identity.models import (
    City,
    Jurisdiction,
    KeyAlgorithm,
    KeyOwner,
    Mandate,
    Money,
    Organisation,
    Person,
    PublicKey,
    RegistryIdentifiers,
    Role,
    city_belongs_to,
)
from bayflow.ids import new_id

__all__ = ["IdentityService", "Registration", "did_for"]


@dataclass(frozen=True, slots=True)
class Registration:
    organisation: Organisation
    administrator: Person
    administrator_key: PublicKey
    organisation_key: PublicKey


def _clean_name(value: str, what: str, *, required: bool = True) -> str | None:
    text = " ".join(value.split()) if value else ""
    if not text:
        if required:
            raise InvalidOrganisation(f"{what} is empty")
        return None
    if len(text) > 300:
        raise InvalidOrganisation(f"{what} is longer than 300 characters")
    return text


def _check_public_key(public_key: bytes) -> bytes:
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidInput(
            f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes, not {len(public_key)}"
        )
    return public_key


def registry_identifiers(
    jurisdiction: Jurisdiction,
    *,
    hk_brn: str | None = None,
    cn_uscc: str | None = None,
    mo_registration: str | None = None,
    lei: str | None = None,
    required: bool = True,
) -> RegistryIdentifiers:
    """Parse and check the registry numbers an organisation of ``jurisdiction`` gives.

    Each is parsed strictly (a bad one raises ``InvalidIdentifier`` naming the failed check);
    the jurisdiction's own registry number is required, another jurisdiction's is refused.
    """
    own = {
        Jurisdiction.HK: (hk_brn, "HK Business Registration Number (--brn)"),
        Jurisdiction.CN: (cn_uscc, "Unified Social Credit Code (--uscc)"),
        Jurisdiction.MO: (mo_registration, "Macao registration number (--mo-reg)"),
    }
    for other, (value, label) in own.items():
        if other is not jurisdiction and value:
            raise InvalidOrganisation(
                f"a {jurisdiction.value} organisation cannot be identified by a {label}"
            )
    value, label = own[jurisdiction]
    if required and not value:
        raise InvalidOrganisation(f"a {jurisdiction.value} organisation needs its {label}")
    return RegistryIdentifiers(
        hk_brn=HKBRN.parse(hk_brn).value if hk_brn else None,
        cn_uscc=USCC.parse(cn_uscc).value if cn_uscc else None,
        mo_registration=(
            MacaoRegistrationNumber.parse(mo_registration).value if mo_registration else None
        ),
        lei=LEI.parse(lei).value if lei else None,
    )


def did_for(public_url: str, organisation_id: str) -> str:
    """The did:web identifier whose document is served at ``/orgs/{id}/did.json``.

    did:web (W3C CCG) maps ``did:web:host%3Aport:orgs:ID`` to ``https://host:port/orgs/ID/did.json``;
    the port's colon is percent-encoded.
    """
    host = urlsplit(public_url).netloc
    return f"did:web:{quote(host, safe='')}:orgs:{organisation_id}"


class IdentityService:
    def __init__(self, repository: IdentityRepository, clock: Clock) -> None:
        self._repo = repository
        self._clock = clock

    # Organisations ------------------------------------------------------------------------

    def register_organisation(
        self,
        *,
        legal_name_en: str,
        legal_name_zh: str | None,
        jurisdiction: Jurisdiction,
        city: City,
        identifiers: RegistryIdentifiers,
        administrator_name: str,
        administrator_name_zh: str | None,
        administrator_public_key: bytes,
        organisation_public_key: bytes,
        is_operator: bool = False,
    ) -> Registration:
        if not city_belongs_to(city, jurisdiction):
            raise InvalidOrganisation(f"{city.value} is not in jurisdiction {jurisdiction.value}")
        if administrator_public_key == organisation_public_key:
            raise InvalidInput("the administrator and the organisation need different keys")
        if is_operator and self._repo.operator_organisation() is not None:
            raise InvalidOrganisation("the hub already has an operator")
        now = self._clock.now()
        name_en = _clean_name(legal_name_en, "English legal name")
        assert name_en is not None
        org = Organisation(
            id=new_id("org"),
            legal_name_en=name_en,
            legal_name_zh=_clean_name(legal_name_zh or "", "Chinese legal name", required=False),
            jurisdiction=jurisdiction,
            city=city,
            identifiers=identifiers,
            created_at=now,
            is_operator=is_operator,
        )
        self._repo.add_organisation(org)
        org_key = self._add_key(KeyOwner.ORGANISATION, org.id, org.id, organisation_public_key, now)
        admin, admin_key = self.add_person(
            org.id,
            name=administrator_name,
            name_zh=administrator_name_zh,
            roles=frozenset({Role.ADMINISTRATOR}),
            public_key=administrator_public_key,
        )
        return Registration(org, admin, admin_key, org_key)

    def organisation(self, organisation_id: str) -> Organisation:
        org = self._repo.get_organisation(organisation_id)
        if org is None:
            raise NotFound(f"no organisation {organisation_id}")
        return org

    def organisations_by_id(self, organisation_ids: Iterable[str]) -> dict[str, Organisation]:
        """Several organisations at once, by id; NotFound names the first one missing."""
        wanted = list(dict.fromkeys(organisation_ids))
        found = {org.id: org for org in self._repo.get_organisations(wanted)}
        for organisation_id in wanted:
            if organisation_id not in found:
                raise NotFound(f"no organisation {organisation_id}")
        return found

    def organisations(self) -> list[Organisation]:
        return self._repo.list_organisations()

    def operator(self) -> Organisation | None:
        return self._repo.operator_organisation()

    # People -------------------------------------------------------------------------------

    def add_person(
        self,
        organisation_id: str,
        *,
        name: str,
        name_zh: str | None,
        roles: frozenset[Role],
        public_key: bytes,
    ) -> tuple[Person, PublicKey]:
        self.organisation(organisation_id)
        now = self._clock.now()
        clean = _clean_name(name, "name")
        assert clean is not None
        person = Person(
            id=new_id("per"),
            organisation_id=organisation_id,
            name=clean,
            name_zh=_clean_name(name_zh or "", "Chinese name", required=False),
            roles=roles,
            created_at=now,
        )
        self._repo.add_person(person)
        key = self._add_key(KeyOwner.PERSON, person.id, organisation_id, public_key, now)
        return person, key

    def person(self, person_id: str, *, organisation_id: str | None = None) -> Person:
        person = self._repo.get_person(person_id)
        if person is None or (
            organisation_id is not None and person.organisation_id != organisation_id
        ):
            raise NotFound(f"no person {person_id}")
        return person

    def people(self, organisation_id: str) -> list[Person]:
        return self._repo.list_people(organisation_id)

    def set_roles(self, organisation_id: str, person_id: str, roles: frozenset[Role]) -> Person:
        person = self.person(person_id, organisation_id=organisation_id)
        self._repo.set_roles(person.id, roles)
        return self.person(person_id)

    # Keys ---------------------------------------------------------------------------------

    def _add_key(
        self,
        owner: KeyOwner,
        owner_id: str,
        organisation_id: str,
        public_key: bytes,
        now: datetime,
    ) -> PublicKey:
        key = PublicKey(
            kid=ed25519_thumbprint(_check_public_key(public_key)),
            owner=owner,
            owner_id=owner_id,
            organisation_id=organisation_id,
            algorithm=KeyAlgorithm.ED25519,
            public_key=public_key,
            created_at=now,
        )
        self._repo.add_key(key)
        return key

    def rotate_key(
        self, organisation_id: str, owner: KeyOwner, owner_id: str, public_key: bytes
    ) -> PublicKey:
        """Register a new key for an owner and retire its current ones.

        Retired keys stay published, marked retired, so signatures made before the rotation
        still verify.
        """
        if owner is KeyOwner.ORGANISATION:
            if owner_id != organisation_id:
                raise NotFound(f"no organisation {owner_id}")
            self.organisation(organisation_id)
        else:
            self.person(owner_id, organisation_id=organisation_id)
        now = self._clock.now()
        self._repo.retire_keys(owner_id, now=now)
        return self._add_key(owner, owner_id, organisation_id, public_key, now)

    def key(self, kid: str) -> PublicKey:
        key = self._repo.get_key(kid)
        if key is None:
            raise UnknownKey(f"no key {kid}")
        return key

    def key_or_none(self, kid: str) -> PublicKey | None:
        return self._repo.get_key(kid)

    def keys_of(self, owner_id: str) -> list[PublicKey]:
        return self._repo.keys_of_owner(owner_id)

    def active_keys_of(self, owner_id: str) -> list[PublicKey]:
        now = self._clock.now()
        return [k for k in self._repo.keys_of_owner(owner_id) if k.is_active_at(now)]

    # Mandates -----------------------------------------------------------------------------

    def add_mandate(
        self,
        organisation_id: str,
        *,
        description: str,
        min_signers: int,
        role: Role | None = None,
        persons: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: Money | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Mandate:
        self.organisation(organisation_id)
        named = frozenset(persons)
        for person_id in named:
            self.person(person_id, organisation_id=organisation_id)
        now = self._clock.now()
        clean = _clean_name(description, "description")
        assert clean is not None
        mandate = Mandate(
            id=new_id("man"),
            organisation_id=organisation_id,
            description=clean,
            role=role,
            persons=named,
            actions=frozenset(check_action(a) for a in actions),
            min_signers=min_signers,
            limit=limit,
            valid_from=valid_from or now,
            valid_until=valid_until,
        )
        self._repo.add_mandate(mandate, now=now)
        return mandate

    def mandates(self, organisation_id: str) -> list[Mandate]:
        return self._repo.list_mandates(organisation_id)

    def check_authority(
        self,
        organisation_id: str,
        signer_ids: Iterable[str],
        *,
        action: str,
        amount: Money | None = None,
        now: datetime | None = None,
    ) -> Authority | NoAuthority:
        """May these people bind the organisation for ``action``, at ``now`` (default: now)?"""
        self.organisation(organisation_id)
        ids = list(dict.fromkeys(signer_ids))
        found = {p.id: p for p in self._repo.get_people(ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            return NoAuthority(tuple(f"{i} is not a known person" for i in missing))
        return check_authority(
            organisation_id,
            self._repo.list_mandates(organisation_id),
            [found[i] for i in ids],
            action=action,
            amount=amount,
            now=now or self._clock.now(),
        )

    # Publication --------------------------------------------------------------------------

    def did_document(self, organisation_id: str, public_url: str) -> dict[str, Any]:
        """The organisation's did:web document: its keys and its people's keys.

        Every key ever registered is listed under ``verificationMethod`` so that old signatures
        stay checkable; only keys in force appear under ``assertionMethod`` and
        ``authentication``. Retired keys carry the time they were retired.
        """
        org = self.organisation(organisation_id)
        did = did_for(public_url, org.id)
        now = self._clock.now()
        methods: list[dict[str, Any]] = []
        active: list[str] = []
        for key in self._repo.keys_of_organisation(org.id):
            method_id = f"{did}#{key.kid}"
            method: dict[str, Any] = {
                "id": method_id,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": {**ed25519_public_jwk(key.public_key), "kid": key.kid},
                "bayflow:owner": key.owner_id,
                "bayflow:created": key.created_at.isoformat(),
            }
            if key.retired_at is not None:
                method["bayflow:retired"] = key.retired_at.isoformat()
            methods.append(method)
            if key.is_active_at(now):
                active.append(method_id)
        return {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/suites/jws-2020/v1",
            ],
            "id": did,
            "alsoKnownAs": [f"urn:bayflow:org:{org.id}"],
            "verificationMethod": methods,
            "assertionMethod": active,
            "authentication": active,
        }
