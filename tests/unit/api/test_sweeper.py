from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from bayflow.api import create_app
from bayflow.api.routes.consent import consent_service
from bayflow.api.sweeper import ExpirySweeper
from bayflow.clock import FixedClock
from bayflow.config import Settings
from bayflow.consent.lifecycle import ConsentAction, ConsentState
from bayflow.hub import bootstrap
from bayflow.ledger.entry import EntryKind
from bayflow.store import Database, upgrade
from bayflow.store.consent import SqlConsentRepository
from bayflow.store.ledger import SqlLedgerRepository
from tests.factories import build_scenario, loan_terms, signed_event

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class TestExpirySweeper:
    """The hub records a signed, anchored expiry for consents past their expiry."""

    def test_an_expired_consent_gets_a_hub_signed_expire_event_in_the_ledger(
        self, tmp_path: Path
    ) -> None:
        clock = FixedClock(NOW)
        settings = Settings(data_dir=tmp_path, public_url="http://hub.test")
        database = Database(settings.effective_database_url)
        upgrade(database)
        keys = bootstrap(settings, database, clock)
        app = create_app(
            settings, database=database, clock=clock, hub_keys=keys, configure_logs=False
        )
        sweeper = ExpirySweeper(app.state)
        with database.transaction() as session:
            scenario = build_scenario(session, clock)
        terms = loan_terms(scenario, NOW)
        with database.transaction() as session:
            service = consent_service(SimpleNamespace(app=app), session)  # type: ignore[arg-type]
            service.request(
                terms,
                signed_event(
                    terms, scenario.wong, ConsentAction.REQUEST, seq=0, from_state=None, at=NOW
                ),
                caller_person=scenario.wong.person,
                caller_org=scenario.lion_rock.organisation,
            )
        assert sweeper.sweep_once() == 0
        clock.set(terms.expires_at + timedelta(seconds=1))
        assert sweeper.sweep_once() == 1
        assert sweeper.sweep_once() == 0
        with database.transaction() as session:
            record = SqlConsentRepository(session).get(terms.id)
            assert record is not None
            assert record.recorded_state is ConsentState.EXPIRED
            assert record.events[-1].event.actor == "hub"
            digest = record.events[-1].event.digest_of(record.events[-1].jws)
            entries = SqlLedgerRepository(session).find_by_digests({digest})
            assert [e.kind for e in entries] == [EntryKind.CONSENT_EVENT.value]
        database.dispose()
