"""Compliance over HTTP: transfer decisions, year-to-date volumes, GBA Standard Contracts.

Decisions and volumes need the ``exchange`` scope; registering or filing a contract needs
``org:admin``. Every call acts for the caller's own organisation: a decision or a contract the
caller is no party to answers 404, as one that does not exist. The operator may read all of
them. Decisions are automated readings of a cited rules table, not legal advice.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep
from bayflow.compliance.contracts import GBAContract
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.models import LEGAL_NOTICE, TransferDescription
from bayflow.compliance.service import ComplianceService
from bayflow.compliance.volumes import PSEUDONYM_ALGORITHM, load_volume_secret
from bayflow.identity.auth import Principal, Scope
from bayflow.identity.service import IdentityService
from bayflow.store import Session
from bayflow.store.compliance import (
    SqlContractRepository,
    SqlDecisionRepository,
    SqlVolumeRepository,
)
from bayflow.store.identity import SqlIdentityRepository

__all__ = ["compliance_service", "router"]

router = APIRouter(prefix="/compliance/v1", tags=["compliance"])


def compliance_service(request: Request, session: Session) -> ComplianceService:
    state = request.app.state
    engine: RulesEngine = state.compliance_engine
    settings = state.settings
    return ComplianceService(
        engine,
        decisions=SqlDecisionRepository(session),
        volumes=SqlVolumeRepository(session),
        contracts=SqlContractRepository(session),
        organisations=IdentityService(SqlIdentityRepository(session), state.clock),
        clock=state.clock,
        anchor=state.event_anchor(session),
        volume_secret=lambda: load_volume_secret(settings.keys_dir),
    )


def _is_operator(principal: Principal) -> bool:
    return Scope.OPERATOR.value in principal.scopes


class DecisionRead(BaseModel):
    digest: str = Field(description="SHA-256 (hex) of the decision's RFC 8785 JSON, anchored")
    decision: dict[str, Any] = Field(description="The decision (schema bayflow-decision/1)")


class VolumeKeyRead(BaseModel):
    exporter: str
    year: int
    algorithm: str
    key: str = Field(description="The exporter's volume key for the year, hex")
    normalisation: str


class VolumesRead(BaseModel):
    exporter: str
    year: int
    nonsensitive: int
    sensitive: int
    added_nonsensitive: int | None = None
    added_sensitive: int | None = None


class VolumeReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(default=None, description="Default: the current year (UTC+8)")
    nonsensitive: list[str] = Field(
        default_factory=list, description="Hex HMAC-SHA256 pseudonyms of individuals"
    )
    sensitive: list[str] = Field(
        default_factory=list, description="Pseudonyms of individuals with sensitive PI"
    )


class ContractCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exporter: str = Field(description="The exporting party's organisation id")
    recipient: str = Field(description="The receiving party's organisation id")
    effective_on: date
    restricted_products: list[str] = Field(
        default_factory=list,
        description="The recipient's products holding data received under it; empty: all",
        max_length=100,
    )


class ContractFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filing_ref: str = Field(min_length=1, max_length=128)
    filed_on: date | None = Field(default=None, description="Default: today (UTC+8)")


@router.get("/rules", summary="The rules table in force: version, thresholds and rules")
def rules(principal: PrincipalDep, request: Request) -> dict[str, Any]:
    del principal
    table = request.app.state.compliance_engine.table
    return {
        "version": table.version,
        "title": table.title,
        "published": table.published.isoformat(),
        "thresholds": dict(table.thresholds),
        "rules": [
            {
                "id": r.id,
                "title": r.title,
                "routes": [route.value for route in r.routes],
                "confidence": r.confidence.name,
                "source": r.source,
                "precedence": r.precedence,
            }
            for r in table.rules
        ],
        "notice": LEGAL_NOTICE,
    }


@router.post("/decisions", status_code=201, summary="Decide a transfer's routes; store, anchor")
def decide(
    body: TransferDescription, principal: PrincipalDep, request: Request, session: SessionDep
) -> DecisionRead:
    principal.require(Scope.EXCHANGE)
    service = compliance_service(request, session)
    decision = service.decide(body, caller_org=principal.organisation_id)
    stored = service.decision(decision.id, caller_org=principal.organisation_id)
    return DecisionRead(digest=stored.digest.hex(), decision=json.loads(stored.canonical_json))


@router.get("/decisions/{decision_id}", summary="A stored decision")
def get_decision(
    decision_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> DecisionRead:
    principal.require(Scope.EXCHANGE)
    stored = compliance_service(request, session).decision(
        decision_id, caller_org=principal.organisation_id, operator=_is_operator(principal)
    )
    return DecisionRead(digest=stored.digest.hex(), decision=json.loads(stored.canonical_json))


@router.get("/volumes/key", summary="The caller's volume-pseudonym key for a year")
def volume_key(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> VolumeKeyRead:
    principal.require(Scope.EXCHANGE)
    found_year, key = compliance_service(request, session).volume_key(
        principal.organisation_id, year
    )
    return VolumeKeyRead(
        exporter=principal.organisation_id,
        year=found_year,
        algorithm=PSEUDONYM_ALGORITHM,
        key=key.hex(),
        normalisation="NFKC; remove whitespace, - ( ) / .; upper case; UTF-8",
    )


@router.get("/volumes", summary="The caller's year-to-date volumes as an exporter")
def volumes(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> VolumesRead:
    principal.require(Scope.EXCHANGE)
    totals = compliance_service(request, session).volumes(principal.organisation_id, year)
    return VolumesRead(
        exporter=principal.organisation_id,
        year=totals.year,
        nonsensitive=totals.nonsensitive,
        sensitive=totals.sensitive,
    )


@router.post("/volumes", summary="Report the pseudonymised individuals of a transfer")
def report_volumes(
    body: VolumeReport, principal: PrincipalDep, request: Request, session: SessionDep
) -> VolumesRead:
    principal.require(Scope.EXCHANGE)
    report = compliance_service(request, session).report_volumes(
        principal.organisation_id,
        nonsensitive=body.nonsensitive,
        sensitive=body.sensitive,
        year=body.year,
    )
    return VolumesRead(
        exporter=report.exporter,
        year=report.year,
        nonsensitive=report.totals.nonsensitive,
        sensitive=report.totals.sensitive,
        added_nonsensitive=report.added_nonsensitive,
        added_sensitive=report.added_sensitive,
    )


def _contract_json(service: ComplianceService, contract: GBAContract) -> dict[str, Any]:
    return contract.to_json(service.today())


@router.post("/contracts", status_code=201, summary="Register a GBA Standard Contract")
def add_contract(
    body: ContractCreate, principal: PrincipalDep, request: Request, session: SessionDep
) -> dict[str, Any]:
    principal.require(Scope.ORG_ADMIN)
    service = compliance_service(request, session)
    contract = service.add_contract(
        caller_org=principal.organisation_id,
        exporter=body.exporter,
        recipient=body.recipient,
        effective_on=body.effective_on,
        restricted_products=body.restricted_products,
    )
    return _contract_json(service, contract)


@router.get("/contracts", summary="The caller's GBA Standard Contracts")
def list_contracts(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    every: Annotated[bool, Query(alias="all", description="Operator: every contract")] = False,
) -> list[dict[str, Any]]:
    principal.require(Scope.EXCHANGE)
    if every:
        principal.require(Scope.OPERATOR)
    service = compliance_service(request, session)
    found = service.contracts(None if every else principal.organisation_id)
    return [_contract_json(service, c) for c in found]


@router.get("/contracts/reminders", summary="Filings due soon or overdue")
def contract_reminders(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    within_days: Annotated[int, Query(ge=0, le=60)] = 3,
    every: Annotated[bool, Query(alias="all", description="Operator: every party")] = False,
) -> list[dict[str, Any]]:
    principal.require(Scope.EXCHANGE)
    if every:
        principal.require(Scope.OPERATOR)
    service = compliance_service(request, session)
    found = service.reminders(None if every else principal.organisation_id, within_days=within_days)
    return [r.to_json() for r in found]


@router.get("/contracts/{contract_id}", summary="One GBA Standard Contract")
def get_contract(
    contract_id: str, principal: PrincipalDep, request: Request, session: SessionDep
) -> dict[str, Any]:
    principal.require(Scope.EXCHANGE)
    service = compliance_service(request, session)
    contract = service.contract(
        contract_id, caller_org=principal.organisation_id, operator=_is_operator(principal)
    )
    return _contract_json(service, contract)


@router.post("/contracts/{contract_id}/filing", summary="Record the caller's filing")
def file_contract(
    contract_id: str,
    body: ContractFiling,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
) -> dict[str, Any]:
    principal.require(Scope.ORG_ADMIN)
    service = compliance_service(request, session)
    contract = service.file_contract(
        contract_id,
        caller_org=principal.organisation_id,
        filing_ref=body.filing_ref,
        filed_on=body.filed_on,
    )
    return _contract_json(service, contract)
