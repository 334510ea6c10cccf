"""What the compliance service and the transfer gate need from around them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bayflow.compliance.contracts import GBAContract
from bayflow.compliance.models import YearVolumes
from bayflow.identity.models import Organisation

__all__ = [
    "ComplianceState",
    "ContractRepository",
    "DecisionRepository",
    "OrganisationLookup",
    "StoredDecision",
    "VolumeRepository",
]


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision as recorded: its RFC 8785 JSON (the anchored bytes) and their SHA-256."""

    id: str
    canonical_json: bytes
    digest: bytes
    requested_by: str | None
    exporter: str | None
    recipient: str | None
    verdict: str
    rules_version: str
    decided_at: datetime


class DecisionRepository(Protocol):
    def add(self, decision: StoredDecision) -> None: ...
    def get(self, decision_id: str) -> StoredDecision | None: ...
    def list_for(self, organisation: str, *, limit: int) -> list[StoredDecision]:
        """Decisions the organisation asked for or is the exporter or recipient of, newest first."""
        ...


class VolumeRepository(Protocol):
    def add(
        self,
        exporter: str,
        year: int,
        pseudonyms: Sequence[bytes],
        *,
        sensitive: bool,
        now: datetime,
    ) -> int:
        """Record pseudonyms; return how many were new for this exporter, year and kind."""
        ...

    def totals(self, exporter: str, year: int) -> YearVolumes: ...


class ContractRepository(Protocol):
    def add(self, contract: GBAContract) -> None: ...
    def update(self, contract: GBAContract) -> None: ...
    def get(self, contract_id: str) -> GBAContract | None: ...
    def list_for(self, organisation: str | None) -> list[GBAContract]:
        """Contracts the organisation is a party to; ``None`` means every contract."""
        ...

    def between(self, exporter: str, recipient: str) -> list[GBAContract]: ...
    def received_by(self, recipient: str) -> list[GBAContract]: ...


class OrganisationLookup(Protocol):
    def organisation(self, organisation_id: str) -> Organisation: ...


class ComplianceState(Protocol):
    """What the transfer gate reads, each call in a transaction of its own."""

    def volumes(self, exporter: str, year: int) -> YearVolumes: ...
    def contracts_between(self, exporter: str, recipient: str) -> list[GBAContract]: ...
    def contracts_received_by(self, recipient: str) -> list[GBAContract]: ...
