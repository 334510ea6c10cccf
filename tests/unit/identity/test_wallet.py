from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.jose import CompactJWS, PrivateJWK
from bayflow.errors import Conflict, InvalidInput, NotFound
from bayflow.identity.credentials import VerifiedCredential, present, verify_presentation
from bayflow.identity.errors import CredentialRevoked, CredentialSuspended, DocumentTooLarge
from bayflow.identity.issuer import CredentialIssuer, load_credential_issuer
from bayflow.identity.models import (
    City,
    Jurisdiction,
    KeyOwner,
    Money,
    RegistryIdentifiers,
    Role,
)
from bayflow.identity.service import IdentityService
from bayflow.identity.status_list import StatusListChecker, StatusReference
from bayflow.identity.wallet import (
    CREDENTIAL_LIFETIME,
    CredentialState,
    DocumentKind,
    WalletDocument,
    WalletService,
)
from bayflow.store import Database, upgrade
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.wallet import SqlWalletRepository

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BANK = "https://lionrock.example/loans"
NONCE = "nonce-0123456789"


class World:
    """A wallet service over a fresh SQLite database, inside one open transaction."""

    def __init__(self, database: Database, issuer: CredentialIssuer) -> None:
        self.clock = FixedClock(NOW)
        self._context = database.transaction()
        session = self._context.__enter__()
        self.identity = IdentityService(SqlIdentityRepository(session), self.clock)
        self.wallet = WalletService(SqlWalletRepository(session), self.identity, issuer, self.clock)
        self.org_key, self.chen_key = SigningKey.generate(), SigningKey.generate()
        registration = self.identity.register_organisation(
            legal_name_en="Qianhai Bayline Logistics Co., Ltd.",
            legal_name_zh=None,
            jurisdiction=Jurisdiction.CN,
            city=City.SHENZHEN,
            identifiers=RegistryIdentifiers(
                cn_uscc="91440300MA5G7K2P0C", lei="5493001KJTIIGC8Y1R12"
            ),
            administrator_name="Admin",
            administrator_name_zh=None,
            administrator_public_key=SigningKey.generate().public_key,
            organisation_public_key=self.org_key.public_key,
        )
        self.org = registration.organisation.id
        self.admin = registration.administrator.id
        self.chen, _ = self.identity.add_person(
            self.org,
            name="Chen Wei",
            name_zh="陈伟",
            roles=frozenset({Role.DIRECTOR}),
            public_key=self.chen_key.public_key,
        )

    def close(self) -> None:
        self._context.__exit__(None, None, None)


@pytest.fixture
def issuer(tmp_path: Path) -> CredentialIssuer:
    return load_credential_issuer(Settings(data_dir=tmp_path, public_url="https://hub.test"))


@pytest.fixture
def world(sqlite_url: str, issuer: CredentialIssuer) -> Iterator[World]:
    database = Database(sqlite_url)
    upgrade(database)
    world = World(database, issuer)
    yield world
    world.close()
    database.dispose()


def _payload(sd_jwt: str) -> dict[str, object]:
    return CompactJWS.parse(sd_jwt.split("~", 1)[0]).claims()


def _verify(
    world: World,
    sd_jwt: str,
    key: SigningKey,
    disclose: list[str],
    status_checker: StatusListChecker | None = None,
) -> VerifiedCredential:
    presentation = present(
        sd_jwt, disclose, PrivateJWK.from_signing_key(key), audience=BANK, nonce=NONCE, now=NOW
    )
    return verify_presentation(
        presentation,
        world.wallet.issuer.trusted,
        audience=BANK,
        nonce=NONCE,
        now=NOW,
        status_checker=status_checker,
    )


class TestBusinessRegistration:
    """The credential states the organisation record, bound to the organisation's key."""

    def test_states_the_registry_record_and_omits_a_missing_chinese_name(
        self, world: World
    ) -> None:
        issued = world.wallet.issue_business_registration(world.org, issued_by=world.admin)
        verified = _verify(
            world, issued.sd_jwt, world.org_key, ["legal_name", "registry_identifiers", "lei"]
        )
        assert verified.claims == {
            "legal_name": {"en": "Qianhai Bayline Logistics Co., Ltd."},
            "registry_identifiers": {"cn_uscc": "91440300MA5G7K2P0C"},
            "lei": "5493001KJTIIGC8Y1R12",
        }
        assert verified.subject == f"did:web:hub.test:orgs:{world.org}"
        assert issued.expires_at == NOW + CREDENTIAL_LIFETIME

    def test_follows_a_rotated_organisation_key(self, world: World) -> None:
        world.clock.advance(timedelta(minutes=1))
        new_key = SigningKey.generate()
        world.identity.rotate_key(world.org, KeyOwner.ORGANISATION, world.org, new_key.public_key)
        issued = world.wallet.issue_business_registration(world.org, issued_by=world.admin)
        assert _payload(issued.sd_jwt)["cnf"] == {
            "jwk": PrivateJWK.from_signing_key(new_key).public.to_dict(include_kid=False)
        }

    def test_is_not_issued_to_an_organisation_without_a_registry_number(self, world: World) -> None:
        operator = world.identity.register_organisation(
            legal_name_en="Hub operator",
            legal_name_zh=None,
            jurisdiction=Jurisdiction.HK,
            city=City.HONG_KONG,
            identifiers=RegistryIdentifiers(),
            administrator_name="Operator",
            administrator_name_zh=None,
            administrator_public_key=SigningKey.generate().public_key,
            organisation_public_key=SigningKey.generate().public_key,
            is_operator=True,
        )
        with pytest.raises(Conflict, match="no registry number"):
            world.wallet.issue_business_registration(
                operator.organisation.id, issued_by=operator.administrator.id
            )


class TestAuthorisedSignatory:
    """A signatory credential rests on a mandate in force that covers the person."""

    def test_attests_the_mandate_and_ends_with_it(self, world: World) -> None:
        mandate = world.identity.add_mandate(
            world.org,
            description="any two directors up to CNY 5,000,000",
            role=Role.DIRECTOR,
            min_signers=2,
            limit=Money("CNY", Decimal(5_000_000)),
            valid_until=NOW + timedelta(days=90),
        )
        issued = world.wallet.issue_authorised_signatory(
            world.org, world.chen.id, issued_by=world.admin
        )
        assert issued.mandate_id == mandate.id
        assert issued.expires_at == NOW + timedelta(days=90)
        verified = _verify(world, issued.sd_jwt, world.chen_key, ["role", "mandate"])
        assert verified.claims["role"] == "director"
        assert verified.claims["mandate"] == {
            "summary": "any two directors up to CNY 5,000,000 (signs with 1 other signer(s))",
            "limit": {"amount": "5000000.00", "currency": "CNY"},
            "valid_from": "2026-11-22",
            "valid_until": "2027-02-20",
        }

    def test_a_mandate_naming_the_person_suffices(self, world: World) -> None:
        world.identity.add_mandate(
            world.org, description="Chen Wei alone", persons=[world.chen.id], min_signers=1
        )
        issued = world.wallet.issue_authorised_signatory(
            world.org, world.chen.id, issued_by=world.admin
        )
        verified = _verify(world, issued.sd_jwt, world.chen_key, ["role"])
        assert verified.claims["role"] == "director"

    def test_refuses_a_mandate_that_does_not_cover_the_person(self, world: World) -> None:
        secretary = world.identity.add_mandate(
            world.org, description="the secretary", role=Role.COMPANY_SECRETARY, min_signers=1
        )
        with pytest.raises(Conflict, match="does not cover Chen Wei"):
            world.wallet.issue_authorised_signatory(
                world.org, world.chen.id, issued_by=world.admin, mandate_id=secretary.id
            )
        with pytest.raises(Conflict, match="no signing mandate in force"):
            world.wallet.issue_authorised_signatory(world.org, world.chen.id, issued_by=world.admin)

    def test_is_revoked_when_the_role_it_rests_on_goes(self, world: World) -> None:
        world.identity.add_mandate(
            world.org, description="one director", role=Role.DIRECTOR, min_signers=1
        )
        issued = world.wallet.issue_authorised_signatory(
            world.org, world.chen.id, issued_by=world.admin
        )
        assert world.wallet.revoke_lapsed_signatories(world.org, world.chen.id) == []
        world.identity.set_roles(world.org, world.chen.id, frozenset({Role.DELEGATE}))
        assert world.wallet.revoke_lapsed_signatories(world.org, world.chen.id) == [issued.id]
        assert world.wallet.credential(world.org, issued.id).state is CredentialState.REVOKED


class TestStatus:
    """Each credential has its own random entry; the served list reflects every change."""

    def _checker(self, world: World, list_id: int) -> StatusListChecker:
        token = world.wallet.status_list_token(list_id)
        return StatusListChecker(lambda _uri: token, world.wallet.issuer.trusted)

    def test_revocation_and_suspension_reach_the_status_list(self, world: World) -> None:
        kept = world.wallet.issue_business_registration(world.org, issued_by=world.admin)
        gone = world.wallet.issue_business_registration(world.org, issued_by=world.admin)
        world.wallet.set_state(world.org, gone.id, CredentialState.SUSPENDED)
        checker = self._checker(world, gone.status_list_id)
        uri = world.wallet.issuer.status_list_uri(gone.status_list_id)
        issuer = world.wallet.issuer.issuer
        checker(StatusReference(uri, kept.status_idx), issuer=issuer, now=NOW)
        with pytest.raises(CredentialSuspended):
            checker(StatusReference(uri, gone.status_idx), issuer=issuer, now=NOW)
        world.wallet.set_state(world.org, gone.id, CredentialState.REVOKED, reason="wound up")
        with pytest.raises(CredentialRevoked):
            _verify(
                world,
                gone.sd_jwt,
                world.org_key,
                ["city"],
                status_checker=self._checker(world, gone.status_list_id),
            )

    def test_revocation_is_final_and_repeating_a_state_changes_nothing(self, world: World) -> None:
        issued = world.wallet.issue_business_registration(world.org, issued_by=world.admin)
        world.wallet.set_state(world.org, issued.id, CredentialState.REVOKED)
        again = world.wallet.set_state(world.org, issued.id, CredentialState.REVOKED)
        assert again.state is CredentialState.REVOKED
        with pytest.raises(Conflict, match="revoked credential cannot become valid"):
            world.wallet.set_state(world.org, issued.id, CredentialState.VALID)

    def test_another_organisation_cannot_change_a_credential(self, world: World) -> None:
        issued = world.wallet.issue_business_registration(world.org, issued_by=world.admin)
        with pytest.raises(NotFound):
            world.wallet.set_state("org_" + "b" * 26, issued.id, CredentialState.REVOKED)

    def test_a_half_full_list_gives_way_to_a_new_one(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("bayflow.identity.wallet.STATUS_LIST_SIZE", 8)
        issued = [
            world.wallet.issue_business_registration(world.org, issued_by=world.admin)
            for _ in range(6)
        ]
        assert [c.status_list_id for c in issued] == [1, 1, 1, 1, 2, 2]
        first_list = [c.status_idx for c in issued[:4]]
        assert len(set(first_list)) == 4
        assert all(0 <= idx < 8 for idx in first_list)


class TestDocuments:
    """Documents are checked for size, name and media type, and kept with their digest."""

    def _add(self, world: World, **overrides: object) -> WalletDocument:
        arguments: dict[str, object] = {
            "uploaded_by": world.admin,
            "kind": DocumentKind.PERMIT,
            "name": "permit.pdf",
            "content_type": "application/pdf",
            "content": b"%PDF-1.7",
            **overrides,
        }
        return world.wallet.add_document(world.org, **arguments)  # type: ignore[arg-type]

    def test_keeps_the_last_path_component_and_the_bare_media_type(self, world: World) -> None:
        document = self._add(
            world, name="C:\\scans\\permit 2026.pdf", content_type="Application/PDF; q=1"
        )
        assert document.name == "permit 2026.pdf"
        assert document.content_type == "application/pdf"
        assert len(document.sha256) == 32

    @pytest.mark.parametrize(
        "overrides",
        [
            {"content": b""},
            {"name": "../"},
            {"name": "bad\x07name.pdf"},
            {"content_type": "pdf"},
            {"issuer": "x" * 301},
        ],
    )
    def test_refuses_what_it_cannot_store_faithfully(
        self, world: World, overrides: dict[str, object]
    ) -> None:
        with pytest.raises(InvalidInput):
            self._add(world, **overrides)

    def test_refuses_a_document_over_the_limit(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("bayflow.identity.wallet.MAX_DOCUMENT_BYTES", 4)
        with pytest.raises(DocumentTooLarge):
            self._add(world, content=b"12345")
