"""The access journal: data requests routed under consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from bayflow.exchange.requests import DataRequest, RequestStatus
from bayflow.store.tables import data_requests

__all__ = ["SqlRequestRepository"]

# The statements of the request path, built once so that SQLAlchemy reuses their compiled SQL
# instead of building and hashing a new statement on every request.
_INSERT: Final = insert(data_requests)
_UPDATE: Final = update(data_requests).where(data_requests.c.id == bindparam("request_id"))
_GET: Final = select(data_requests).where(data_requests.c.id == bindparam("request_id"))
_COUNT_SINCE: Final = select(func.count()).where(
    data_requests.c.consent_id == bindparam("consent_id"),
    data_requests.c.provider == bindparam("provider"),
    data_requests.c.product == bindparam("product"),
    data_requests.c.created_at >= bindparam("since", type_=data_requests.c.created_at.type),
    data_requests.c.status != RequestStatus.FAILED.value,
)


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
        self._session.execute(_INSERT, {"id": request.id, **_values(request)})

    def update(self, request: DataRequest) -> None:
        self._session.execute(_UPDATE, {"request_id": request.id, **_values(request)})

    def get(self, request_id: str) -> DataRequest | None:
        row = self._session.execute(_GET, {"request_id": request_id}).one_or_none()
        return _request(row) if row else None

    def count_since(self, consent_id: str, provider: str, product: str, since: datetime) -> int:
        params = {"consent_id": consent_id, "provider": provider, "product": product}
        count = self._session.execute(_COUNT_SINCE, {**params, "since": since}).scalar_one()
        return int(count)

    def list_for_consent(self, consent_id: str) -> list[DataRequest]:
        rows = self._session.execute(
            select(data_requests)
            .where(data_requests.c.consent_id == consent_id)
            .order_by(data_requests.c.created_at, data_requests.c.id)
        ).all()
        return [_request(r) for r in rows]
