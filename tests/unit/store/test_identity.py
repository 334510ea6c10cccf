from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.errors import Conflict, NotFound
from bayflow.identity.models import (
    City,
    Jurisdiction,
    KeyOwner,
    Money,
    RegistryIdentifiers,
    Role,
)
from bayflow.identity.service import IdentityService
from bayflow.store import Database, upgrade
from bayflow.store.identity import SqlIdentityRepository

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


def _pub() -> bytes:
    return SigningKey.generate().public_key


def _register(service: IdentityService, uscc: str = "91440300MA5G7K2P0C") -> str:
    registration = service.register_organisation(
        legal_name_en="Qianhai Bayline Logistics Co., Ltd.",
        legal_name_zh="深圳前海湾线物流有限公司",
        jurisdiction=Jurisdiction.CN,
        city=City.SHENZHEN,
        identifiers=RegistryIdentifiers(cn_uscc=uscc),
        administrator_name="Admin",
        administrator_name_zh=None,
        administrator_public_key=_pub(),
        organisation_public_key=_pub(),
    )
    return registration.organisation.id


class TestSqlIdentityRepository:
    """Corp ID records round-trip through SQLite and PostgreSQL unchanged."""

    def test_several_organisations_are_read_at_once_and_a_missing_one_is_named(
        self, database: Database
    ) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), clock)
            first = _register(service)
            second = _register(service, uscc="91440400MA5H3Q8R0D")
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), clock)
            found = service.organisations_by_id([second, first, second])
            assert set(found) == {first, second}
            assert found[first] == service.organisation(first)
            assert SqlIdentityRepository(session).get_organisations([]) == []
            with pytest.raises(NotFound, match="org_missing"):
                service.organisations_by_id([first, "org_missing"])

    def test_organisation_people_keys_and_mandates_round_trip(self, database: Database) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), clock)
            org_id = _register(service)
            chen, _ = service.add_person(
                org_id,
                name="Chen Wei",
                name_zh="陈伟",
                roles=frozenset({Role.DIRECTOR}),
                public_key=_pub(),
            )
            service.add_mandate(
                org_id,
                description="one director up to RMB 2,000,000",
                role=Role.DIRECTOR,
                min_signers=1,
                limit=Money("CNY", Decimal(2_000_000)),
                valid_until=NOW + timedelta(days=365),
            )
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), clock)
            org = service.organisation(org_id)
            assert org.legal_name_zh == "深圳前海湾线物流有限公司"
            assert org.identifiers.cn_uscc == "91440300MA5G7K2P0C"
            assert org.created_at == NOW
            assert org.created_at.tzinfo is not None
            people = {p.name: p for p in service.people(org_id)}
            assert people["Chen Wei"].roles == frozenset({Role.DIRECTOR})
            assert people["Admin"].roles == frozenset({Role.ADMINISTRATOR})
            (mandate,) = service.mandates(org_id)
            assert mandate.limit == Money("CNY", Decimal("2000000.00"))
            assert mandate.valid_until == NOW + timedelta(days=365)
            assert service.check_authority(org_id, [chen.id], action="consent:approve")

    def test_duplicate_registry_numbers_conflict(self, database: Database) -> None:
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), FixedClock(NOW))
            _register(service)
            with pytest.raises(Conflict):
                _register(service)
            # The failed insert did not spoil the transaction.
            assert len(service.organisations()) == 1

    def test_rotation_retires_the_old_key_and_keeps_it(self, database: Database) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), clock)
            org_id = _register(service)
            (old,) = service.keys_of(org_id)
            clock.advance(timedelta(days=1))
            new = service.rotate_key(org_id, KeyOwner.ORGANISATION, org_id, _pub())
        with database.transaction() as session:
            service = IdentityService(SqlIdentityRepository(session), clock)
            keys = {k.kid: k for k in service.keys_of(org_id)}
            assert keys[old.kid].retired_at == NOW + timedelta(days=1)
            assert keys[new.kid].retired_at is None
            assert [k.kid for k in service.active_keys_of(org_id)] == [new.kid]
            assert keys[old.kid].was_valid_at(NOW)

    def test_assertion_ids_are_accepted_once(self, database: Database) -> None:
        with database.transaction() as session:
            repo = SqlIdentityRepository(session)
            assert repo.remember_assertion("per_a", "jti-1", expires_at=NOW)
            assert not repo.remember_assertion("per_a", "jti-1", expires_at=NOW)
            assert repo.remember_assertion("per_b", "jti-1", expires_at=NOW)
            assert repo.forget_assertions_before(NOW + timedelta(seconds=1)) == 2
            assert repo.remember_assertion("per_a", "jti-1", expires_at=NOW)
