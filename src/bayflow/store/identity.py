"""Corp ID persistence: organisations, people, keys, mandates and assertion replay records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bayflow.errors import Conflict
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
)
from bayflow.store.driver import DriverListStatement, DriverStatement
from bayflow.store.tables import (
    identity_keys,
    mandates,
    oauth_assertions,
    organisations,
    persons,
)

__all__ = ["SqlIdentityRepository"]

# Look-ups every authenticated data request makes, built once so that SQLAlchemy reuses their
# compiled SQL instead of building and hashing a new statement each time.
_ORGANISATION: Final = select(organisations).where(organisations.c.id == bindparam("id"))
_ORGANISATIONS: Final = DriverListStatement(
    lambda ids: select(organisations).where(organisations.c.id.in_(ids))
)
_PERSON: Final = DriverStatement(select(persons).where(persons.c.id == bindparam("id")))
_KEY: Final = DriverStatement(select(identity_keys).where(identity_keys.c.kid == bindparam("kid")))
_KEYS_OF_OWNER: Final = (
    select(identity_keys)
    .where(identity_keys.c.owner_id == bindparam("owner_id"))
    .order_by(identity_keys.c.created_at)
)


def _organisation(row: Row[Any]) -> Organisation:
    return Organisation(
        id=row.id,
        legal_name_en=row.legal_name_en,
        legal_name_zh=row.legal_name_zh,
        jurisdiction=Jurisdiction(row.jurisdiction),
        city=City(row.city),
        identifiers=RegistryIdentifiers(
            hk_brn=row.hk_brn,
            cn_uscc=row.cn_uscc,
            mo_registration=row.mo_registration,
            lei=row.lei,
        ),
        created_at=row.created_at,
        is_operator=row.is_operator,
    )


def _person(row: Row[Any]) -> Person:
    return Person(
        id=row.id,
        organisation_id=row.organisation_id,
        name=row.name,
        name_zh=row.name_zh,
        roles=frozenset(Role(r) for r in row.roles.split()),
        created_at=row.created_at,
    )


def _key(row: Row[Any]) -> PublicKey:
    return PublicKey(
        kid=row.kid,
        owner=KeyOwner(row.owner_kind),
        owner_id=row.owner_id,
        organisation_id=row.organisation_id,
        algorithm=KeyAlgorithm(row.algorithm),
        public_key=bytes(row.public_key),
        created_at=row.created_at,
        retired_at=row.retired_at,
    )


def _mandate(row: Row[Any]) -> Mandate:
    limit = None
    if row.limit_currency is not None:
        limit = Money(row.limit_currency, Decimal(row.limit_amount))
    return Mandate(
        id=row.id,
        organisation_id=row.organisation_id,
        description=row.description,
        role=Role(row.role) if row.role else None,
        persons=frozenset(row.persons.split()),
        actions=frozenset(row.actions.split()),
        min_signers=row.min_signers,
        limit=limit,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


class SqlIdentityRepository:
    """The SQL implementation of ``bayflow.identity.interfaces.IdentityRepository``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # Organisations ------------------------------------------------------------------------

    def add_organisation(self, org: Organisation) -> None:
        ids = org.identifiers
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(organisations).values(
                        id=org.id,
                        legal_name_en=org.legal_name_en,
                        legal_name_zh=org.legal_name_zh,
                        jurisdiction=org.jurisdiction.value,
                        city=org.city.value,
                        hk_brn=ids.hk_brn,
                        cn_uscc=ids.cn_uscc,
                        mo_registration=ids.mo_registration,
                        lei=ids.lei,
                        is_operator=org.is_operator,
                        created_at=org.created_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict("an organisation with one of these registry numbers exists") from exc

    def get_organisation(self, organisation_id: str) -> Organisation | None:
        row = self._session.execute(_ORGANISATION, {"id": organisation_id}).one_or_none()
        return _organisation(row) if row else None

    def get_organisations(self, organisation_ids: Sequence[str]) -> list[Organisation]:
        """Those of ``organisation_ids`` that exist, in no particular order."""
        if not organisation_ids:
            return []
        rows = _ORGANISATIONS.rows(self._session, list(organisation_ids))
        return [_organisation(row) for row in rows]

    def find_organisation(self, identifiers: RegistryIdentifiers) -> Organisation | None:
        """The organisation holding any of these registry numbers."""
        clauses = [
            column == value
            for column, value in (
                (organisations.c.hk_brn, identifiers.hk_brn),
                (organisations.c.cn_uscc, identifiers.cn_uscc),
                (organisations.c.mo_registration, identifiers.mo_registration),
                (organisations.c.lei, identifiers.lei),
            )
            if value is not None
        ]
        if not clauses:
            return None
        row = self._session.execute(select(organisations).where(or_(*clauses))).first()
        return _organisation(row) if row else None

    def list_organisations(self) -> list[Organisation]:
        rows = self._session.execute(
            select(organisations).order_by(organisations.c.created_at, organisations.c.id)
        ).all()
        return [_organisation(r) for r in rows]

    def operator_organisation(self) -> Organisation | None:
        row = self._session.execute(
            select(organisations).where(organisations.c.is_operator.is_(True))
        ).first()
        return _organisation(row) if row else None

    # People -------------------------------------------------------------------------------

    def add_person(self, person: Person) -> None:
        self._session.execute(
            insert(persons).values(
                id=person.id,
                organisation_id=person.organisation_id,
                name=person.name,
                name_zh=person.name_zh,
                roles=" ".join(sorted(r.value for r in person.roles)),
                created_at=person.created_at,
            )
        )

    def get_person(self, person_id: str) -> Person | None:
        row = _PERSON.one_or_none(self._session, {"id": person_id})
        return _person(row) if row else None

    def get_people(self, person_ids: Sequence[str]) -> list[Person]:
        if not person_ids:
            return []
        rows = self._session.execute(select(persons).where(persons.c.id.in_(person_ids))).all()
        return [_person(r) for r in rows]

    def list_people(self, organisation_id: str) -> list[Person]:
        rows = self._session.execute(
            select(persons)
            .where(persons.c.organisation_id == organisation_id)
            .order_by(persons.c.created_at, persons.c.id)
        ).all()
        return [_person(r) for r in rows]

    def set_roles(self, person_id: str, roles: frozenset[Role]) -> None:
        self._session.execute(
            update(persons)
            .where(persons.c.id == person_id)
            .values(roles=" ".join(sorted(r.value for r in roles)))
        )

    # Keys ---------------------------------------------------------------------------------

    def add_key(self, key: PublicKey) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(identity_keys).values(
                        kid=key.kid,
                        owner_kind=key.owner.value,
                        owner_id=key.owner_id,
                        organisation_id=key.organisation_id,
                        algorithm=key.algorithm.value,
                        public_key=key.public_key,
                        created_at=key.created_at,
                        retired_at=key.retired_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict("this public key is already registered") from exc

    def get_key(self, kid: str) -> PublicKey | None:
        row = _KEY.one_or_none(self._session, {"kid": kid})
        return _key(row) if row else None

    def keys_of_owner(self, owner_id: str) -> list[PublicKey]:
        rows = self._session.execute(_KEYS_OF_OWNER, {"owner_id": owner_id}).all()
        return [_key(r) for r in rows]

    def keys_of_organisation(self, organisation_id: str) -> list[PublicKey]:
        rows = self._session.execute(
            select(identity_keys)
            .where(identity_keys.c.organisation_id == organisation_id)
            .order_by(identity_keys.c.created_at, identity_keys.c.kid)
        ).all()
        return [_key(r) for r in rows]

    def retire_keys(self, owner_id: str, *, now: datetime) -> None:
        self._session.execute(
            update(identity_keys)
            .where(identity_keys.c.owner_id == owner_id, identity_keys.c.retired_at.is_(None))
            .values(retired_at=now)
        )

    # Mandates -----------------------------------------------------------------------------

    def add_mandate(self, mandate: Mandate, *, now: datetime) -> None:
        self._session.execute(
            insert(mandates).values(
                id=mandate.id,
                organisation_id=mandate.organisation_id,
                description=mandate.description,
                role=mandate.role.value if mandate.role else None,
                persons=" ".join(sorted(mandate.persons)),
                actions=" ".join(sorted(mandate.actions)),
                min_signers=mandate.min_signers,
                limit_currency=mandate.limit.currency if mandate.limit else None,
                limit_amount=mandate.limit.amount if mandate.limit else None,
                valid_from=mandate.valid_from,
                valid_until=mandate.valid_until,
                created_at=now,
            )
        )

    def list_mandates(self, organisation_id: str) -> list[Mandate]:
        rows = self._session.execute(
            select(mandates)
            .where(mandates.c.organisation_id == organisation_id)
            .order_by(mandates.c.created_at, mandates.c.id)
        ).all()
        return [_mandate(r) for r in rows]

    # Client assertions --------------------------------------------------------------------

    def remember_assertion(self, client_id: str, jti: str, *, expires_at: datetime) -> bool:
        """Record a client assertion's jti; ``False`` if it was seen before (a replay)."""
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(oauth_assertions).values(
                        client_id=client_id, jti=jti, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True

    def forget_assertions_before(self, now: datetime) -> int:
        result = self._session.execute(
            delete(oauth_assertions).where(oauth_assertions.c.expires_at < now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
