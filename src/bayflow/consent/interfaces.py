"""What the consent service needs from around it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bayflow.consent.lifecycle import ConsentEvent, ConsentState
from bayflow.consent.models import ConsentTerms, ProductScope
from bayflow.errors import DevelopmentModeWarning
from bayflow.ledger.entry import EntryKind

__all__ = [
    "ConsentRecord",
    "ConsentRepository",
    "EventAnchor",
    "NoNotifier",
    "Notifier",
    "ProductCatalogue",
    "SignedEvent",
    "UnsafeNoAnchor",
]


@dataclass(frozen=True, slots=True)
class SignedEvent:
    event: ConsentEvent
    jws: str


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One version of a consent, with its signed history."""

    terms: ConsentTerms
    events: tuple[SignedEvent, ...]

    @property
    def recorded_state(self) -> ConsentState:
        return self.events[-1].event.to_state


class ConsentRepository(Protocol):
    def add_version(self, terms: ConsentTerms, first: SignedEvent) -> None: ...
    def append_event(self, terms: ConsentTerms, signed: SignedEvent) -> None: ...
    def get(self, consent_id: str, version: int | None = None) -> ConsentRecord | None: ...
    def versions(self, consent_id: str) -> list[ConsentRecord]: ...
    def list_for_organisation(self, organisation_id: str) -> list[ConsentRecord]: ...
    def due_to_expire(self, now: datetime) -> list[ConsentRecord]: ...


class ProductCatalogue(Protocol):
    def missing(self, products: Sequence[ProductScope]) -> list[ProductScope]:
        """The products that no provider publishes."""
        ...


class Notifier(Protocol):
    """Queues one notification to several organisations, inside the caller's transaction.

    The outbox behind it delivers later, with retries, so a receiver that is down loses nothing.
    """

    def notify(self, recipients: Sequence[tuple[str, str]], payload: dict[str, object]) -> None:
        """Queue ``payload`` to each ``(organisation, event type)`` of ``recipients``."""
        ...


class NoNotifier:
    """Sends nothing: for deployments and tests without webhooks."""

    def notify(self, recipients: Sequence[tuple[str, str]], payload: dict[str, object]) -> None:
        del recipients, payload


class EventAnchor(Protocol):
    """Anchors a digest in the verification ledger, inside the caller's transaction."""

    def anchor(self, *, kind: EntryKind, digest: bytes, schema: str, issuer: str) -> None: ...


class UnsafeNoAnchor:
    """Anchors nothing: for tests of consent logic alone, never for a hub.

    Warns on creation and on every use, so it cannot slip into production unnoticed.
    """

    def __init__(self) -> None:
        warnings.warn(
            "UnsafeNoAnchor: consent events are not anchored in the ledger",
            DevelopmentModeWarning,
            stacklevel=2,
        )
        self.anchored: list[tuple[EntryKind, bytes, str, str]] = []

    def anchor(self, *, kind: EntryKind, digest: bytes, schema: str, issuer: str) -> None:
        warnings.warn("UnsafeNoAnchor.anchor called", DevelopmentModeWarning, stacklevel=2)
        self.anchored.append((kind, digest, schema, issuer))
