"""Consent: requesting, approving and revoking, each step signed and anchored.

The consumer's person signs the ``request`` event over the terms; a person of the data owner
who holds a mandate signs ``approve``, ``reject``, ``pause``, ``resume`` and ``revoke``; the
hub signs ``expire``. Each signed event is stored with the consent and its digest anchored in
the verification ledger in the same transaction, so the audit trail cannot be changed without
the ledger showing it.

Events carry the sequence number and state they follow: a client signs "from active, event 3",
and if someone else moved the consent first the hub refuses the stale event instead of
reordering history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from bayflow.clock import Clock
from bayflow.consent.errors import (
    ConsentInactive,
    ConsentSignatureInvalid,
    DateRangeOutside,
    FrequencyExceeded,
    InvalidConsent,
    ProductNotInScope,
    TransitionNotAllowed,
)
from bayflow.consent.interfaces import (
    ConsentRecord,
    ConsentRepository,
    EventAnchor,
    NoNotifier,
    Notifier,
    ProductCatalogue,
    SignedEvent,
)
from bayflow.consent.lifecycle import (
    HUB_ACTOR,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    state_at,
)
from bayflow.consent.models import ConsentTerms, FetchType, ProductScope
from bayflow.consent.signing import KeyLookup, sign_event, verify_event
from bayflow.crypto.jose import PrivateJWK
from bayflow.errors import NotFound
from bayflow.identity.errors import MandateNotSatisfied
from bayflow.identity.mandates import NoAuthority
from bayflow.identity.models import KeyOwner
from bayflow.identity.service import IdentityService
from bayflow.ledger.entry import EntryKind

__all__ = ["CLOCK_SKEW", "EVENT_SCHEMA", "ConsentService"]

CLOCK_SKEW: Final = timedelta(minutes=5)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_SCHEMA: Final = "bayflow-consent-event/1"


class ConsentService:
    def __init__(
        self,
        repository: ConsentRepository,
        identity: IdentityService,
        catalogue: ProductCatalogue,
        anchor: EventAnchor,
        clock: Clock,
        *,
        hub_key: PrivateJWK,
        notifier: Notifier | None = None,
    ) -> None:
        self._repo = repository
        self._identity = identity
        self._catalogue = catalogue
        self._anchor = anchor
        self._clock = clock
        self._hub_key = hub_key
        self._notifier = notifier or NoNotifier()

    # Keys ---------------------------------------------------------------------------------

    def _resolve(self, kid: str) -> KeyLookup | None:
        if kid == self._hub_key.kid:
            public = self._hub_key.public.raw_ed25519
            return KeyLookup(public, HUB_ACTOR, _EPOCH, None)
        key = self._identity.key_or_none(kid)
        if key is None or key.owner is not KeyOwner.PERSON:
            return None
        return KeyLookup(key.public_key, key.owner_id, key.created_at, key.retired_at)

    def _record(self, terms: ConsentTerms, signed: SignedEvent, *, first: bool) -> None:
        if first:
            self._repo.add_version(terms, signed)
        else:
            self._repo.append_event(terms, signed)
        digest = signed.event.digest_of(signed.jws)
        self._anchor.anchor(
            kind=EntryKind.CONSENT_EVENT,
            digest=digest,
            schema=EVENT_SCHEMA,
            issuer=terms.data_owner,
        )
        self._notify(terms, signed, digest)

    def _notify(self, terms: ConsentTerms, signed: SignedEvent, digest: bytes) -> None:
        event = signed.event
        # Event types read "consent.requested", "consent.active", "consent.revoked"...
        event_type = f"consent.{event.to_state.value}"
        payload: dict[str, object] = {
            "consent": terms.id,
            "version": terms.version,
            "state": event.to_state.value,
            "action": event.action.value,
            "at": event.at.isoformat(),
            "event_digest": digest.hex(),
        }
        # The party who acted knows already; everyone else with a stake is told.
        parties = {terms.data_owner, terms.consumer, *(p.provider for p in terms.products)}
        if event.action is ConsentAction.REQUEST:
            parties = {terms.data_owner}
        elif event.action.by_owner:
            parties.discard(terms.data_owner)
        self._notifier.notify([(party, event_type) for party in sorted(parties)], payload)

    # Requesting ---------------------------------------------------------------------------

    def request(
        self, terms: ConsentTerms, signed_event: str, *, caller_person: str, caller_org: str
    ) -> ConsentRecord:
        """Record a consumer's signed request for ``terms`` (version 1 or an amendment)."""
        # 0. The caller speaks for the consumer.
        if caller_org != terms.consumer:
            raise InvalidConsent("only the consumer named in the terms may request them")
        now = self._clock.now()
        # 1. The terms are fresh, and name organisations and products that exist.
        if abs(terms.created_at - now) > CLOCK_SKEW:
            raise InvalidConsent(
                "the terms' created_at is more than 5 minutes from the hub's clock"
            )
        for org_id in {terms.data_owner, *(p.provider for p in terms.products)}:
            self._identity.organisation(org_id)
        missing = self._catalogue.missing(terms.products)
        if missing:
            names = ", ".join(f"{p.provider}/{p.product}" for p in missing)
            raise InvalidConsent(f"no such data product: {names}")
        # 2. Versions follow one another.
        versions = self._repo.versions(terms.id)
        if terms.version != len(versions) + 1:
            expected = len(versions) + 1
            raise TransitionNotAllowed(f"consent {terms.id}: the next version is {expected}")
        if versions:
            latest = versions[-1].terms
            if terms.previous_digest != latest.digest():
                raise InvalidConsent("the amendment does not name the current version's digest")
            if (latest.data_owner, latest.consumer) != (terms.data_owner, terms.consumer):
                raise InvalidConsent("an amendment keeps the data owner and the consumer")
        # 3. The signed request event is the caller's, over exactly these terms.
        event = verify_event(signed_event, self._resolve)
        self._check_event(event, terms, ConsentAction.REQUEST, None, 0, caller_person, now)
        self._identity.person(caller_person, organisation_id=terms.consumer)
        signed = SignedEvent(event, signed_event)
        self._record(terms, signed, first=True)
        return ConsentRecord(terms, (signed,))

    @staticmethod
    def _check_event(  # noqa: PLR0917 - the expected event, spelled out field by field.
        event: ConsentEvent,
        terms: ConsentTerms,
        action: ConsentAction,
        state: ConsentState | None,
        seq: int,
        actor: str,
        now: datetime,
    ) -> None:
        if event.action is not action:
            raise InvalidConsent(f"expected a {action.value} event, got {event.action.value}")
        if (event.consent_id, event.version) != (terms.id, terms.version):
            raise InvalidConsent("the event is for another consent or version")
        if event.terms_digest != terms.digest():
            raise ConsentSignatureInvalid("the event was signed over other terms")
        if event.actor != actor:
            raise ConsentSignatureInvalid("the event is signed by someone other than the caller")
        if event.seq != seq or event.from_state is not state:
            raise TransitionNotAllowed(
                f"the consent moved on (now event {seq}, "
                f"{state.value if state else 'new'}): fetch it and sign again"
            )
        if abs(event.at - now) > CLOCK_SKEW:
            raise InvalidConsent("the event's time is more than 5 minutes from the hub's clock")

    # The data owner's actions -------------------------------------------------------------

    def act(
        self,
        consent_id: str,
        signed_event: str,
        *,
        caller_person: str,
        caller_org: str,
        version: int | None = None,
    ) -> ConsentRecord:
        """Apply an owner's signed approve, reject, pause, resume or revoke."""
        record = self.get(consent_id, viewer_org=caller_org, version=version)
        terms = record.terms
        now = self._clock.now()
        # 0. Only the data owner's people act on a consent.
        if caller_org != terms.data_owner:
            raise NotFound(f"no consent {consent_id}")
        # 1. The signature holds and is the caller's.
        event = verify_event(signed_event, self._resolve)
        if not event.action.by_owner:
            raise InvalidConsent(f"{event.action.value} is not an action of the data owner")
        # 2. A consent past its expiry takes no more actions.
        current = state_at(terms, [e.event for e in record.events], now)
        if current is ConsentState.EXPIRED and record.recorded_state is not ConsentState.EXPIRED:
            self._expire(record, now)
            raise TransitionNotAllowed(f"consent {consent_id} expired at {terms.expires_at}")
        self._check_event(
            event,
            terms,
            event.action,
            record.recorded_state,
            len(record.events),
            caller_person,
            now,
        )
        # 3. The signer holds a mandate for this action.
        authority = self._identity.check_authority(
            terms.data_owner, [caller_person], action=f"consent:{event.action.value}", now=now
        )
        if isinstance(authority, NoAuthority):
            raise MandateNotSatisfied(
                f"the signer may not {event.action.value} consents for the data owner: "
                + "; ".join(authority.reasons),
                reasons=list(authority.reasons),
            )
        signed = SignedEvent(event, signed_event)
        self._record(terms, signed, first=False)
        return ConsentRecord(terms, (*record.events, signed))

    # Expiry -------------------------------------------------------------------------------

    def _expire(self, record: ConsentRecord, now: datetime) -> ConsentRecord:
        terms = record.terms
        event = ConsentEvent(
            consent_id=terms.id,
            version=terms.version,
            seq=len(record.events),
            terms_digest=terms.digest(),
            action=ConsentAction.EXPIRE,
            from_state=record.recorded_state,
            to_state=ConsentState.EXPIRED,
            actor=HUB_ACTOR,
            at=max(now, terms.expires_at),
        )
        signed = SignedEvent(event, sign_event(event, self._hub_key))
        self._record(terms, signed, first=False)
        return ConsentRecord(terms, (*record.events, signed))

    def expire_due(self) -> int:
        """Record signed expiry events for every live consent past its expiry; returns how many.

        A convenience for the background sweep: checks never depend on it, since
        :func:`state_at` already reports expiry from ``now``.
        """
        now = self._clock.now()
        records = self._repo.due_to_expire(now)
        for record in records:
            self._expire(record, now)
        return len(records)

    # Reading ------------------------------------------------------------------------------

    def get(self, consent_id: str, *, viewer_org: str, version: int | None = None) -> ConsentRecord:
        """A version (default: the latest) visible to the owner, the consumer and its providers."""
        record = self._repo.get(consent_id, version)
        if record is None or not _visible_to(record.terms, viewer_org):
            raise NotFound(f"no consent {consent_id}")
        return record

    def in_force(self, consent_id: str, *, viewer_org: str) -> ConsentRecord:
        """The version requests are made under: the newest active one, else the newest.

        An amendment waits for approval while the version before it keeps serving; once the
        amendment is approved it takes over (the owner may then revoke the older version).
        """
        records = self.history(consent_id, viewer_org=viewer_org)
        now = self._clock.now()
        for record in reversed(records):
            if state_at(record.terms, [e.event for e in record.events], now) is ConsentState.ACTIVE:
                return record
        return records[-1]

    def history(self, consent_id: str, *, viewer_org: str) -> list[ConsentRecord]:
        records = self._repo.versions(consent_id)
        if not records or not _visible_to(records[-1].terms, viewer_org):
            raise NotFound(f"no consent {consent_id}")
        return records

    def list_for(self, organisation_id: str) -> list[ConsentRecord]:
        return self._repo.list_for_organisation(organisation_id)

    def state_of(self, record: ConsentRecord) -> ConsentState:
        return state_at(record.terms, [e.event for e in record.events], self._clock.now())

    # Use by the exchange ------------------------------------------------------------------

    def require_usable(
        self,
        record: ConsentRecord,
        *,
        consumer: str,
        product: ProductScope,
        data_from: datetime | None,
        data_to: datetime | None,
        fetches_in_window: int,
        now: datetime,
    ) -> None:
        """Raise unless ``consumer`` may fetch ``product`` for these dates under ``record`` now.

        ``fetches_in_window`` is how many fetches of this product were already made in the
        frequency window ending now (for a one-off consent: ever).
        """
        terms = record.terms
        if consumer != terms.consumer:
            raise NotFound(f"no consent {terms.id}")
        state = state_at(terms, [e.event for e in record.events], now)
        if state is not ConsentState.ACTIVE:
            raise ConsentInactive(f"consent {terms.id} is {state.value}")
        if not terms.covers(product):
            raise ProductNotInScope(
                f"consent {terms.id} does not cover {product.provider}/{product.product}"
            )
        if data_from is not None and data_from.date() < terms.data_from:
            raise DateRangeOutside(f"data before {terms.data_from} is outside consent {terms.id}")
        if data_to is not None and data_to.date() > terms.data_to:
            raise DateRangeOutside(f"data after {terms.data_to} is outside consent {terms.id}")
        if terms.fetch_type is FetchType.ONCE:
            if fetches_in_window >= 1:
                raise FrequencyExceeded(f"consent {terms.id} allows one fetch, already made")
        else:
            assert terms.frequency is not None
            if fetches_in_window >= terms.frequency.value:
                raise FrequencyExceeded(
                    f"consent {terms.id} allows {terms.frequency.value} fetch(es) per "
                    f"{terms.frequency.unit.value}; the limit is reached"
                )


def _visible_to(terms: ConsentTerms, organisation_id: str) -> bool:
    return organisation_id in {terms.data_owner, terms.consumer} or any(
        p.provider == organisation_id for p in terms.products
    )
