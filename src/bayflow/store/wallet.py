"""Credential wallet persistence: status lists, credentials, documents and form requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bayflow.identity.forms import FormRequest, FormState
from bayflow.identity.wallet import (
    CredentialState,
    CredentialType,
    DocumentKind,
    StatusListRecord,
    StoredCredential,
    WalletDocument,
)
from bayflow.store.tables import form_requests, status_lists, wallet_credentials, wallet_documents

__all__ = ["SqlFormRepository", "SqlWalletRepository"]


def _credential(row: Row[Any]) -> StoredCredential:
    return StoredCredential(
        id=row.id,
        organisation_id=row.organisation_id,
        type=CredentialType(row.type),
        subject_id=row.subject_id,
        holder_kid=row.holder_kid,
        sd_jwt=row.sd_jwt,
        status_list_id=row.status_list_id,
        status_idx=row.status_idx,
        state=CredentialState(row.state),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        issued_by=row.issued_by,
        mandate_id=row.mandate_id,
        form_request_id=row.form_request_id,
        state_changed_at=row.state_changed_at,
        state_reason=row.state_reason,
    )


_DOCUMENT_COLUMNS = [c for c in wallet_documents.c if c.name != "content"]


def _document(row: Row[Any], *, content: bytes | None = None) -> WalletDocument:
    return WalletDocument(
        id=row.id,
        organisation_id=row.organisation_id,
        kind=DocumentKind(row.kind),
        name=row.name,
        content_type=row.content_type,
        sha256=bytes(row.sha256),
        size=row.size,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        issuer=row.issuer,
        reference=row.reference,
        expires_on=row.expires_on,
        content=content,
    )


class SqlWalletRepository:
    """The SQL implementation of ``bayflow.identity.interfaces.WalletRepository``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # Credentials --------------------------------------------------------------------------

    def add_credential(self, credential: StoredCredential) -> bool:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(wallet_credentials).values(
                        id=credential.id,
                        organisation_id=credential.organisation_id,
                        type=credential.type.value,
                        subject_id=credential.subject_id,
                        holder_kid=credential.holder_kid,
                        sd_jwt=credential.sd_jwt,
                        status_list_id=credential.status_list_id,
                        status_idx=credential.status_idx,
                        state=credential.state.value,
                        issued_at=credential.issued_at,
                        expires_at=credential.expires_at,
                        issued_by=credential.issued_by,
                        mandate_id=credential.mandate_id,
                        form_request_id=credential.form_request_id,
                        state_changed_at=credential.state_changed_at,
                        state_reason=credential.state_reason,
                    )
                )
        except IntegrityError:
            # The only constraint a fresh random id can meet is the status list entry's.
            return False
        return True

    def get_credential(self, credential_id: str) -> StoredCredential | None:
        row = self._session.execute(
            select(wallet_credentials).where(wallet_credentials.c.id == credential_id)
        ).one_or_none()
        return _credential(row) if row else None

    def list_credentials(self, organisation_id: str) -> list[StoredCredential]:
        rows = self._session.execute(
            select(wallet_credentials)
            .where(wallet_credentials.c.organisation_id == organisation_id)
            .order_by(wallet_credentials.c.issued_at, wallet_credentials.c.id)
        ).all()
        return [_credential(r) for r in rows]

    def credentials_of_subject(self, subject_id: str) -> list[StoredCredential]:
        rows = self._session.execute(
            select(wallet_credentials)
            .where(wallet_credentials.c.subject_id == subject_id)
            .order_by(wallet_credentials.c.issued_at, wallet_credentials.c.id)
        ).all()
        return [_credential(r) for r in rows]

    def set_credential_state(
        self, credential_id: str, state: CredentialState, *, now: datetime, reason: str | None
    ) -> None:
        self._session.execute(
            update(wallet_credentials)
            .where(wallet_credentials.c.id == credential_id)
            .values(state=state.value, state_changed_at=now, state_reason=reason)
        )

    # Status lists -------------------------------------------------------------------------

    def latest_status_list(self) -> StatusListRecord | None:
        row = self._session.execute(
            select(status_lists).order_by(status_lists.c.id.desc()).limit(1)
        ).one_or_none()
        if row is None:
            return None
        used = self._session.execute(
            select(func.count())
            .select_from(wallet_credentials)
            .where(wallet_credentials.c.status_list_id == row.id)
        ).scalar_one()
        return StatusListRecord(row.id, row.bits, row.size, int(used))

    def add_status_list(self, size: int, bits: int, *, now: datetime) -> StatusListRecord:
        list_id = self._session.execute(
            insert(status_lists)
            .values(bits=bits, size=size, created_at=now)
            .returning(status_lists.c.id)
        ).scalar_one()
        return StatusListRecord(int(list_id), bits, size, 0)

    def get_status_list(self, list_id: int) -> StatusListRecord | None:
        row = self._session.execute(
            select(status_lists).where(status_lists.c.id == list_id)
        ).one_or_none()
        return StatusListRecord(row.id, row.bits, row.size) if row else None

    def status_entries(self, list_id: int) -> list[tuple[int, CredentialState]]:
        rows = self._session.execute(
            select(wallet_credentials.c.status_idx, wallet_credentials.c.state).where(
                wallet_credentials.c.status_list_id == list_id,
                wallet_credentials.c.state != CredentialState.VALID.value,
            )
        ).all()
        return [(r.status_idx, CredentialState(r.state)) for r in rows]

    # Documents ----------------------------------------------------------------------------

    def add_document(self, document: WalletDocument, content: bytes) -> None:
        self._session.execute(
            insert(wallet_documents).values(
                id=document.id,
                organisation_id=document.organisation_id,
                kind=document.kind.value,
                name=document.name,
                content_type=document.content_type,
                sha256=document.sha256,
                size=document.size,
                issuer=document.issuer,
                reference=document.reference,
                expires_on=document.expires_on,
                uploaded_by=document.uploaded_by,
                uploaded_at=document.uploaded_at,
                content=content,
            )
        )

    def get_document(
        self, document_id: str, *, with_content: bool = False
    ) -> WalletDocument | None:
        columns = [*_DOCUMENT_COLUMNS, wallet_documents.c.content] if with_content else []
        row = self._session.execute(
            select(*(columns or _DOCUMENT_COLUMNS)).where(wallet_documents.c.id == document_id)
        ).one_or_none()
        if row is None:
            return None
        return _document(row, content=bytes(row.content) if with_content else None)

    def list_documents(self, organisation_id: str) -> list[WalletDocument]:
        rows = self._session.execute(
            select(*_DOCUMENT_COLUMNS)
            .where(wallet_documents.c.organisation_id == organisation_id)
            .order_by(wallet_documents.c.uploaded_at, wallet_documents.c.id)
        ).all()
        return [_document(r) for r in rows]


def _form_request(row: Row[Any]) -> FormRequest:
    return FormRequest(
        id=row.id,
        requester_org=row.requester_org,
        requester_person=row.requester_person,
        subject_org=row.subject_org,
        fields=tuple(row.fields.split()),
        purpose=row.purpose,
        audience=row.audience,
        nonce=row.nonce,
        state=FormState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        shared_fields=tuple((row.shared_fields or "").split()),
        credential_id=row.credential_id,
        presentation=row.presentation,
        reason=row.reason,
    )


def _form_values(request: FormRequest) -> dict[str, Any]:
    return {
        "requester_org": request.requester_org,
        "requester_person": request.requester_person,
        "subject_org": request.subject_org,
        "fields": " ".join(request.fields),
        "purpose": request.purpose,
        "audience": request.audience,
        "nonce": request.nonce,
        "state": request.state.value,
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "decided_at": request.decided_at,
        "decided_by": request.decided_by,
        "shared_fields": " ".join(request.shared_fields) or None,
        "credential_id": request.credential_id,
        "presentation": request.presentation,
        "reason": request.reason,
    }


class SqlFormRepository:
    """The SQL implementation of ``bayflow.identity.interfaces.FormRepository``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_form_request(self, request: FormRequest) -> None:
        self._session.execute(insert(form_requests).values(id=request.id, **_form_values(request)))

    def get_form_request(self, request_id: str) -> FormRequest | None:
        row = self._session.execute(
            select(form_requests).where(form_requests.c.id == request_id)
        ).one_or_none()
        return _form_request(row) if row else None

    def list_form_requests(
        self, organisation_id: str, *, as_requester: bool, as_subject: bool
    ) -> list[FormRequest]:
        clauses = []
        if as_requester:
            clauses.append(form_requests.c.requester_org == organisation_id)
        if as_subject:
            clauses.append(form_requests.c.subject_org == organisation_id)
        if not clauses:
            return []
        rows = self._session.execute(
            select(form_requests)
            .where(or_(*clauses))
            .order_by(form_requests.c.created_at.desc(), form_requests.c.id)
        ).all()
        return [_form_request(r) for r in rows]

    def update_form_request(self, request: FormRequest) -> None:
        self._session.execute(
            update(form_requests)
            .where(form_requests.c.id == request.id)
            .values(**_form_values(request))
        )
