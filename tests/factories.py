"""The reference scenario (../shared/SCENARIO.md) as test data.

Builds the five organisations, their people, keys and mandates directly through the services,
so tests of later capabilities start from the same story the demo tells.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from bayflow.clock import Clock
from bayflow.consent.lifecycle import ConsentAction, ConsentEvent, ConsentState, next_state
from bayflow.consent.models import ConsentTerms, FetchType, Frequency, FrequencyUnit, ProductScope
from bayflow.consent.signing import sign_event
from bayflow.crypto.jose import PrivateJWK
from bayflow.exchange.models import DataProduct
from bayflow.identity.keyfile import KeyFile, KeyPair
from bayflow.identity.models import City, Jurisdiction, Money, RegistryIdentifiers, Role
from bayflow.identity.service import IdentityService
from bayflow.ids import new_id
from bayflow.store import Database, Session
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.hub import HubMetadataRepository
from bayflow.store.identity import SqlIdentityRepository

HUB = "http://hub.test"

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {"invoices": {"type": "array"}},
    "required": ["invoices"],
}


@dataclass
class Party:
    organisation: str
    admin: KeyFile


@dataclass
class Scenario:
    bayline: Party
    lion_rock: Party
    pearl_river: Party
    victoria: Party
    chen_wei: KeyFile
    li_na: KeyFile
    wong: KeyFile

    @property
    def einvoices(self) -> ProductScope:
        return ProductScope(self.pearl_river.organisation, "vat-einvoices")

    @property
    def electricity(self) -> ProductScope:
        return ProductScope(self.victoria.organisation, "electricity-bills")


def _register(
    service: IdentityService,
    name: str,
    name_zh: str,
    jurisdiction: Jurisdiction,
    city: City,
    ids: RegistryIdentifiers,
) -> Party:
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    reg = service.register_organisation(
        legal_name_en=name,
        legal_name_zh=name_zh,
        jurisdiction=jurisdiction,
        city=city,
        identifiers=ids,
        administrator_name=f"{name} administrator",
        administrator_name_zh=None,
        administrator_public_key=admin.public_key,
        organisation_public_key=org_key.public_key,
    )
    key_file = KeyFile(HUB, reg.organisation.id, reg.administrator.id, admin, org_key)
    return Party(reg.organisation.id, key_file)


def _person(service: IdentityService, party: Party, name: str, *roles: Role) -> KeyFile:
    pair = KeyPair.generate()
    person, _ = service.add_person(
        party.organisation,
        name=name,
        name_zh=None,
        roles=frozenset(roles),
        public_key=pair.public_key,
    )
    return KeyFile(HUB, party.organisation, person.id, pair)


def build_scenario(session: Session, clock: Clock) -> Scenario:
    identity = IdentityService(SqlIdentityRepository(session), clock)
    bayline = _register(
        identity, "Qianhai Bayline Logistics Co., Ltd.", "深圳前海湾线物流有限公司",
        Jurisdiction.CN, City.SHENZHEN, RegistryIdentifiers(cn_uscc="91440300MA5G7K2P0C"),
    )  # fmt: skip
    lion_rock = _register(
        identity, "Lion Rock Bank Limited", "獅子山銀行有限公司",
        Jurisdiction.HK, City.HONG_KONG, RegistryIdentifiers(hk_brn="12345678"),
    )  # fmt: skip
    pearl_river = _register(
        identity, "Pearl River e-Invoice Services Co., Ltd.", "珠江电子发票服务有限公司",
        Jurisdiction.CN, City.ZHUHAI, RegistryIdentifiers(cn_uscc="91440400MA5H3Q8R0D"),
    )  # fmt: skip
    victoria = _register(
        identity, "Victoria Harbour Utilities Limited", "維港公用事業有限公司",
        Jurisdiction.HK, City.HONG_KONG, RegistryIdentifiers(hk_brn="87654321"),
    )  # fmt: skip
    chen = _person(identity, bayline, "Chen Wei", Role.DIRECTOR)
    li = _person(identity, bayline, "Li Na", Role.DELEGATE)
    wong = _person(identity, lion_rock, "Wong Ka Ming")
    identity.add_mandate(
        bayline.organisation,
        description="one director alone up to RMB 2,000,000",
        role=Role.DIRECTOR,
        min_signers=1,
        limit=Money("CNY", Decimal(2_000_000)),
        valid_from=clock.now() - timedelta(days=1),
    )
    products = SqlProductRepository(session)
    for provider, product_id, title, title_zh, held_in, city in (
        (
            pearl_river,
            "vat-einvoices",
            "VAT e-invoices",
            "增值税电子发票",
            Jurisdiction.CN,
            City.ZHUHAI,
        ),
        (
            victoria,
            "electricity-bills",
            "Electricity bills",
            "電費單",
            Jurisdiction.HK,
            City.HONG_KONG,
        ),
    ):
        products.add(
            DataProduct(
                provider=provider.organisation,
                id=product_id,
                title_en=title,
                title_zh=title_zh,
                json_schema=INVOICE_SCHEMA,
                personal_information=product_id == "vat-einvoices",
                held_in=held_in,
                held_in_city=city,
                endpoint=f"http://{product_id}.test/deliver",
                created_at=clock.now(),
            )
        )
    return Scenario(bayline, lion_rock, pearl_river, victoria, chen, li, wong)


def loan_terms(s: Scenario, now: datetime, **changes: object) -> ConsentTerms:
    """Step 2 of the story: the bank's consent request for the loan."""
    fields: dict[str, object] = {
        "id": new_id("con"),
        "version": 1,
        "data_owner": s.bayline.organisation,
        "consumer": s.lion_rock.organisation,
        "products": (s.einvoices, s.electricity),
        "purpose_code": "credit-assessment",
        "purpose_text": "credit assessment for a working-capital loan",
        "data_from": date(2024, 11, 1),
        "data_to": date(2026, 10, 31),
        "fetch_type": FetchType.PERIODIC,
        "frequency": Frequency(FrequencyUnit.MONTH, 1),
        "data_life": timedelta(days=90),
        "expires_at": now + timedelta(days=182),
        "origin": Jurisdiction.CN,
        "destination": Jurisdiction.HK,
        "created_at": now,
    }
    fields.update(changes)
    return ConsentTerms(**fields)  # type: ignore[arg-type]


def signed_event(
    terms: ConsentTerms,
    signer: KeyFile,
    action: ConsentAction,
    *,
    seq: int,
    from_state: ConsentState | None,
    at: datetime,
) -> str:
    event = ConsentEvent(
        consent_id=terms.id,
        version=terms.version,
        seq=seq,
        terms_digest=terms.digest(),
        action=action,
        from_state=from_state,
        to_state=next_state(from_state, action),
        actor=signer.person,
        at=at,
    )
    return sign_event(event, PrivateJWK.from_signing_key(signer.person_key.signing_key))


@contextmanager
def writer_held(database: Database, *, at: datetime) -> Iterator[threading.Event]:
    """Another thread holds the database's writer (having set hub metadata ``k`` to "held").

    Yields the event that lets it commit and go; it is set, and the thread joined, at the end.
    """
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.transaction() as session:
            HubMetadataRepository(session).set("k", "held", now=at)
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30), "the writer was not taken"
        yield release
    finally:
        release.set()
        holder.join(timeout=30)
