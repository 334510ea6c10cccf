"""The compliance service: decisions (stored and anchored), volumes, standard contracts.

Services never commit: the caller's transaction (an HTTP request, a CLI command) holds "store the
decision + anchor it" together. Nothing here is legal advice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import rfc8785

from bayflow.clock import Clock
from bayflow.compliance.contracts import GBAContract, Reminder, reminders
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.errors import InvalidTransfer
from bayflow.compliance.interfaces import (
    ContractRepository,
    DecisionRepository,
    OrganisationLookup,
    StoredDecision,
    VolumeRepository,
)
from bayflow.compliance.models import (
    DECISION_SCHEMA,
    Decision,
    PartyDescription,
    TransferDescription,
    YearVolumes,
    gba_date,
    gba_year,
)
from bayflow.compliance.volumes import exporter_volume_key, parse_pseudonym
from bayflow.consent.interfaces import EventAnchor
from bayflow.errors import InvalidInput, NotFound, PermissionDenied
from bayflow.ids import new_id
from bayflow.ledger.entry import EntryKind

__all__ = ["HUB_ISSUER", "ComplianceService", "VolumeReport", "decision_digest"]

# The ledger issuer of decisions nobody in particular asked for (the gate's, the CLI's).
HUB_ISSUER: Final = "hub"
_MAX_PSEUDONYMS: Final = 100_000
_DEFAULT_FILING_DAYS: Final = 10


def decision_digest(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


@dataclass(frozen=True, slots=True)
class VolumeReport:
    exporter: str
    year: int
    added_nonsensitive: int
    added_sensitive: int
    totals: YearVolumes


class ComplianceService:
    def __init__(
        self,
        engine: RulesEngine,
        *,
        decisions: DecisionRepository,
        volumes: VolumeRepository,
        contracts: ContractRepository,
        organisations: OrganisationLookup,
        clock: Clock,
        anchor: EventAnchor,
        volume_secret: Callable[[], bytes],
    ) -> None:
        self.engine = engine
        self._decisions = decisions
        self._volumes = volumes
        self._contracts = contracts
        self._organisations = organisations
        self._clock = clock
        self._anchor = anchor
        self._volume_secret = volume_secret

    # --- Decisions -------------------------------------------------------------------------

    def decide(self, transfer: TransferDescription, *, caller_org: str | None) -> Decision:
        """Decide, store and anchor. ``caller_org`` ``None`` is the hub itself (no check).

        A caller names parties by organisation id only for its own transfers: as the exporter
        or the recipient. Named parties must be where their Corp ID record says they are. The
        exporter's stored year-to-date volumes are added when the exporter is named.
        """
        now = self._clock.now()
        exporter_id = transfer.exporter.organisation
        recipient_id = transfer.recipient.organisation
        named = {exporter_id, recipient_id} - {None}
        if caller_org is not None and named and caller_org not in named:
            raise PermissionDenied(
                "name an exporter or recipient only for a transfer your organisation is in"
            )
        for role, party in (("exporter", transfer.exporter), ("recipient", transfer.recipient)):
            self._check_party(role, party)
        year = gba_year(now)
        stored = (
            self._volumes.totals(exporter_id, year)
            if exporter_id
            else YearVolumes(exporter=None, year=year)
        )
        decision = self.engine.decide(transfer, stored, now=now, requested_by=caller_org)
        self.record(decision)
        return decision

    def _check_party(self, role: str, party: PartyDescription) -> None:
        if party.organisation is None:
            return
        org = self._organisations.organisation(party.organisation)
        if (org.jurisdiction.value, org.city) != (party.jurisdiction.value, party.city):
            raise InvalidTransfer(
                f"{role} {org.id} is registered in {org.jurisdiction.value}, {org.city.value}, "
                f"not {party.jurisdiction.value}, {party.city.value}"
            )

    def record(self, decision: Decision) -> StoredDecision:
        """Store a decision and anchor the SHA-256 of its RFC 8785 JSON in the ledger."""
        canonical = rfc8785.dumps(decision.to_json())
        stored = StoredDecision(
            id=decision.id,
            canonical_json=canonical,
            digest=decision_digest(canonical),
            requested_by=decision.requested_by,
            exporter=decision.transfer.exporter.organisation,
            recipient=decision.transfer.recipient.organisation,
            verdict=decision.verdict.value,
            rules_version=decision.rules_version,
            decided_at=decision.decided_at,
        )
        self._decisions.add(stored)
        self._anchor.anchor(
            kind=EntryKind.DECISION,
            digest=stored.digest,
            schema=DECISION_SCHEMA,
            issuer=decision.requested_by or HUB_ISSUER,
        )
        return stored

    def decision(
        self, decision_id: str, *, caller_org: str, operator: bool = False
    ) -> StoredDecision:
        stored = self._decisions.get(decision_id)
        parties = (
            {None} if stored is None else {stored.requested_by, stored.exporter, stored.recipient}
        )
        if stored is None or not (operator or caller_org in parties):
            raise NotFound(f"no decision {decision_id}")
        return stored

    def decisions(self, organisation: str, *, limit: int = 50) -> list[StoredDecision]:
        return self._decisions.list_for(organisation, limit=limit)

    # --- Volumes ---------------------------------------------------------------------------

    def today(self) -> date:
        """Today's date in the GBA (UTC+8), which filing deadlines count in."""
        return gba_date(self._clock.now())

    def current_year(self) -> int:
        return gba_year(self._clock.now())

    def volume_key(self, exporter: str, year: int | None = None) -> tuple[int, bytes]:
        """The exporter's pseudonym key for ``year`` (default: this year in the GBA)."""
        year = year or self.current_year()
        self._check_year(year)
        return year, exporter_volume_key(self._volume_secret(), exporter, year)

    def _check_year(self, year: int) -> None:
        current = self.current_year()
        # Reporting is for this year; the previous one stays open for late reports in January.
        if year not in {current, current - 1}:
            raise InvalidInput(f"volumes are kept for {current - 1} and {current}, not {year}")

    def report_volumes(
        self,
        exporter: str,
        *,
        nonsensitive: Sequence[str],
        sensitive: Sequence[str],
        year: int | None = None,
    ) -> VolumeReport:
        """Count pseudonyms an exporter computed with its volume key."""
        year = year or self.current_year()
        self._check_year(year)
        if len(nonsensitive) + len(sensitive) > _MAX_PSEUDONYMS:
            raise InvalidInput(f"report at most {_MAX_PSEUDONYMS} pseudonyms at a time")
        plain = sorted({parse_pseudonym(p) for p in nonsensitive})
        special = sorted({parse_pseudonym(p) for p in sensitive})
        now = self._clock.now()
        added_plain = self._volumes.add(exporter, year, plain, sensitive=False, now=now)
        added_special = self._volumes.add(exporter, year, special, sensitive=True, now=now)
        return VolumeReport(
            exporter, year, added_plain, added_special, self._volumes.totals(exporter, year)
        )

    def volumes(self, exporter: str, year: int | None = None) -> YearVolumes:
        return self._volumes.totals(exporter, year or self.current_year())

    # --- Standard contracts ----------------------------------------------------------------

    @property
    def filing_working_days(self) -> int:
        return self.engine.table.thresholds.get("filing_working_days", _DEFAULT_FILING_DAYS)

    def add_contract(
        self,
        *,
        caller_org: str,
        exporter: str,
        recipient: str,
        effective_on: date,
        restricted_products: Sequence[str] = (),
    ) -> GBAContract:
        """Register a GBA Standard Contract; the caller is one of its parties."""
        if caller_org not in {exporter, recipient}:
            raise PermissionDenied("register a contract your organisation is a party to")
        contract = GBAContract.create(
            contract_id=new_id("gsc"),
            exporter=self._organisations.organisation(exporter),
            recipient=self._organisations.organisation(recipient),
            effective_on=effective_on,
            filing_working_days=self.filing_working_days,
            created_at=self._clock.now(),
            created_by=caller_org,
            restricted_products=tuple(restricted_products),
        )
        self._contracts.add(contract)
        return contract

    def contract(self, contract_id: str, *, caller_org: str, operator: bool = False) -> GBAContract:
        contract = self._contracts.get(contract_id)
        if contract is None or not (
            operator or caller_org in {p.organisation for p in contract.parties}
        ):
            raise NotFound(f"no standard contract {contract_id}")
        return contract

    def file_contract(
        self, contract_id: str, *, caller_org: str, filing_ref: str, filed_on: date | None = None
    ) -> GBAContract:
        """Record the caller's filing of a contract (each party files its own)."""
        contract = self.contract(contract_id, caller_org=caller_org)
        filed = contract.file(
            caller_org, filed_on=filed_on or gba_date(self._clock.now()), filing_ref=filing_ref
        )
        self._contracts.update(filed)
        return filed

    def contracts(self, caller_org: str | None) -> list[GBAContract]:
        return self._contracts.list_for(caller_org)

    def reminders(self, caller_org: str | None, *, within_days: int = 3) -> list[Reminder]:
        """Filings due within ``within_days`` calendar days, or missed. ``None``: everyone's."""
        today = gba_date(self._clock.now())
        found = reminders(
            self._contracts.list_for(caller_org), today, remind_within_days=within_days
        )
        if caller_org is None:
            return found
        return [r for r in found if r.party.organisation == caller_org]
