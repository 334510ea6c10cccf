"""Webhook subscriptions and the outbox: messages written with the event, delivered later.

:class:`SqlNotifier` inserts one message per interested subscription in the caller's
transaction, so an event and the news of it commit or roll back together: no message for an
event that did not happen, and no event whose message can be lost. Workers then lease due
messages with :meth:`SqlOutbox.claim`, send them outside any transaction, and record the
outcome.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``: on
PostgreSQL several hub workers skip each other's rows instead of waiting or taking them twice;
SQLite ignores the locking clause, and there the single statement takes the database's one
write lock, so two claimers run one after the other and the second sees the first's lease.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import CursorResult, Result, Row
from sqlalchemy.orm import Session

from bayflow.clock import Clock, SystemClock
from bayflow.crypto.jose import dumps_json, loads_json_object
from bayflow.exchange.notifications import ClaimedMessage, Notification, OutboxEntry, Subscription
from bayflow.ids import new_id
from bayflow.store.driver import DriverListStatement
from bayflow.store.engine import Database
from bayflow.store.tables import webhook_messages, webhook_subscriptions

__all__ = ["SqlNotifier", "SqlOutbox", "SqlWebhookRepository", "outbox_transaction"]

_MESSAGE_PREFIX = "msg"
_MAX_ERROR = 500
_REMOVED = "the subscription was removed"

# Every event asks for its organisation's subscriptions: built once, its compiled SQL reused.
_SUBSCRIPTIONS: Final = (
    select(webhook_subscriptions)
    .where(
        webhook_subscriptions.c.organisation_id == bindparam("organisation_id"),
        webhook_subscriptions.c.active.is_(True),
    )
    .order_by(webhook_subscriptions.c.created_at, webhook_subscriptions.c.id)
)
# The active subscriptions of several organisations, for one notice to each of them.
_SUBSCRIPTIONS_OF: Final = DriverListStatement(
    lambda organisation_ids: (
        select(webhook_subscriptions)
        .where(
            webhook_subscriptions.c.organisation_id.in_(organisation_ids),
            webhook_subscriptions.c.active.is_(True),
        )
        .order_by(webhook_subscriptions.c.created_at, webhook_subscriptions.c.id)
    )
)
_INSERT_MESSAGE: Final = insert(webhook_messages)


def _rowcount(result: Result[Any]) -> int:
    # Session.execute is typed to return a Result; an UPDATE's is a CursorResult, which counts.
    if not isinstance(result, CursorResult):  # pragma: no cover - SQLAlchemy's contract
        raise TypeError("expected a CursorResult from an UPDATE")
    return result.rowcount


def _event_types(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        id=row.id,
        organisation_id=row.organisation_id,
        url=row.url,
        event_types=_event_types(row.event_types),
        created_at=row.created_at,
        active=row.active,
    )


def _notification(row: Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        organisation_id=row.organisation_id,
        event_type=row.event_type,
        payload=loads_json_object(row.payload, what="stored webhook payload"),
        created_at=row.created_at,
    )


class SqlWebhookRepository:
    """Subscriptions and the outbox as their organisation sees them."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_subscription(self, subscription: Subscription) -> None:
        self._session.execute(
            insert(webhook_subscriptions).values(
                id=subscription.id,
                organisation_id=subscription.organisation_id,
                url=subscription.url,
                event_types=" ".join(sorted(subscription.event_types)),
                created_at=subscription.created_at,
                active=subscription.active,
            )
        )

    def subscriptions(self, organisation_id: str) -> list[Subscription]:
        """The organisation's active subscriptions, oldest first."""
        rows = self._session.execute(_SUBSCRIPTIONS, {"organisation_id": organisation_id})
        return [_subscription(row) for row in rows]

    def remove_subscription(
        self, organisation_id: str, subscription_id: str, *, now: datetime
    ) -> bool:
        """Deactivate a subscription and give up its pending messages; False if none was active.

        A message a worker is sending at this moment may still arrive; its outcome is not
        recorded, because the message is dead already.
        """
        result = self._session.execute(
            update(webhook_subscriptions)
            .where(
                webhook_subscriptions.c.id == subscription_id,
                webhook_subscriptions.c.organisation_id == organisation_id,
                webhook_subscriptions.c.active.is_(True),
            )
            .values(active=False)
        )
        if _rowcount(result) == 0:
            return False
        self._session.execute(
            update(webhook_messages)
            .where(
                webhook_messages.c.subscription_id == subscription_id,
                webhook_messages.c.next_attempt_at.is_not(None),
            )
            .values(next_attempt_at=None, dead_at=now, last_error=_REMOVED)
        )
        return True

    def recent(self, organisation_id: str, *, limit: int = 50) -> list[OutboxEntry]:
        """The organisation's newest messages, newest first, with their delivery state."""
        m = webhook_messages.c
        rows = self._session.execute(
            select(webhook_messages)
            .where(m.organisation_id == organisation_id)
            .order_by(m.created_at.desc(), m.id.desc())
            .limit(limit)
        )
        return [
            OutboxEntry(
                notification=_notification(row),
                subscription_id=row.subscription_id,
                url=row.url,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                delivered_at=row.delivered_at,
                dead_at=row.dead_at,
                last_status=row.last_status,
                last_error=row.last_error,
            )
            for row in rows
        ]


class SqlNotifier:
    """A :class:`~bayflow.consent.interfaces.Notifier` that writes to the outbox.

    Each call inserts one message per active subscription of the organisation that wants the
    event type, due at once, in the session's transaction. An organisation without one gets
    nothing: there is nowhere to send it.
    """

    def __init__(self, session: Session, clock: Clock | None = None) -> None:
        self._session = session
        self._clock = clock or SystemClock()

    def notify(self, recipients: Sequence[tuple[str, str]], payload: Mapping[str, object]) -> None:
        """One payload to each ``(organisation, event type)``: one query for all of them."""
        if not recipients:
            return
        # Serialised now, so a payload that is not JSON fails the event, not a later delivery.
        payload_text = dumps_json(dict(payload)).decode("utf-8")
        now = self._clock.now()
        wanted: dict[str, list[str]] = {}
        for organisation_id, event_type in recipients:
            wanted.setdefault(organisation_id, []).append(event_type)
        rows = _SUBSCRIPTIONS_OF.rows(self._session, list(wanted))
        messages = [
            {
                "id": new_id(_MESSAGE_PREFIX),
                "subscription_id": target.id,
                "organisation_id": target.organisation_id,
                "event_type": event_type,
                "payload": payload_text,
                "url": target.url,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
                "claim": None,
            }
            for target in map(_subscription, rows)
            for event_type in wanted[target.organisation_id]
            if target.wants(event_type)
        ]
        if messages:
            self._session.execute(_INSERT_MESSAGE, messages)


class SqlOutbox:
    """The workers' side of the outbox: lease due messages, record what became of them."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim(self, *, now: datetime, limit: int, lease: timedelta) -> list[ClaimedMessage]:
        """Lease up to ``limit`` due messages, oldest due first, for one attempt each.

        A leased message is not due again until ``now + lease``: if its worker dies mid-send,
        another worker retries it then.
        """
        m = webhook_messages.c
        token = secrets.token_hex(16)
        due = (
            select(m.id)
            .where(m.next_attempt_at <= now)
            .order_by(m.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = self._session.execute(
            update(webhook_messages)
            .where(m.id.in_(due))
            .values(claim=token, attempts=m.attempts + 1, next_attempt_at=now + lease)
            .returning(
                m.id, m.organisation_id, m.event_type, m.payload, m.created_at, m.url, m.attempts
            )
        ).all()
        claimed = [ClaimedMessage(_notification(row), row.url, row.attempts, token) for row in rows]
        return sorted(claimed, key=lambda c: (c.notification.created_at, c.notification.id))

    def _settle(self, message: ClaimedMessage, **values: object) -> bool:
        m = webhook_messages.c
        result = self._session.execute(
            update(webhook_messages)
            .where(
                and_(
                    m.id == message.notification.id,
                    m.claim == message.claim,
                    m.delivered_at.is_(None),
                    m.dead_at.is_(None),
                )
            )
            .values(claim=None, **values)
        )
        return _rowcount(result) == 1

    def mark_delivered(self, message: ClaimedMessage, *, now: datetime, status: int) -> bool:
        """Record a 2xx answer; False if the lease was lost meanwhile."""
        return self._settle(
            message, delivered_at=now, next_attempt_at=None, last_status=status, last_error=None
        )

    def mark_failed(
        self,
        message: ClaimedMessage,
        *,
        now: datetime,
        status: int | None,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        """Record a failed attempt: retry at ``retry_at``, or give up if it is None."""
        values: dict[str, object] = {
            "last_status": status,
            "last_error": error[:_MAX_ERROR],
            "next_attempt_at": retry_at,
        }
        if retry_at is None:
            values["dead_at"] = now
        return self._settle(message, **values)

    def next_due(self) -> datetime | None:
        """When the earliest pending message falls due (or its lease ends); None if none."""
        m = webhook_messages.c
        return self._session.execute(
            select(m.next_attempt_at)
            .where(m.next_attempt_at.is_not(None))
            .order_by(m.next_attempt_at)
            .limit(1)
        ).scalar_one_or_none()


@contextmanager
def outbox_transaction(database: Database) -> Iterator[SqlOutbox]:
    """One short transaction on the outbox, for a worker outside any request."""
    with database.transaction() as session:
        yield SqlOutbox(session)
