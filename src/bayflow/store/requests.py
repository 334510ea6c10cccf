"""The access journal: data requests routed under consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import BindParameter, bindparam, func, insert, literal_column, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from bayflow.exchange.requests import DataRequest, RequestStatus
from bayflow.store.driver import DriverStatement
from bayflow.store.tables import data_requests

__all__ = ["SqlRequestRepository"]

# The statements of the request path, built once so that SQLAlchemy reuses their compiled SQL
# instead of building and hashing a new statement on every request.
_C: Final = data_requests.c
_BINDS: Final[dict[str, BindParameter[Any]]] = {
    c.name: bindparam(c.name, type_=c.type) for c in data_requests.c if c.name != "seq"
}
# The requests under one consent for one product: the unit the frequency limit counts.
_KEY: Final = (
    _C.consent_id == _BINDS["consent_id"],
    _C.provider == _BINDS["provider"],
    _C.product == _BINDS["product"],
)
_SINCE: Final = bindparam("since", type_=_C.created_at.type)

# A request is numbered one past the latest number for its key, in the same statement (an
# index seek on ix_data_requests_seq). The index is not unique on purpose: on PostgreSQL two
# transactions recording requests for the same key at once may both read the same latest
# number, and neither fails. Such a pair then counts as one request below, a tolerance the plain
# count already had (two concurrent requests may both pass the limit before either is recorded).
# The number is a subquery in VALUES rather than an INSERT … SELECT: SQLite copies the rows of
# an INSERT … SELECT from its own table through a temporary table, and SQLAlchemy prepares the
# parameters of the SELECT more slowly (on SQLite an add took 51 µs so, 41 µs this way, and
# 31 µs with no number at all).
_NEXT_SEQ: Final = select(func.coalesce(func.max(_C.seq), 0) + 1).where(*_KEY).scalar_subquery()
_INSERT: Final = DriverStatement(insert(data_requests).values({**_BINDS, "seq": _NEXT_SEQ}))
_UPDATE: Final = DriverStatement(
    update(data_requests).where(data_requests.c.id == bindparam("request_id"))
)
_GET: Final = DriverStatement(
    select(data_requests).where(data_requests.c.id == bindparam("request_id"))
)

# The non-failed requests of a window are latest - first + 1 - failed, read in one statement of
# three index seeks whatever the window holds:
# - latest: the highest number for the key (ix_data_requests_seq);
# - first: the number of the window's earliest request (ix_data_requests_window; among requests
#   recorded at the same instant, the lowest number), NULL when the window is empty;
# - failed: the window's failed requests, which are rare (ix_data_requests_status).
# This is the exact count as long as numbers follow created_at within a key, which holds because
# a key's requests are recorded in time order. Should the clock step backwards between two of a
# key's requests, a window that holds requests from before and after the step, or begins
# within it, may count too many or too few, by at most the number of requests recorded out of
# time order; the difference may then fall below zero, where it is cut off. Windows that begin
# once the clock has caught up are exact again. LIMIT is a literal so that PostgreSQL plans the
# prepared statement for reading one row.
_LATEST: Final = select(func.max(_C.seq)).where(*_KEY).scalar_subquery()
_FIRST: Final = (
    select(_C.seq)
    .where(*_KEY, _C.created_at >= _SINCE)
    .order_by(_C.created_at, _C.seq)
    .limit(literal_column("1"))
    .scalar_subquery()
)
_FAILED: Final = (
    select(func.count())
    .select_from(data_requests)
    .where(*_KEY, _C.status == RequestStatus.FAILED.value, _C.created_at >= _SINCE)
    .scalar_subquery()
)
_COUNT_SINCE: Final = DriverStatement(select(_LATEST, _FIRST, _FAILED))


def _request(row: Row[Any]) -> DataRequest:
    return DataRequest(
        id=row.id,
        consent_id=row.consent_id,
        consent_version=row.consent_version,
        consumer=row.consumer,
        consumer_person=row.consumer_person,
        provider=row.provider,
        product=row.product,
        data_from=row.data_from,
        data_to=row.data_to,
        status=RequestStatus(row.status),
        created_at=row.created_at,
        completed_at=row.completed_at,
        ciphertext_digest=bytes(row.ciphertext_digest) if row.ciphertext_digest else None,
        receipt=row.receipt,
        failure=row.failure,
        deleted_at=row.deleted_at,
        deletion_receipt=row.deletion_receipt,
        decision_id=row.decision_id,
        decision_digest=bytes(row.decision_digest) if row.decision_digest else None,
        decision_basis=row.decision_basis,
    )


def _values(request: DataRequest) -> dict[str, Any]:
    return {
        "consent_id": request.consent_id,
        "consent_version": request.consent_version,
        "consumer": request.consumer,
        "consumer_person": request.consumer_person,
        "provider": request.provider,
        "product": request.product,
        "data_from": request.data_from,
        "data_to": request.data_to,
        "status": request.status.value,
        "created_at": request.created_at,
        "completed_at": request.completed_at,
        "ciphertext_digest": request.ciphertext_digest,
        "receipt": request.receipt,
        "failure": request.failure,
        "deleted_at": request.deleted_at,
        "deletion_receipt": request.deletion_receipt,
        "decision_id": request.decision_id,
        "decision_digest": request.decision_digest,
        "decision_basis": request.decision_basis,
    }


class SqlRequestRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, request: DataRequest) -> None:
        _INSERT.run(self._session, {"id": request.id, **_values(request)})

    def update(self, request: DataRequest) -> None:
        _UPDATE.run(self._session, {"request_id": request.id, **_values(request)})

    def get(self, request_id: str) -> DataRequest | None:
        row = _GET.one_or_none(self._session, {"request_id": request_id})
        return _request(row) if row else None

    def count_since(self, consent_id: str, provider: str, product: str, since: datetime) -> int:
        params = {"consent_id": consent_id, "provider": provider, "product": product}
        row = _COUNT_SINCE.one_or_none(self._session, {**params, "since": since})
        assert row is not None  # an aggregate query has one row
        latest, first, failed = row
        if first is None:
            return 0
        return max(0, int(latest) - int(first) + 1 - int(failed))

    def list_for_consent(self, consent_id: str) -> list[DataRequest]:
        rows = self._session.execute(
            select(data_requests)
            .where(data_requests.c.consent_id == consent_id)
            .order_by(data_requests.c.created_at, data_requests.c.id)
        ).all()
        return [_request(r) for r in rows]
