"""GBA Standard Contracts: who may sign one, filing deadlines per party, reminders, lineage."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bayflow.compliance.contracts import FilingState, GBAContract, reminders
from bayflow.compliance.errors import ContractStateConflict, InvalidContract
from bayflow.compliance.models import Region, Route
from bayflow.identity.models import City, Jurisdiction, Organisation, RegistryIdentifiers

CREATED = datetime(2026, 2, 13, 1, 0, tzinfo=UTC)


def org(org_id: str, jurisdiction: Jurisdiction, city: City) -> Organisation:
    return Organisation(
        id=org_id,
        legal_name_en=f"{org_id} Ltd",
        legal_name_zh=None,
        jurisdiction=jurisdiction,
        city=city,
        identifiers=RegistryIdentifiers(hk_brn="12345678"),
        created_at=CREATED,
    )


PEARL_RIVER = org("org_pearl", Jurisdiction.CN, City.ZHUHAI)
LION_ROCK = org("org_lion", Jurisdiction.HK, City.HONG_KONG)
MACAO_BANK = org("org_macao", Jurisdiction.MO, City.MACAO)
BEIJING_CO = org("org_beijing", Jurisdiction.CN, City.OUTSIDE_GBA)


def contract(
    exporter: Organisation = PEARL_RIVER,
    recipient: Organisation = LION_ROCK,
    effective_on: date = date(2026, 2, 13),
    products: tuple[str, ...] = (),
) -> GBAContract:
    return GBAContract.create(
        contract_id="gsc_1",
        exporter=exporter,
        recipient=recipient,
        effective_on=effective_on,
        filing_working_days=10,
        created_at=CREATED,
        created_by=exporter.id,
        restricted_products=products,
    )


class TestCreation:
    """Only a Mainland GBA party and a Hong Kong or Macao party can sign one."""

    def test_a_zhuhai_and_hong_kong_pair_gets_the_hong_kong_version(self) -> None:
        created = contract()
        assert created.route is Route.GBA_STANDARD_CONTRACT_HK
        assert created.exporter.filing_body == "Guangdong Provincial Cyberspace Office"
        assert created.recipient.filing_body == "Digital Policy Office (HKSAR)"

    def test_each_party_counts_working_days_on_its_own_calendar(self) -> None:
        created = contract()
        assert created.exporter.deadline == date(2026, 3, 5)
        assert created.recipient.deadline == date(2026, 3, 4)

    def test_a_macao_party_gets_the_macao_version_and_an_uncertain_deadline(self) -> None:
        created = contract(recipient=MACAO_BANK)
        assert created.route is Route.GBA_STANDARD_CONTRACT_MO
        assert created.recipient.region is Region.MO
        assert created.recipient.deadline_uncertain

    def test_an_exporter_outside_the_nine_cities_is_refused(self) -> None:
        with pytest.raises(InvalidContract, match="R12"):
            contract(exporter=BEIJING_CO)

    def test_two_hong_kong_parties_are_refused(self) -> None:
        other = org("org_vh", Jurisdiction.HK, City.HONG_KONG)
        with pytest.raises(InvalidContract, match="Mainland party"):
            contract(exporter=other)

    def test_a_contract_with_itself_is_refused(self) -> None:
        with pytest.raises(InvalidContract, match="two different"):
            contract(recipient=PEARL_RIVER)

    def test_it_round_trips_through_json(self) -> None:
        created = contract(products=("loan-files",)).file(
            "org_lion", filed_on=date(2026, 2, 20), filing_ref="DPO-1"
        )
        assert GBAContract.from_json(created.to_json()) == created


class TestFilingAndUse:
    """Filing is per party; a contract is usable until a party's deadline passes unfiled."""

    def test_filing_records_the_reference_and_cannot_be_repeated(self) -> None:
        filed = contract().file("org_pearl", filed_on=date(2026, 2, 24), filing_ref="GD-7")
        assert filed.exporter.filing_ref == "GD-7"
        assert not filed.fully_filed
        with pytest.raises(ContractStateConflict):
            filed.file("org_pearl", filed_on=date(2026, 2, 25), filing_ref="GD-8")

    def test_a_stranger_cannot_file(self) -> None:
        with pytest.raises(InvalidContract, match="not a party"):
            contract().file("org_other", filed_on=date(2026, 2, 24), filing_ref="X")

    def test_filing_before_the_effective_date_is_refused(self) -> None:
        with pytest.raises(InvalidContract, match="on or after"):
            contract().file("org_pearl", filed_on=date(2026, 2, 1), filing_ref="X")

    def test_usable_from_the_effective_date_inside_the_filing_window(self) -> None:
        created = contract()
        assert not created.usable_on(date(2026, 2, 12))
        assert created.usable_on(date(2026, 2, 13))
        assert created.usable_on(date(2026, 3, 4))

    def test_not_usable_once_a_deadline_passes_unfiled(self) -> None:
        created = contract().file("org_lion", filed_on=date(2026, 2, 20), filing_ref="DPO-1")
        assert not created.usable_on(date(2026, 3, 6))
        both = created.file("org_pearl", filed_on=date(2026, 3, 5), filing_ref="GD-1")
        assert both.usable_on(date(2026, 3, 6))

    def test_lineage_restricts_the_recipients_listed_products_or_all_of_them(self) -> None:
        assert contract().restricts("org_lion", "anything")
        narrowed = contract(products=("loan-files",))
        assert narrowed.restricts("org_lion", "loan-files")
        assert not narrowed.restricts("org_lion", "branch-list")
        assert not narrowed.restricts("org_pearl", "loan-files")


class TestReminders:
    """Reminders list unfiled parties near or past their deadline, most urgent first."""

    def test_due_soon_and_overdue_parties_are_listed(self) -> None:
        created = contract()
        assert reminders([created], date(2026, 2, 20), remind_within_days=3) == []
        soon = reminders([created], date(2026, 3, 2), remind_within_days=3)
        assert [(r.party.organisation, r.state) for r in soon] == [
            ("org_lion", FilingState.DUE_SOON),
            ("org_pearl", FilingState.DUE_SOON),
        ]
        late = reminders([created], date(2026, 3, 5), remind_within_days=0)
        assert [(r.party.organisation, r.state) for r in late] == [
            ("org_lion", FilingState.OVERDUE),
            ("org_pearl", FilingState.DUE_SOON),
        ]

    def test_filed_parties_are_not_reminded(self) -> None:
        filed = contract().file("org_lion", filed_on=date(2026, 2, 20), filing_ref="DPO-1")
        found = reminders([filed], date(2026, 3, 10), remind_within_days=3)
        assert [r.party.organisation for r in found] == ["org_pearl"]
        assert found[0].to_json()["state"] == "overdue"
