"""Compliance persistence on SQLite and PostgreSQL: decisions, volumes, contracts."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import select

from bayflow.clock import FixedClock
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.errors import InvalidTransfer
from bayflow.compliance.models import TransferDescription, Verdict
from bayflow.compliance.rules import load_packaged_rules, parse_rules
from bayflow.compliance.service import ComplianceService
from bayflow.compliance.volumes import exporter_volume_key, pseudonymise
from bayflow.consent.interfaces import UnsafeNoAnchor
from bayflow.errors import NotFound, PermissionDenied
from bayflow.identity.models import City
from bayflow.identity.service import IdentityService
from bayflow.ledger.entry import EntryKind
from bayflow.store import Database, Session, upgrade
from bayflow.store.compliance import (
    DatabaseComplianceState,
    SqlContractRepository,
    SqlDecisionRepository,
    SqlVolumeRepository,
)
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.tables import compliance_volume_individuals
from tests.factories import Scenario, build_scenario

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SECRET = bytes(range(32))


def _small_table() -> RulesEngine:
    """The packaged table with the exemption threshold lowered to 10 individuals."""
    document = copy.deepcopy(dict(load_packaged_rules().raw))
    document["version"] = "2026.11.99"
    document["thresholds"]["exemption_nonsensitive_individuals"] = 10
    return RulesEngine(parse_rules(yaml.safe_dump(document, allow_unicode=True)))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def scenario(database: Database, clock: FixedClock) -> Scenario:
    with database.transaction() as session:
        return build_scenario(session, clock)


def service(
    session: Session, clock: FixedClock, anchor: UnsafeNoAnchor, engine: RulesEngine | None = None
) -> ComplianceService:
    return ComplianceService(
        engine or RulesEngine(load_packaged_rules()),
        decisions=SqlDecisionRepository(session),
        volumes=SqlVolumeRepository(session),
        contracts=SqlContractRepository(session),
        organisations=IdentityService(SqlIdentityRepository(session), clock),
        clock=clock,
        anchor=anchor,
        volume_secret=lambda: SECRET,
    )


def einvoices(s: Scenario, **data: object) -> TransferDescription:
    return TransferDescription.from_json(
        {
            "exporter": {
                "organisation": s.pearl_river.organisation,
                "jurisdiction": "CN",
                "city": "Zhuhai",
            },
            "recipient": {
                "organisation": s.lion_rock.organisation,
                "jurisdiction": "HK",
                "city": "Hong Kong",
            },
            "data": {"personal_information": True, **data},
        }
    )


class TestDecisions:
    """Decisions are stored as the exact bytes whose SHA-256 is anchored."""

    def test_a_decision_is_stored_and_its_digest_anchored(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        anchor = UnsafeNoAnchor()
        with database.transaction() as session:
            decision = service(session, clock, anchor).decide(
                einvoices(scenario, individuals=4_000), caller_org=scenario.pearl_river.organisation
            )
        assert decision.verdict is Verdict.EXEMPT
        with database.transaction() as session:
            stored = service(session, clock, anchor).decision(
                decision.id, caller_org=scenario.lion_rock.organisation
            )
        assert stored.digest == hashlib.sha256(stored.canonical_json).digest()
        assert json.loads(stored.canonical_json)["verdict"] == "exempt"
        assert anchor.anchored == [
            (EntryKind.DECISION, stored.digest, "bayflow-decision/1", decision.requested_by)
        ]

    def test_strangers_see_no_decision(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        anchor = UnsafeNoAnchor()
        with database.transaction() as session:
            decision = service(session, clock, anchor).decide(
                einvoices(scenario), caller_org=scenario.pearl_river.organisation
            )
            with pytest.raises(NotFound):
                service(session, clock, anchor).decision(
                    decision.id, caller_org=scenario.victoria.organisation
                )
            listed = service(session, clock, anchor).decisions(scenario.lion_rock.organisation)
        assert [d.id for d in listed] == [decision.id]

    def test_only_a_party_may_name_the_parties(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        with database.transaction() as session, pytest.raises(PermissionDenied):
            service(session, clock, UnsafeNoAnchor()).decide(
                einvoices(scenario), caller_org=scenario.victoria.organisation
            )

    def test_a_party_named_in_the_wrong_city_is_refused(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        wrong = einvoices(scenario).model_copy(
            update={
                "exporter": einvoices(scenario).exporter.model_copy(update={"city": City.SHENZHEN})
            }
        )
        with database.transaction() as session, pytest.raises(InvalidTransfer, match="Zhuhai"):
            service(session, clock, UnsafeNoAnchor()).decide(wrong, caller_org=None)


class TestVolumes:
    """Distinct individuals per exporter and year, sensitive apart; splitting changes nothing."""

    def test_reports_are_deduplicated_across_transfers(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        exporter = scenario.pearl_river.organisation
        year, key = 2026, exporter_volume_key(SECRET, exporter, 2026)
        ids = [f"92440400MA5H3Q8R{n:02d}" for n in range(30)]
        first = [pseudonymise(key, i) for i in ids[:20]]
        second = [pseudonymise(key, i) for i in ids[10:]]
        with database.transaction() as session:
            report = service(session, clock, UnsafeNoAnchor()).report_volumes(
                exporter, nonsensitive=first, sensitive=first[:3]
            )
        assert (report.added_nonsensitive, report.added_sensitive) == (20, 3)
        with database.transaction() as session:
            report = service(session, clock, UnsafeNoAnchor()).report_volumes(
                exporter, nonsensitive=second, sensitive=[]
            )
        assert report.added_nonsensitive == 10
        assert (report.totals.nonsensitive, report.totals.sensitive) == (30, 3)
        assert DatabaseComplianceState(database).volumes(exporter, year).nonsensitive == 30
        assert DatabaseComplianceState(database).volumes(exporter, 2025).nonsensitive == 0

    def test_the_table_never_holds_the_identifier(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        exporter = scenario.pearl_river.organisation
        key = exporter_volume_key(SECRET, exporter, 2026)
        with database.transaction() as session:
            service(session, clock, UnsafeNoAnchor()).report_volumes(
                exporter, nonsensitive=[pseudonymise(key, "K234567(6)")], sensitive=[]
            )
        with database.engine.connect() as conn:
            rows = conn.execute(select(compliance_volume_individuals)).all()
        assert len(rows) == 1
        assert bytes(rows[0].pseudonym).hex() == pseudonymise(key, "k234567 6")
        assert b"K234567" not in b"".join(str(v).encode() for v in rows[0])

    def test_split_reports_push_the_next_decision_over_the_threshold(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        exporter = scenario.pearl_river.organisation
        key = exporter_volume_key(SECRET, exporter, 2026)
        engine = _small_table()
        with database.transaction() as session:
            compliance = service(session, clock, UnsafeNoAnchor(), engine)
            for part in range(3):
                batch = [pseudonymise(key, f"H{part}{n:07d}") for n in range(4)]
                compliance.report_volumes(exporter, nonsensitive=batch, sensitive=[])
            decision = compliance.decide(einvoices(scenario), caller_org=exporter)
        assert decision.volumes.nonsensitive == 12
        assert decision.verdict is Verdict.MECHANISM_REQUIRED


class TestContracts:
    """Contracts are stored whole and found by party."""

    def test_add_file_and_find_a_contract(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        pearl, lion = scenario.pearl_river.organisation, scenario.lion_rock.organisation
        with database.transaction() as session:
            added = service(session, clock, UnsafeNoAnchor()).add_contract(
                caller_org=pearl, exporter=pearl, recipient=lion, effective_on=date(2026, 11, 20)
            )
        with database.transaction() as session:
            filed = service(session, clock, UnsafeNoAnchor()).file_contract(
                added.id, caller_org=lion, filing_ref="DPO-2026-001"
            )
        assert filed.recipient.filed_on == date(2026, 11, 23)
        state = DatabaseComplianceState(database)
        assert state.contracts_between(pearl, lion) == [filed]
        assert state.contracts_received_by(lion) == [filed]
        assert state.contracts_received_by(pearl) == []
        with database.transaction() as session:
            compliance = service(session, clock, UnsafeNoAnchor())
            assert compliance.contracts(pearl) == [filed]
            assert compliance.contracts(None) == [filed]
            with pytest.raises(NotFound):
                compliance.contract(added.id, caller_org=scenario.victoria.organisation)

    def test_reminders_name_the_party_that_has_not_filed(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        pearl, lion = scenario.pearl_river.organisation, scenario.lion_rock.organisation
        with database.transaction() as session:
            compliance = service(session, clock, UnsafeNoAnchor())
            added = compliance.add_contract(
                caller_org=lion, exporter=pearl, recipient=lion, effective_on=date(2026, 11, 6)
            )
            compliance.file_contract(added.id, caller_org=lion, filing_ref="DPO-1")
            due = compliance.reminders(None, within_days=3)
            assert [(r.party.organisation, r.state.value) for r in due] == [(pearl, "overdue")]
            assert compliance.reminders(lion) == []

    def test_a_stranger_cannot_register_a_contract_for_others(
        self, database: Database, clock: FixedClock, scenario: Scenario
    ) -> None:
        with database.transaction() as session, pytest.raises(PermissionDenied):
            service(session, clock, UnsafeNoAnchor()).add_contract(
                caller_org=scenario.victoria.organisation,
                exporter=scenario.pearl_river.organisation,
                recipient=scenario.lion_rock.organisation,
                effective_on=date(2026, 11, 20),
            )
