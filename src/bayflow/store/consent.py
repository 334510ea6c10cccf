"""Consent persistence: versions with their canonical terms, and their signed events.

Every read queries the database, so the state of a consent (which events it has) is always
fresh. What is stored never changes, though: a version's canonical terms and each signed
event are immutable. Their parsed forms are kept in small per-process caches keyed by the
stored text itself, so a cache entry can only ever stand for exactly that text, never for
another state of the consent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import lru_cache
from typing import Final

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bayflow.consent.errors import TransitionNotAllowed
from bayflow.consent.interfaces import ConsentRecord, SignedEvent
from bayflow.consent.lifecycle import LIVE_STATES, ConsentEvent
from bayflow.consent.models import ConsentTerms
from bayflow.crypto.jose import CompactJWS, loads_json_object
from bayflow.errors import Conflict
from bayflow.store.driver import DriverStatement
from bayflow.store.tables import consent_events, consent_products, consents

__all__ = ["SqlConsentRepository"]

# Built once: SQLAlchemy then reuses the compiled SQL without rebuilding the statement.
_VERSIONS: Final = DriverStatement(
    select(consents.c.id, consents.c.version, consents.c.terms)
    .where(consents.c.id == bindparam("consent_id"))
    .order_by(consents.c.version)
)
_EVENTS_OF_CONSENT: Final = DriverStatement(
    select(consent_events.c.version, consent_events.c.jws)
    .where(consent_events.c.consent_id == bindparam("consent_id"))
    .order_by(consent_events.c.version, consent_events.c.seq)
)


class SqlConsentRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_version(self, terms: ConsentTerms, first: SignedEvent) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(consents).values(
                        id=terms.id,
                        version=terms.version,
                        terms=terms.canonical_bytes().decode("utf-8"),
                        digest=terms.digest(),
                        data_owner=terms.data_owner,
                        consumer=terms.consumer,
                        state=first.event.to_state.value,
                        expires_at=terms.expires_at,
                        created_at=terms.created_at,
                    )
                )
                self._session.execute(
                    insert(consent_products),
                    [
                        {
                            "consent_id": terms.id,
                            "version": terms.version,
                            "provider": p.provider,
                            "product": p.product,
                        }
                        for p in terms.products
                    ],
                )
        except IntegrityError as exc:
            raise Conflict(f"consent {terms.id} version {terms.version} exists") from exc
        self._insert_event(first)

    def _insert_event(self, signed: SignedEvent) -> None:
        event = signed.event
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(consent_events).values(
                        consent_id=event.consent_id,
                        version=event.version,
                        seq=event.seq,
                        action=event.action.value,
                        to_state=event.to_state.value,
                        actor=event.actor,
                        at=event.at,
                        jws=signed.jws,
                        digest=event.digest_of(signed.jws),
                    )
                )
        except IntegrityError as exc:
            raise TransitionNotAllowed(
                f"consent {event.consent_id} already has event {event.seq}: fetch it and sign again"
            ) from exc

    def append_event(self, terms: ConsentTerms, signed: SignedEvent) -> None:
        self._insert_event(signed)
        self._session.execute(
            update(consents)
            .where(consents.c.id == terms.id, consents.c.version == terms.version)
            .values(state=signed.event.to_state.value)
        )

    def _events(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[SignedEvent]]:
        found: dict[tuple[str, int], list[SignedEvent]] = defaultdict(list)
        if not keys:
            return found
        rows = self._session.execute(
            select(consent_events)
            .where(
                or_(
                    *(
                        and_(consent_events.c.consent_id == cid, consent_events.c.version == v)
                        for cid, v in keys
                    )
                )
            )
            .order_by(consent_events.c.consent_id, consent_events.c.version, consent_events.c.seq)
        ).all()
        for row in rows:
            found[(row.consent_id, row.version)].append(_signed_event(row.jws))
        return found

    def _records(self, rows: list[tuple[str, int, str]]) -> list[ConsentRecord]:
        events = self._events([(cid, v) for cid, v, _ in rows])
        return [
            ConsentRecord(_parsed_terms(text), tuple(events[(cid, v)])) for cid, v, text in rows
        ]

    def get(self, consent_id: str, version: int | None = None) -> ConsentRecord | None:
        query = select(consents.c.id, consents.c.version, consents.c.terms).where(
            consents.c.id == consent_id
        )
        if version is not None:
            query = query.where(consents.c.version == version)
        row = self._session.execute(query.order_by(consents.c.version.desc()).limit(1)).first()
        if row is None:
            return None
        return self._records([(row.id, row.version, row.terms)])[0]

    def versions(self, consent_id: str) -> list[ConsentRecord]:
        params = {"consent_id": consent_id}
        rows = _VERSIONS.rows(self._session, params)
        if not rows:
            return []
        events: dict[int, list[SignedEvent]] = defaultdict(list)
        for row in _EVENTS_OF_CONSENT.rows(self._session, params):
            events[row.version].append(_signed_event(row.jws))
        return [ConsentRecord(_parsed_terms(r.terms), tuple(events[r.version])) for r in rows]

    def list_for_organisation(self, organisation_id: str) -> list[ConsentRecord]:
        as_provider = select(consent_products.c.consent_id).where(
            consent_products.c.provider == organisation_id
        )
        rows = self._session.execute(
            select(consents.c.id, consents.c.version, consents.c.terms)
            .where(
                or_(
                    consents.c.data_owner == organisation_id,
                    consents.c.consumer == organisation_id,
                    consents.c.id.in_(as_provider),
                )
            )
            .order_by(consents.c.created_at, consents.c.id, consents.c.version)
        ).all()
        return self._records([(r.id, r.version, r.terms) for r in rows])

    def due_to_expire(self, now: datetime) -> list[ConsentRecord]:
        rows = self._session.execute(
            select(consents.c.id, consents.c.version, consents.c.terms).where(
                consents.c.expires_at <= now,
                consents.c.state.in_([s.value for s in LIVE_STATES]),
            )
        ).all()
        return self._records([(r.id, r.version, r.terms) for r in rows])


# Terms and events are frozen dataclasses, so sharing one parsed object between readers is safe.


@lru_cache(maxsize=4096)
def _parsed_terms(text: str) -> ConsentTerms:
    return ConsentTerms.from_json(loads_json_object(text, what="stored consent terms"))


@lru_cache(maxsize=16384)
def _signed_event(jws: str) -> SignedEvent:
    # Events were verified before they were stored; reading them back only decodes.
    payload = loads_json_object(CompactJWS.parse(jws).payload, what="stored consent event")
    return SignedEvent(ConsentEvent.from_json(payload), jws)
