"""The rules engine as the exchange's transfer gate."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from bayflow.compliance.contracts import GBAContract
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.gate import RulesTransferGate, describe
from bayflow.compliance.models import DECISION_SCHEMA, Route, Verdict, YearVolumes
from bayflow.compliance.rules import load_packaged_rules
from bayflow.exchange.errors import TransferRefused
from bayflow.exchange.gate import Transfer, TransferGate
from bayflow.identity.models import City, Jurisdiction, Organisation, RegistryIdentifiers

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ENGINE = RulesEngine(load_packaged_rules())


@dataclass
class MemoryState:
    """Volumes and contracts held in memory, as the store would answer."""

    nonsensitive: int = 0
    sensitive: int = 0
    contracts: list[GBAContract] = field(default_factory=list)

    def volumes(self, exporter: str, year: int) -> YearVolumes:
        return YearVolumes(exporter, year, self.nonsensitive, self.sensitive)

    def contracts_between(self, exporter: str, recipient: str) -> list[GBAContract]:
        return [
            c
            for c in self.contracts
            if (c.exporter.organisation, c.recipient.organisation) == (exporter, recipient)
        ]

    def contracts_received_by(self, recipient: str) -> list[GBAContract]:
        return [c for c in self.contracts if c.recipient.organisation == recipient]


EINVOICES = Transfer(
    exporter="org_pearl",
    exporter_jurisdiction=Jurisdiction.CN,
    exporter_city=City.ZHUHAI,
    recipient="org_lion",
    recipient_jurisdiction=Jurisdiction.HK,
    recipient_city=City.HONG_KONG,
    data_owner="org_bayline",
    product="vat-einvoices",
    personal_information=True,
    sensitive_categories=frozenset(),
    purpose_code="credit-assessment",
)


def _org(org_id: str, jurisdiction: Jurisdiction, city: City) -> Organisation:
    return Organisation(
        org_id, org_id, None, jurisdiction, city, RegistryIdentifiers(hk_brn="12345678"), NOW
    )


def _contract(effective_on: date = date(2026, 11, 20)) -> GBAContract:
    return GBAContract.create(
        contract_id="gsc_1",
        exporter=_org("org_pearl", Jurisdiction.CN, City.ZHUHAI),
        recipient=_org("org_lion", Jurisdiction.HK, City.HONG_KONG),
        effective_on=effective_on,
        filing_working_days=10,
        created_at=NOW,
        created_by="org_pearl",
    )


class TestRulesTransferGate:
    """The gate allows exempt routes and filed contracts, and refuses the rest citing rules."""

    def test_it_is_a_transfer_gate(self) -> None:
        gate: TransferGate = RulesTransferGate(ENGINE, MemoryState())
        assert gate

    def test_the_scenario_e_invoices_cross_as_exempt(self) -> None:
        gate = RulesTransferGate(ENGINE, MemoryState(nonsensitive=4_000))
        gate.check(EINVOICES, now=NOW)
        decision = gate.decide(EINVOICES, now=NOW)
        assert decision.verdict is Verdict.EXEMPT
        assert Route.GBA_STANDARD_CONTRACT_HK in decision.route_names

    def test_a_transfer_inside_hong_kong_is_allowed_without_a_decision(self) -> None:
        local = replace(
            EINVOICES,
            exporter_jurisdiction=Jurisdiction.HK,
            exporter_city=City.HONG_KONG,
            personal_information=False,
        )
        assert RulesTransferGate(ENGINE, MemoryState()).check(local, now=NOW) is None

    def test_an_allowed_transfer_returns_the_decision_to_record(self) -> None:
        taken = RulesTransferGate(ENGINE, MemoryState(nonsensitive=4_000)).check(EINVOICES, now=NOW)
        assert taken is not None
        body = json.loads(taken.body)
        assert taken.digest == hashlib.sha256(taken.body).digest()
        assert (taken.schema, taken.issuer, body["schema"]) == (
            DECISION_SCHEMA,
            "hub",
            "bayflow-decision/1",
        )
        assert (taken.exporter, taken.recipient) == ("org_pearl", "org_lion")
        assert (taken.id, taken.verdict, body["verdict"]) == (body["id"], "exempt", "exempt")
        assert taken.basis.startswith("exempt (R")
        assert taken.basis.endswith(f"[rules {taken.rules_version}]")
        # The anchored decision names the route the gate let the transfer go under.
        assert any(note.startswith("exchange gate allowed it: exempt (R") for note in body["notes"])

    def test_a_contract_route_names_the_contract(self) -> None:
        state = MemoryState(nonsensitive=1_000_000, contracts=[_contract()])
        taken = RulesTransferGate(ENGINE, state).check(EINVOICES, now=NOW)
        assert taken is not None
        assert taken.verdict == "mechanism_required"
        assert taken.basis.startswith("gba_standard_contract_hk (R10")
        assert "contract gsc_1" in taken.basis

    def test_a_million_individuals_without_a_contract_are_refused_citing_the_rules(self) -> None:
        gate = RulesTransferGate(ENGINE, MemoryState(nonsensitive=1_000_000))
        with pytest.raises(TransferRefused, match=r"security_assessment \(R9") as caught:
            gate.check(EINVOICES, now=NOW)
        assert "gba_standard_contract_hk (R10" in caught.value.message
        assert "not legal advice" in caught.value.message

    def test_a_usable_gba_contract_opens_the_route_above_the_thresholds(self) -> None:
        state = MemoryState(nonsensitive=1_000_000, contracts=[_contract()])
        RulesTransferGate(ENGINE, state).check(EINVOICES, now=NOW)

    def test_a_contract_with_an_overdue_filing_does_not(self) -> None:
        state = MemoryState(nonsensitive=1_000_000, contracts=[_contract(date(2026, 10, 1))])
        with pytest.raises(TransferRefused, match="not in place"):
            RulesTransferGate(ENGINE, state).check(EINVOICES, now=NOW)

    def test_sensitive_categories_end_the_exemption(self) -> None:
        medical = replace(EINVOICES, sensitive_categories=frozenset({"medical-health"}))
        with pytest.raises(TransferRefused, match="national_standard_contract"):
            RulesTransferGate(ENGINE, MemoryState()).check(medical, now=NOW)

    def test_data_received_under_a_gba_contract_cannot_leave_the_gba(self) -> None:
        onward = replace(
            EINVOICES,
            exporter="org_lion",
            exporter_jurisdiction=Jurisdiction.HK,
            exporter_city=City.HONG_KONG,
            recipient="org_beijing",
            recipient_jurisdiction=Jurisdiction.CN,
            recipient_city=City.OUTSIDE_GBA,
            product="loan-files",
        )
        gate = RulesTransferGate(ENGINE, MemoryState(contracts=[_contract()]))
        with pytest.raises(TransferRefused, match=r"prohibited.*R13"):
            gate.check(onward, now=NOW)

    def test_the_same_holder_may_send_unrestricted_data_out(self) -> None:
        onward = replace(
            EINVOICES,
            exporter="org_lion",
            exporter_jurisdiction=Jurisdiction.HK,
            exporter_city=City.HONG_KONG,
            recipient="org_beijing",
            recipient_jurisdiction=Jurisdiction.CN,
            recipient_city=City.OUTSIDE_GBA,
        )
        RulesTransferGate(ENGINE, MemoryState()).check(onward, now=NOW)

    def test_minors_are_described_as_minors(self) -> None:
        minors = replace(EINVOICES, sensitive_categories=frozenset({"minor-under-14"}))
        description = describe(minors, restricted=False)
        assert description.data.minors_under_14
        assert description.data.sensitive
