"""Compliance persistence: decisions, volume pseudonyms and GBA Standard Contracts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bayflow.compliance.contracts import GBAContract
from bayflow.compliance.interfaces import StoredDecision
from bayflow.compliance.models import YearVolumes
from bayflow.errors import Conflict, NotFound
from bayflow.exchange.gate import GateDecision
from bayflow.store.engine import Database
from bayflow.store.tables import (
    compliance_contracts,
    compliance_decisions,
    compliance_volume_individuals,
)

__all__ = [
    "DatabaseComplianceState",
    "SqlContractRepository",
    "SqlDecisionRepository",
    "SqlVolumeRepository",
]

# Look-ups of existing pseudonyms go in batches: a bound-parameter list this long is well under
# SQLite's and PostgreSQL's limits.
_BATCH: Final = 500


class SqlDecisionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, decision: StoredDecision) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(compliance_decisions).values(
                        id=decision.id,
                        requested_by=decision.requested_by,
                        exporter=decision.exporter,
                        recipient=decision.recipient,
                        verdict=decision.verdict,
                        rules_version=decision.rules_version,
                        decided_at=decision.decided_at,
                        body=decision.canonical_json.decode("utf-8"),
                        digest=decision.digest,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"decision {decision.id} is already recorded") from exc

    def record(self, decision: GateDecision) -> None:
        """Keep a transfer gate's decision (:class:`bayflow.exchange.gate.DecisionLog`)."""
        self.add(
            StoredDecision(
                id=decision.id,
                canonical_json=decision.body,
                digest=decision.digest,
                requested_by=None,
                exporter=decision.exporter,
                recipient=decision.recipient,
                verdict=decision.verdict,
                rules_version=decision.rules_version,
                decided_at=decision.decided_at,
            )
        )

    @staticmethod
    def _decision(row: object) -> StoredDecision:
        return StoredDecision(
            id=row.id,  # type: ignore[attr-defined]
            canonical_json=row.body.encode("utf-8"),  # type: ignore[attr-defined]
            digest=bytes(row.digest),  # type: ignore[attr-defined]
            requested_by=row.requested_by,  # type: ignore[attr-defined]
            exporter=row.exporter,  # type: ignore[attr-defined]
            recipient=row.recipient,  # type: ignore[attr-defined]
            verdict=row.verdict,  # type: ignore[attr-defined]
            rules_version=row.rules_version,  # type: ignore[attr-defined]
            decided_at=row.decided_at,  # type: ignore[attr-defined]
        )

    def get(self, decision_id: str) -> StoredDecision | None:
        row = self._session.execute(
            select(compliance_decisions).where(compliance_decisions.c.id == decision_id)
        ).first()
        return None if row is None else self._decision(row)

    def list_for(self, organisation: str, *, limit: int) -> list[StoredDecision]:
        c = compliance_decisions.c
        rows = self._session.execute(
            select(compliance_decisions)
            .where(
                or_(
                    c.requested_by == organisation,
                    c.exporter == organisation,
                    c.recipient == organisation,
                )
            )
            .order_by(c.decided_at.desc(), c.id)
            .limit(limit)
        ).all()
        return [self._decision(row) for row in rows]


class SqlVolumeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        exporter: str,
        year: int,
        pseudonyms: Sequence[bytes],
        *,
        sensitive: bool,
        now: datetime,
    ) -> int:
        c = compliance_volume_individuals.c
        wanted = sorted(set(pseudonyms))
        new: list[bytes] = []
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            seen = {
                bytes(p)
                for (p,) in self._session.execute(
                    select(c.pseudonym).where(
                        c.exporter == exporter,
                        c.year == year,
                        c.sensitive == sensitive,
                        c.pseudonym.in_(batch),
                    )
                )
            }
            new.extend(p for p in batch if p not in seen)
        if not new:
            return 0
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(compliance_volume_individuals),
                    [
                        {
                            "exporter": exporter,
                            "year": year,
                            "sensitive": sensitive,
                            "pseudonym": p,
                            "first_seen_at": now,
                        }
                        for p in new
                    ],
                )
        except IntegrityError as exc:
            # Another report for the same exporter landed between the look-up and the insert.
            raise Conflict("a concurrent volume report overlapped this one: send it again") from exc
        return len(new)

    def totals(self, exporter: str, year: int) -> YearVolumes:
        c = compliance_volume_individuals.c
        counts: dict[bool, int] = dict(
            self._session.execute(
                select(c.sensitive, func.count())
                .where(c.exporter == exporter, c.year == year)
                .group_by(c.sensitive)
            ).all()
        )
        return YearVolumes(
            exporter=exporter,
            year=year,
            nonsensitive=int(counts.get(False, 0)),
            sensitive=int(counts.get(True, 0)),
        )


class SqlContractRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, contract: GBAContract) -> None:
        self._session.execute(
            insert(compliance_contracts).values(
                id=contract.id,
                route=contract.route.value,
                exporter=contract.exporter.organisation,
                recipient=contract.recipient.organisation,
                effective_on=contract.effective_on,
                terminated_on=contract.terminated_on,
                created_at=contract.created_at,
                body=json.dumps(contract.to_json(), sort_keys=True),
            )
        )

    def update(self, contract: GBAContract) -> None:
        result = self._session.execute(
            update(compliance_contracts)
            .where(compliance_contracts.c.id == contract.id)
            .values(
                terminated_on=contract.terminated_on,
                body=json.dumps(contract.to_json(), sort_keys=True),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(f"no standard contract {contract.id}")

    def _where(self, *conditions: object) -> list[GBAContract]:
        rows = self._session.execute(
            select(compliance_contracts.c.body)
            .where(*conditions)  # type: ignore[arg-type]
            .order_by(compliance_contracts.c.effective_on, compliance_contracts.c.id)
        ).all()
        return [GBAContract.from_json(json.loads(body)) for (body,) in rows]

    def get(self, contract_id: str) -> GBAContract | None:
        found = self._where(compliance_contracts.c.id == contract_id)
        return found[0] if found else None

    def list_for(self, organisation: str | None) -> list[GBAContract]:
        c = compliance_contracts.c
        if organisation is None:
            return self._where()
        return self._where(or_(c.exporter == organisation, c.recipient == organisation))

    def between(self, exporter: str, recipient: str) -> list[GBAContract]:
        c = compliance_contracts.c
        return self._where(c.exporter == exporter, c.recipient == recipient)

    def received_by(self, recipient: str) -> list[GBAContract]:
        return self._where(compliance_contracts.c.recipient == recipient)


class DatabaseComplianceState:
    """The transfer gate's reads, each in a read-only unit of work of its own.

    The gate is one object shared by every request, so it cannot hold a request's session; it
    reads committed state, which is what "in place" means for a contract or a volume. Read-only
    units take no write lock, so the gate may run inside a request's writing transaction.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    def volumes(self, exporter: str, year: int) -> YearVolumes:
        with self._database.reading() as session:
            return SqlVolumeRepository(session).totals(exporter, year)

    def contracts_between(self, exporter: str, recipient: str) -> list[GBAContract]:
        with self._database.reading() as session:
            return SqlContractRepository(session).between(exporter, recipient)

    def contracts_received_by(self, recipient: str) -> list[GBAContract]:
        with self._database.reading() as session:
            return SqlContractRepository(session).received_by(recipient)
