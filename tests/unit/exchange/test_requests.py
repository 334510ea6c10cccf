from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bayflow.clock import FixedClock
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
from bayflow.store import Database, Session, upgrade
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
    session: Session, clock: FixedClock, gate: object
) -> tuple[ConsentService, ExchangeService]:
    identity = IdentityService(SqlIdentityRepository(session), clock)
    anchor = UnsafeNoAnchor()
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
        request, product, _ = exchange.authorise(
            caller_person=scenario.wong.person,
            caller_org=scenario.lion_rock.organisation,
            consent_id=terms.id,
            product=scenario.einvoices,
        )
        assert request.status is RequestStatus.ROUTED
        assert product.endpoint == "http://vat-einvoices.test/deliver"
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
        first, _, _ = exchange.authorise(**ask)
        exchange.failed(first, "provider timed out")
        second, _, _ = exchange.authorise(**ask)
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
