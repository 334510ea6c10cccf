from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bayflow.clock import FixedClock
from bayflow.consent.errors import (
    ConsentInactive,
    ConsentSignatureInvalid,
    DateRangeOutside,
    FrequencyExceeded,
    InvalidConsent,
    ProductNotInScope,
    TransitionNotAllowed,
)
from bayflow.consent.interfaces import UnsafeNoAnchor
from bayflow.consent.lifecycle import ConsentAction, ConsentState
from bayflow.consent.models import ProductScope
from bayflow.consent.service import ConsentService
from bayflow.crypto.jose import PrivateJWK
from bayflow.errors import NotFound
from bayflow.identity.errors import MandateNotSatisfied
from bayflow.identity.service import IdentityService
from bayflow.ledger.entry import EntryKind
from bayflow.store import Database, Session, upgrade
from bayflow.store.consent import SqlConsentRepository
from bayflow.store.exchange import SqlProductRepository
from bayflow.store.identity import SqlIdentityRepository
from tests.factories import Scenario, build_scenario, loan_terms, signed_event

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HUB_KEY = PrivateJWK.generate()


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


@pytest.fixture
def anchor() -> UnsafeNoAnchor:
    return UnsafeNoAnchor()


@pytest.fixture
def service(session: Session, clock: FixedClock, anchor: UnsafeNoAnchor) -> ConsentService:
    return ConsentService(
        SqlConsentRepository(session),
        IdentityService(SqlIdentityRepository(session), clock),
        SqlProductRepository(session),
        anchor,
        clock,
        hub_key=HUB_KEY,
    )


def _requested(service: ConsentService, s: Scenario):
    terms = loan_terms(s, NOW)
    event = signed_event(terms, s.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW)
    service.request(terms, event, caller_person=s.wong.person, caller_org=s.lion_rock.organisation)
    return terms


def _act(service: ConsentService, _s: Scenario, terms, who, action, seq, state):
    event = signed_event(terms, who, action, seq=seq, from_state=state, at=NOW)
    return service.act(terms.id, event, caller_person=who.person, caller_org=who.organisation)


class TestConsentLifecycle:
    """The story's consent: requested by the bank, approved by a director, revoked later."""

    def test_request_approve_pause_resume_revoke(
        self, service: ConsentService, scenario: Scenario, anchor: UnsafeNoAnchor
    ) -> None:
        terms = _requested(service, scenario)
        record = service.get(terms.id, viewer_org=scenario.bayline.organisation)
        assert service.state_of(record) is ConsentState.REQUESTED
        steps = [
            (ConsentAction.APPROVE, ConsentState.REQUESTED, ConsentState.ACTIVE),
            (ConsentAction.PAUSE, ConsentState.ACTIVE, ConsentState.PAUSED),
            (ConsentAction.RESUME, ConsentState.PAUSED, ConsentState.ACTIVE),
            (ConsentAction.REVOKE, ConsentState.ACTIVE, ConsentState.REVOKED),
        ]
        for seq, (action, before, after) in enumerate(steps, start=1):
            record = _act(service, scenario, terms, scenario.chen_wei, action, seq, before)
            assert service.state_of(record) is after
        # Every event, the request included, is anchored, issued by the data owner.
        assert [a[0] for a in anchor.anchored] == [EntryKind.CONSENT_EVENT] * 5
        assert {a[3] for a in anchor.anchored} == {scenario.bayline.organisation}
        assert len({a[1] for a in anchor.anchored}) == 5

    def test_a_delegate_without_a_mandate_cannot_approve(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        terms = _requested(service, scenario)
        with pytest.raises(MandateNotSatisfied, match="may not approve"):
            _act(service, scenario, terms, scenario.li_na, ConsentAction.APPROVE, 1,
                 ConsentState.REQUESTED)  # fmt: skip

    def test_a_stale_event_is_refused(self, service: ConsentService, scenario: Scenario) -> None:
        terms = _requested(service, scenario)
        _act(service, scenario, terms, scenario.chen_wei, ConsentAction.APPROVE, 1,
             ConsentState.REQUESTED)  # fmt: skip
        # A second approval signed against the state before the first one landed.
        with pytest.raises(TransitionNotAllowed, match="moved on"):
            _act(service, scenario, terms, scenario.chen_wei, ConsentAction.APPROVE, 1,
                 ConsentState.REQUESTED)  # fmt: skip

    def test_transitions_outside_the_lifecycle_are_refused(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        terms = _requested(service, scenario)
        with pytest.raises(TransitionNotAllowed):
            _act(service, scenario, terms, scenario.chen_wei, ConsentAction.PAUSE, 1,
                 ConsentState.REQUESTED)  # fmt: skip

    def test_expiry_is_evaluated_at_now_and_then_recorded(
        self, service: ConsentService, scenario: Scenario, clock: FixedClock
    ) -> None:
        terms = _requested(service, scenario)
        _act(service, scenario, terms, scenario.chen_wei, ConsentAction.APPROVE, 1,
             ConsentState.REQUESTED)  # fmt: skip
        clock.set(terms.expires_at)
        record = service.get(terms.id, viewer_org=scenario.lion_rock.organisation)
        assert record.recorded_state is ConsentState.ACTIVE
        assert service.state_of(record) is ConsentState.EXPIRED
        assert service.expire_due() == 1
        record = service.get(terms.id, viewer_org=scenario.lion_rock.organisation)
        assert record.recorded_state is ConsentState.EXPIRED
        assert record.events[-1].event.actor == "hub"
        assert service.expire_due() == 0

    def test_only_the_consumer_may_request(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        terms = loan_terms(scenario, NOW)
        event = signed_event(
            terms, scenario.li_na, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
        )
        with pytest.raises(InvalidConsent, match="only the consumer"):
            service.request(
                terms, event, caller_person=scenario.li_na.person,
                caller_org=scenario.bayline.organisation,
            )  # fmt: skip

    def test_a_request_signed_over_other_terms_is_refused(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        terms = loan_terms(scenario, NOW)
        other = loan_terms(scenario, NOW, id=terms.id, purpose_text="marketing")
        event = signed_event(
            other, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
        )
        with pytest.raises(ConsentSignatureInvalid, match="other terms"):
            service.request(
                terms, event, caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
            )  # fmt: skip

    def test_unknown_products_are_refused(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        ghost = ProductScope(scenario.pearl_river.organisation, "tax-filings")
        terms = loan_terms(scenario, NOW, products=(ghost,))
        event = signed_event(
            terms, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
        )
        with pytest.raises(InvalidConsent, match="no such data product"):
            service.request(
                terms, event, caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
            )  # fmt: skip

    def test_other_organisations_see_nothing(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        terms = _requested(service, scenario)
        service.get(terms.id, viewer_org=scenario.pearl_river.organisation)  # a provider sees it
        outsider = scenario.victoria.organisation
        service.get(terms.id, viewer_org=outsider)  # Victoria is a provider too
        with pytest.raises(NotFound):
            service.get(terms.id, viewer_org="org_" + "a" * 26)
        assert [r.terms.id for r in service.list_for(scenario.pearl_river.organisation)] == [
            terms.id
        ]


class TestRequireUsable:
    """A data request must fit the consent: active, in scope, in range, within the limit."""

    def _active(self, service: ConsentService, scenario: Scenario):
        terms = _requested(service, scenario)
        return _act(service, scenario, terms, scenario.chen_wei, ConsentAction.APPROVE, 1,
                    ConsentState.REQUESTED)  # fmt: skip

    def test_an_active_consent_allows_its_products(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        record = self._active(service, scenario)
        service.require_usable(
            record, consumer=scenario.lion_rock.organisation, product=scenario.einvoices,
            data_from=datetime(2025, 1, 1, tzinfo=UTC), data_to=datetime(2025, 12, 31, tzinfo=UTC),
            fetches_in_window=0, now=NOW,
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("changes", "error"),
        [
            ({"product": ProductScope("org_" + "b" * 26, "vat-einvoices")}, ProductNotInScope),
            ({"data_from": datetime(2020, 1, 1, tzinfo=UTC)}, DateRangeOutside),
            ({"data_to": datetime(2027, 1, 1, tzinfo=UTC)}, DateRangeOutside),
            ({"fetches_in_window": 1}, FrequencyExceeded),
            ({"now": NOW + timedelta(days=400)}, ConsentInactive),
        ],
    )
    def test_requests_outside_the_consent_are_refused(
        self,
        service: ConsentService,
        scenario: Scenario,
        changes: dict,
        error: type[Exception],
    ) -> None:
        record = self._active(service, scenario)
        kwargs = {
            "consumer": scenario.lion_rock.organisation,
            "product": scenario.einvoices,
            "data_from": None,
            "data_to": None,
            "fetches_in_window": 0,
            "now": NOW,
        } | changes
        with pytest.raises(error):
            service.require_usable(record, **kwargs)

    def test_a_requested_consent_is_not_usable(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        terms = _requested(service, scenario)
        record = service.get(terms.id, viewer_org=scenario.lion_rock.organisation)
        with pytest.raises(ConsentInactive, match="requested"):
            service.require_usable(
                record, consumer=scenario.lion_rock.organisation, product=scenario.einvoices,
                data_from=None, data_to=None, fetches_in_window=0, now=NOW,
            )  # fmt: skip


class TestAmendment:
    """Amending makes a new version that must be approved; the old one serves meanwhile."""

    def test_an_amendment_takes_over_once_approved(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        v1 = _requested(service, scenario)
        _act(service, scenario, v1, scenario.chen_wei, ConsentAction.APPROVE, 1,
             ConsentState.REQUESTED)  # fmt: skip
        v2 = loan_terms(
            scenario, NOW, id=v1.id, version=2, previous_digest=v1.digest(),
            data_life=timedelta(days=30),
        )  # fmt: skip
        service.request(
            v2,
            signed_event(v2, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW),
            caller_person=scenario.wong.person,
            caller_org=scenario.lion_rock.organisation,
        )
        bank = scenario.lion_rock.organisation
        assert service.in_force(v1.id, viewer_org=bank).terms.version == 1
        _act(service, scenario, v2, scenario.chen_wei, ConsentAction.APPROVE, 1,
             ConsentState.REQUESTED)  # fmt: skip
        assert service.in_force(v1.id, viewer_org=bank).terms.version == 2
        assert [r.terms.version for r in service.history(v1.id, viewer_org=bank)] == [1, 2]

    def test_an_amendment_must_name_the_current_version(
        self, service: ConsentService, scenario: Scenario
    ) -> None:
        v1 = _requested(service, scenario)
        stale = loan_terms(scenario, NOW, id=v1.id, version=2, previous_digest=bytes(32))
        with pytest.raises(InvalidConsent, match="current version's digest"):
            service.request(
                stale,
                signed_event(
                    stale, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
                ),
                caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
            )
        skipped = loan_terms(scenario, NOW, id=v1.id, version=3, previous_digest=v1.digest())
        with pytest.raises(TransitionNotAllowed, match="next version is 2"):
            service.request(
                skipped,
                signed_event(
                    skipped, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
                ),
                caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
            )
