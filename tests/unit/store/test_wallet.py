from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.crypto.ed25519 import SigningKey
from bayflow.identity.forms import FormService, FormState
from bayflow.identity.issuer import CredentialIssuer, load_credential_issuer
from bayflow.identity.models import City, Jurisdiction, RegistryIdentifiers, Role
from bayflow.identity.service import IdentityService
from bayflow.identity.wallet import (
    STATUS_LIST_SIZE,
    CredentialState,
    CredentialType,
    DocumentKind,
    StoredCredential,
    WalletService,
)
from bayflow.store import Database, Session, upgrade
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.wallet import SqlFormRepository, SqlWalletRepository

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def issuer(tmp_path: Path) -> CredentialIssuer:
    return load_credential_issuer(Settings(data_dir=tmp_path, public_url="https://hub.test"))


def _services(
    session: Session, issuer: CredentialIssuer, clock: FixedClock
) -> tuple[IdentityService, WalletService]:
    identity = IdentityService(SqlIdentityRepository(session), clock)
    return identity, WalletService(SqlWalletRepository(session), identity, issuer, clock)


def _register(identity: IdentityService, **identifiers: str) -> tuple[str, str]:
    registration = identity.register_organisation(
        legal_name_en="Qianhai Bayline Logistics Co., Ltd.",
        legal_name_zh="深圳前海湾线物流有限公司",
        jurisdiction=Jurisdiction.CN,
        city=City.SHENZHEN,
        identifiers=RegistryIdentifiers(**identifiers),
        administrator_name="Admin",
        administrator_name_zh=None,
        administrator_public_key=SigningKey.generate().public_key,
        organisation_public_key=SigningKey.generate().public_key,
    )
    return registration.organisation.id, registration.administrator.id


class TestSqlWalletRepository:
    """Credentials, status lists and documents round-trip through SQLite and PostgreSQL."""

    def test_issued_credentials_round_trip_with_their_status_entry(
        self, database: Database, issuer: CredentialIssuer
    ) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            org_id, admin_id = _register(identity, cn_uscc="91440300MA5G7K2P0C")
            issued = wallet.issue_business_registration(org_id, issued_by=admin_id)
        with database.transaction() as session:
            _, wallet = _services(session, issuer, clock)
            (stored,) = wallet.credentials(org_id)
        assert stored == issued
        assert stored.type is CredentialType.BUSINESS_REGISTRATION
        assert stored.issued_at == NOW
        assert 0 <= stored.status_idx < STATUS_LIST_SIZE

    def test_an_entry_already_taken_is_refused(
        self, database: Database, issuer: CredentialIssuer
    ) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            org_id, admin_id = _register(identity, cn_uscc="91440300MA5G7K2P0C")
            first = wallet.issue_business_registration(org_id, issued_by=admin_id)
            repo = SqlWalletRepository(session)
            clash = StoredCredential(**{**_fields(first), "id": "cred_" + "a" * 26})
            assert not repo.add_credential(clash)
            # The refused insert did not spoil the transaction.
            assert len(wallet.credentials(org_id)) == 1

    def test_the_status_list_shows_revoked_and_suspended_entries(
        self, database: Database, issuer: CredentialIssuer
    ) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            org_id, admin_id = _register(identity, cn_uscc="91440300MA5G7K2P0C")
            revoked = wallet.issue_business_registration(org_id, issued_by=admin_id)
            suspended = wallet.issue_business_registration(org_id, issued_by=admin_id)
            kept = wallet.issue_business_registration(org_id, issued_by=admin_id)
            wallet.set_state(org_id, revoked.id, CredentialState.REVOKED, reason="sold")
            wallet.set_state(None, suspended.id, CredentialState.SUSPENDED)
        with database.transaction() as session:
            repo = SqlWalletRepository(session)
            entries = dict(repo.status_entries(kept.status_list_id))
            record = repo.latest_status_list()
            again = repo.get_credential(revoked.id)
        assert entries == {
            revoked.status_idx: CredentialState.REVOKED,
            suspended.status_idx: CredentialState.SUSPENDED,
        }
        assert record is not None
        assert record.used == 3
        assert again is not None
        assert again.state_reason == "sold"
        assert again.state_changed_at == NOW

    def test_documents_keep_their_bytes_and_digest(
        self, database: Database, issuer: CredentialIssuer
    ) -> None:
        clock = FixedClock(NOW)
        content = b"%PDF-1.7 trade licence\x00\xff"
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            org_id, admin_id = _register(identity, cn_uscc="91440300MA5G7K2P0C")
            added = wallet.add_document(
                org_id,
                uploaded_by=admin_id,
                kind=DocumentKind.LICENCE,
                name="licence.pdf",
                content_type="application/pdf",
                content=content,
                issuer="Shenzhen AMR",
                expires_on=date(2027, 12, 31),
            )
        with database.transaction() as session:
            _, wallet = _services(session, issuer, clock)
            (listed,) = wallet.documents(org_id)
            full = wallet.document(org_id, added.id, with_content=True)
        assert listed == added
        assert listed.content is None
        assert full.content == content
        assert full.expires_on == date(2027, 12, 31)


def _fields(credential: StoredCredential) -> dict[str, object]:
    return {name: getattr(credential, name) for name in StoredCredential.__dataclass_fields__}


class TestSqlFormRepository:
    """Form requests round-trip and are listed for the side that asks and the side asked."""

    def test_requests_are_listed_for_both_sides_only(
        self, database: Database, issuer: CredentialIssuer
    ) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            bayline, _ = _register(identity, cn_uscc="91440300MA5G7K2P0C")
            bank, officer = _register(identity, cn_uscc="91440400MA5H3Q8R0D")
            other, _ = _register(identity, lei="5493001KJTIIGC8Y1R12")
            forms = FormService(SqlFormRepository(session), wallet, identity, clock)
            made = forms.create(
                requester_org=bank,
                requester_person=officer,
                subject_org=bayline,
                fields=["legal_name", "city"],
                purpose="loan application",
                audience="https://lionrock.example/loans",
                nonce="nonce-0123456789",
            )
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            forms = FormService(SqlFormRepository(session), wallet, identity, clock)
            assert forms.requests(bank, role="requester") == [made]
            assert forms.requests(bank, role="subject") == []
            assert forms.requests(bayline) == [made]
            assert forms.requests(other) == []
            assert forms.request(made.id, bayline).fields == ("legal_name", "city")

    def test_a_decision_is_stored(self, database: Database, issuer: CredentialIssuer) -> None:
        clock = FixedClock(NOW)
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            bayline, admin = _register(identity, cn_uscc="91440300MA5G7K2P0C")
            bank, officer = _register(identity, cn_uscc="91440400MA5H3Q8R0D")
            identity.set_roles(bayline, admin, frozenset({Role.ADMINISTRATOR, Role.DIRECTOR}))
            identity.add_mandate(
                bayline,
                description="any director shares the profile",
                role=Role.DIRECTOR,
                min_signers=1,
                actions=["profile:share"],
            )
            forms = FormService(SqlFormRepository(session), wallet, identity, clock)
            made = forms.create(
                requester_org=bank,
                requester_person=officer,
                subject_org=bayline,
                fields=["city"],
                purpose="loan application",
                audience="https://lionrock.example/loans",
            )
            clock.advance(timedelta(hours=1))
            forms.decline(made.id, bayline, admin, reason="not now")
        with database.transaction() as session:
            identity, wallet = _services(session, issuer, clock)
            forms = FormService(SqlFormRepository(session), wallet, identity, clock)
            stored = forms.request(made.id, bank)
        assert stored.state is FormState.DECLINED
        assert stored.decided_by == admin
        assert stored.decided_at == NOW + timedelta(hours=1)
        assert stored.reason == "not now"
