import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bayflow.clock import FixedClock
from bayflow.compliance.contracts import GBAContract
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.gate import RulesTransferGate
from bayflow.compliance.models import DECISION_SCHEMA, YearVolumes
from bayflow.compliance.rules import load_packaged_rules
from bayflow.compliance.service import HUB_ISSUER
from bayflow.consent.errors import ConsentInactive, FrequencyExceeded
from bayflow.consent.interfaces import UnsafeNoAnchor
from bayflow.consent.lifecycle import ConsentAction, ConsentState
from bayflow.consent.models import ConsentTerms, ProductScope
from bayflow.consent.service import ConsentService
from bayflow.crypto.jose import PrivateJWK
from bayflow.errors import NotFound
from bayflow.exchange.errors import TransferRefused
from bayflow.exchange.gate import Transfer, UnsafeOpenGate
from bayflow.exchange.requests import ExchangeService, RequestStatus
from bayflow.identity.service import IdentityService
from bayflow.ledger.entry import EntryKind
from bayflow.store import Database, Session, upgrade
from bayflow.store.compliance import SqlDecisionRepository
from bayflow.store.consent import SqlConsentRepository
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.identity import SqlIdentityRepository
from bayflow.store.requests import SqlRequestRepository
from tests.factories import Scenario, build_scenario, loan_terms, signed_event

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class RefuseCrossBoundary:
    """A gate that refuses every transfer between jurisdictions."""

    def __init__(self) -> None:
        self.seen: list[Transfer] = []

    def check(self, transfer: Transfer, *, now: datetime) -> None:
        del now
        self.seen.append(transfer)
        if transfer.crosses_boundary:
            raise TransferRefused("no route for this transfer")


class Volumes:
    """The compliance state the rules gate reads: an exporter's volumes, and no contracts."""

    def __init__(self, nonsensitive: int) -> None:
        self.nonsensitive = nonsensitive

    def volumes(self, exporter: str, year: int) -> YearVolumes:
        return YearVolumes(exporter, year, self.nonsensitive)

    def contracts_between(self, exporter: str, recipient: str) -> list[GBAContract]:
        del exporter, recipient
        return []

    def contracts_received_by(self, recipient: str) -> list[GBAContract]:
        del recipient
        return []


def rules_gate(nonsensitive: int) -> RulesTransferGate:
    return RulesTransferGate(RulesEngine(load_packaged_rules()), Volumes(nonsensitive))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    database = Database(database_url)
    upgrade(database)
    with database.transaction() as session:
        yield session
    database.dispose()


@pytest.fixture
def scenario(session: Session, clock: FixedClock) -> Scenario:
    return build_scenario(session, clock)


def _services(
    session: Session, clock: FixedClock, gate: object, anchor: UnsafeNoAnchor | None = None
) -> tuple[ConsentService, ExchangeService]:
    identity = IdentityService(SqlIdentityRepository(session), clock)
    anchor = anchor or UnsafeNoAnchor()
    consents = ConsentService(
        SqlConsentRepository(session),
        identity,
        SqlProductRepository(session),
        anchor,
        clock,
        hub_key=PrivateJWK.generate(),
    )
    exchange = ExchangeService(
        SqlRequestRepository(session),
        SqlProductRepository(session),
        consents,
        identity=identity,
        gate=gate,  # type: ignore[arg-type]
        decisions=SqlDecisionRepository(session),
        clock=clock,
        anchor=anchor,
    )
    return consents, exchange


def _active_consent(consents: ConsentService, s: Scenario) -> ConsentTerms:
    terms = loan_terms(s, NOW)
    consents.request(
        terms,
        signed_event(terms, s.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW),
        caller_person=s.wong.person,
        caller_org=s.lion_rock.organisation,
    )
    consents.act(
        terms.id,
        signed_event(
            terms,
            s.chen_wei,
            ConsentAction.APPROVE,
            seq=1,
            from_state=ConsentState.REQUESTED,
            at=NOW,
        ),
        caller_person=s.chen_wei.person,
        caller_org=s.bayline.organisation,
    )
    return terms


class TestAuthorise:
    """The hub routes a request only when every check passes, and journals it."""

    def test_a_consented_request_is_routed_and_journalled(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        consents, exchange = _services(session, clock, UnsafeOpenGate())
        terms = _active_consent(consents, scenario)
        authorised = exchange.authorise(
            caller_person=scenario.wong.person,
            caller_org=scenario.lion_rock.organisation,
            consent_id=terms.id,
            product=scenario.einvoices,
        )
        request = authorised.request
        assert request.status is RequestStatus.ROUTED
        assert authorised.product.endpoint == "http://vat-einvoices.test/deliver"
        assert authorised.terms == terms
        assert authorised.data_owner.id == scenario.bayline.organisation
        done = exchange.delivered(
            request,
            ciphertext_digest=bytes(32),
            receipt="r",
            data_owner=scenario.bayline.organisation,
        )
        journal = exchange.accesses(terms.id, viewer_org=scenario.bayline.organisation)
        assert [(r.id, r.status) for r in journal] == [(done.id, RequestStatus.DELIVERED)]

    def test_the_monthly_limit_counts_routed_and_delivered_requests_not_failed_ones(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        consents, exchange = _services(session, clock, UnsafeOpenGate())
        terms = _active_consent(consents, scenario)
        ask = {
            "caller_person": scenario.wong.person,
            "caller_org": scenario.lion_rock.organisation,
            "consent_id": terms.id,
            "product": scenario.einvoices,
        }
        first = exchange.authorise(**ask).request
        exchange.failed(first, "provider timed out")
        second = exchange.authorise(**ask).request
        with pytest.raises(FrequencyExceeded):
            exchange.authorise(**ask)
        # The other product has its own count.
        exchange.authorise(**(ask | {"product": scenario.electricity}))
        clock.advance(timedelta(days=31))
        exchange.authorise(**ask)
        assert second.status is RequestStatus.ROUTED

    def test_a_revoked_consent_refuses_the_next_request(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        consents, exchange = _services(session, clock, UnsafeOpenGate())
        terms = _active_consent(consents, scenario)
        consents.act(
            terms.id,
            signed_event(
                terms,
                scenario.chen_wei,
                ConsentAction.REVOKE,
                seq=2,
                from_state=ConsentState.ACTIVE,
                at=NOW,
            ),
            caller_person=scenario.chen_wei.person,
            caller_org=scenario.bayline.organisation,
        )
        with pytest.raises(ConsentInactive, match="revoked"):
            exchange.authorise(
                caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
                consent_id=terms.id,
                product=scenario.einvoices,
            )

    def test_the_transfer_gate_is_asked_and_can_refuse(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        gate = RefuseCrossBoundary()
        consents, exchange = _services(session, clock, gate)
        terms = _active_consent(consents, scenario)
        ask = {
            "caller_person": scenario.wong.person,
            "caller_org": scenario.lion_rock.organisation,
            "consent_id": terms.id,
        }
        with pytest.raises(TransferRefused):
            exchange.authorise(**ask, product=scenario.einvoices)  # Zhuhai -> Hong Kong
        exchange.authorise(**ask, product=scenario.electricity)  # Hong Kong -> Hong Kong
        crossing, local = gate.seen
        assert crossing.exporter_jurisdiction.value == "CN"
        assert crossing.personal_information is True
        assert crossing.purpose_code == "credit-assessment"
        assert not local.crosses_boundary
        # A refused transfer is not journalled.
        assert len(exchange.accesses(terms.id, viewer_org=scenario.bayline.organisation)) == 1

    def test_others_cannot_use_or_see_the_consent(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        consents, exchange = _services(session, clock, UnsafeOpenGate())
        terms = _active_consent(consents, scenario)
        with pytest.raises(NotFound):
            exchange.authorise(
                caller_person=scenario.li_na.person,
                caller_org=scenario.bayline.organisation,
                consent_id=terms.id,
                product=scenario.einvoices,
            )
        with pytest.raises(NotFound, match="no data product"):
            exchange.authorise(
                caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
                consent_id=terms.id,
                product=ProductScope(scenario.victoria.organisation, "gas-bills"),
            )


class TestGateDecisions:
    """The gate's decision is stored and anchored with the request it allowed, and journalled."""

    def test_the_decision_is_stored_and_anchored_with_the_request(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        anchor = UnsafeNoAnchor()
        consents, exchange = _services(session, clock, rules_gate(4_000), anchor)
        terms = _active_consent(consents, scenario)
        request = exchange.authorise(
            caller_person=scenario.wong.person,
            caller_org=scenario.lion_rock.organisation,
            consent_id=terms.id,
            product=scenario.einvoices,
        ).request
        assert request.decision_id is not None
        assert request.decision_digest is not None
        assert request.decision_basis is not None
        assert request.decision_basis.startswith("exempt (")
        stored = SqlDecisionRepository(session).get(request.decision_id)
        assert stored is not None
        assert stored.digest == request.decision_digest
        assert hashlib.sha256(stored.canonical_json).digest() == stored.digest
        assert (stored.exporter, stored.recipient, stored.verdict) == (
            scenario.pearl_river.organisation,
            scenario.lion_rock.organisation,
            "exempt",
        )
        body = json.loads(stored.canonical_json)
        assert body["volumes"]["nonsensitive"] == 4_000
        assert f"exchange gate allowed it: {request.decision_basis.split(' [')[0]}" in body["notes"]
        assert (EntryKind.DECISION, stored.digest, DECISION_SCHEMA, HUB_ISSUER) in anchor.anchored
        (journalled,) = exchange.accesses(terms.id, viewer_org=scenario.bayline.organisation)
        assert (journalled.decision_id, journalled.decision_digest, journalled.decision_basis) == (
            request.decision_id,
            request.decision_digest,
            request.decision_basis,
        )

    def test_a_transfer_with_no_decision_to_take_records_none(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        anchor = UnsafeNoAnchor()
        consents, exchange = _services(session, clock, rules_gate(4_000), anchor)
        terms = _active_consent(consents, scenario)
        before = len(anchor.anchored)
        request = exchange.authorise(
            caller_person=scenario.wong.person,
            caller_org=scenario.lion_rock.organisation,
            consent_id=terms.id,
            product=scenario.electricity,  # Hong Kong -> Hong Kong, no personal information
        ).request
        assert (request.decision_id, request.decision_digest, request.decision_basis) == (
            None,
            None,
            None,
        )
        assert len(anchor.anchored) == before

    def test_a_refused_transfer_records_nothing(
        self, session: Session, clock: FixedClock, scenario: Scenario
    ) -> None:
        anchor = UnsafeNoAnchor()
        consents, exchange = _services(session, clock, rules_gate(1_000_000), anchor)
        terms = _active_consent(consents, scenario)
        before = list(anchor.anchored)
        with pytest.raises(TransferRefused, match="security_assessment"):
            exchange.authorise(
                caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
                consent_id=terms.id,
                product=scenario.einvoices,
            )
        assert anchor.anchored == before
        decisions = SqlDecisionRepository(session)
        assert decisions.list_for(scenario.pearl_river.organisation, limit=10) == []
        assert exchange.accesses(terms.id, viewer_org=scenario.bayline.organisation) == []
