"""The transfer rules engine's nouns: transfer descriptions, routes, decisions, contracts.

A *transfer description* says who sends what to whom; the engine turns it, with the exporter's
year-to-date volumes, into a *decision*: every route that applies, strictest first, each with
its obligations, citations and how sure the rules table is about it. None of this is legal
advice: a decision is a checklist for a person who knows the facts, not a ruling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bayflow.compliance.errors import InvalidTransfer
from bayflow.exchange.models import SENSITIVE_CATEGORIES
from bayflow.identity.models import City

__all__ = [
    "DECISION_SCHEMA",
    "LEGAL_NOTICE",
    "MAINLAND_GBA_CITIES",
    "TRANSFER_SCHEMA",
    "Confidence",
    "DataDescription",
    "Decision",
    "ExporterDescription",
    "Obligation",
    "PartyDescription",
    "Purpose",
    "Region",
    "Route",
    "RouteOption",
    "Sector",
    "TransferDescription",
    "Verdict",
    "YearVolumes",
    "gba_date",
    "gba_year",
]

TRANSFER_SCHEMA: Final = "bayflow-transfer/1"
_GBA_TZ: Final = timezone(timedelta(hours=8))
DECISION_SCHEMA: Final = "bayflow-decision/1"

LEGAL_NOTICE: Final = (
    "Not legal advice: an automated reading of a cited rules table, with its confidence. "
    "Have counsel confirm the route before relying on it."
)

MAINLAND_GBA_CITIES: Final = frozenset(
    {
        City.GUANGZHOU,
        City.SHENZHEN,
        City.ZHUHAI,
        City.FOSHAN,
        City.HUIZHOU,
        City.DONGGUAN,
        City.ZHONGSHAN,
        City.JIANGMEN,
        City.ZHAOQING,
    }
)


class Region(StrEnum):
    """Where a party is registered or located. ``OTHER`` is anywhere outside CN, HK and MO."""

    CN = "CN"
    HK = "HK"
    MO = "MO"
    OTHER = "OTHER"


class Purpose(StrEnum):
    """Why the data moves. The first three are the Provisions' Art. 5(1)-(3) situations and the
    next four its Art. 3 activities; anything else is ``other``."""

    CONTRACT_WITH_INDIVIDUAL = "contract_with_individual"
    CROSS_BORDER_HR = "cross_border_hr"
    EMERGENCY = "emergency"
    INTERNATIONAL_TRADE = "international_trade"
    CROSS_BORDER_TRANSPORT = "cross_border_transport"
    ACADEMIC_COOPERATION = "academic_cooperation"
    TRANSNATIONAL_MANUFACTURING_MARKETING = "transnational_manufacturing_marketing"
    OTHER = "other"


class Sector(StrEnum):
    """Sectors with their own overlay rules (R17-R19); everything else is ``other``."""

    BANKING = "banking"
    CREDIT_REFERENCING = "credit_referencing"
    HEALTHCARE = "healthcare"
    OTHER = "other"


class Route(StrEnum):
    """A legal route for a transfer. The rules table ranks them (its ``routes`` section)."""

    PROHIBITED = "prohibited"
    SECURITY_ASSESSMENT = "security_assessment"
    NATIONAL_STANDARD_CONTRACT = "national_standard_contract"
    CERTIFICATION = "certification"
    GBA_STANDARD_CONTRACT_HK = "gba_standard_contract_hk"
    GBA_STANDARD_CONTRACT_MO = "gba_standard_contract_mo"
    MACAO_PDPA_TRANSFER = "macao_pdpa_transfer"
    EXEMPT = "exempt"

    @property
    def is_gba_standard_contract(self) -> bool:
        return self in {Route.GBA_STANDARD_CONTRACT_HK, Route.GBA_STANDARD_CONTRACT_MO}


class Confidence(IntEnum):
    """How sure the rules table is, as COMPLIANCE.md tags it; a larger value is surer.

    V: checked against a source text; S: from a law-firm summary; M: from memory, not
    re-checked; I: an interpretation.
    """

    I = 1  # noqa: E741 - the tag's own letter.
    M = 2
    S = 3
    V = 4

    @classmethod
    def parse(cls, tag: str) -> Confidence:
        try:
            return cls[tag]
        except KeyError:
            raise ValueError(f"unknown confidence tag {tag!r}: expected V, S, M or I") from None


class Verdict(StrEnum):
    """The decision in one word, for people and for the gate."""

    PROHIBITED = "prohibited"  # a prohibition matched: no route may be used
    EXEMPT = "exempt"  # no mechanism is needed (others are listed as optional)
    MECHANISM_REQUIRED = "mechanism_required"  # one of the listed mechanisms must be in place
    NO_RULE = "no_rule"  # no route rule matched: not cross-boundary, or a gap in the table


# --- Transfer descriptions -----------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class PartyDescription(_Strict):
    """A party by where it is registered or located; ``organisation`` is its Bayflow id, if any."""

    organisation: str | None = Field(default=None, max_length=64)
    jurisdiction: Region
    city: City = Field(description="A GBA city, or 'outside GBA'")

    @field_validator("city", mode="before")
    @classmethod
    def _city(cls, value: object) -> object:
        return City.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        expected = {
            Region.HK: {City.HONG_KONG, City.OUTSIDE_GBA},
            Region.MO: {City.MACAO, City.OUTSIDE_GBA},
            Region.CN: {*MAINLAND_GBA_CITIES, City.OUTSIDE_GBA},
            Region.OTHER: {City.OUTSIDE_GBA},
        }[self.jurisdiction]
        if self.city not in expected:
            raise ValueError(f"city {self.city.value!r} is not in {self.jurisdiction.value}")
        return self

    @property
    def in_gba(self) -> bool:
        return self.city is not City.OUTSIDE_GBA

    @property
    def in_mainland_gba(self) -> bool:
        return self.city in MAINLAND_GBA_CITIES


class ExporterDescription(PartyDescription):
    """The party the data leaves. ``is_ciio``: a Mainland critical information infrastructure
    operator. ``ftz_zone``: the pilot free-trade zone it exports from, if any."""

    is_ciio: bool = False
    ftz_zone: str | None = Field(default=None, max_length=64)


class DataDescription(_Strict):
    """What crosses.

    ``personal_information`` says the data identifies people; ``anonymised`` says it was made
    impossible to identify anyone and cannot be restored (hashed, tokenised, pseudonymised or
    encrypted data is **not** anonymised). ``individuals`` and ``sensitive_individuals`` count the
    people in this transfer not yet reported to the hub's year-to-date volumes; the engine adds
    them to the stored counts as if every one were new, which can only over-count.
    """

    personal_information: bool
    anonymised: bool = False
    important_data_notified: bool = False
    sensitive_categories: frozenset[str] = frozenset()
    minors_under_14: bool = False
    collected_abroad: bool = Field(
        default=False,
        description="PI collected outside the Mainland, processed there and re-exported unchanged",
    )
    on_ftz_negative_list: bool = False
    lineage: frozenset[Literal["gba_sc_restricted"]] = frozenset()
    individuals: int = Field(default=0, ge=0, le=10**12)
    sensitive_individuals: int = Field(default=0, ge=0, le=10**12)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        unknown = self.sensitive_categories - SENSITIVE_CATEGORIES
        if unknown:
            raise ValueError(f"unknown sensitive categories: {', '.join(sorted(unknown))}")
        sensitive = bool(self.sensitive_categories) or self.minors_under_14
        if sensitive and not self.personal_information:
            raise ValueError("sensitive categories or minors imply personal information")
        if self.sensitive_individuals and not sensitive:
            raise ValueError("sensitive_individuals needs a sensitive category or minors_under_14")
        if self.sensitive_individuals > self.individuals:
            raise ValueError("sensitive_individuals cannot exceed individuals")
        return self

    @property
    def is_pi(self) -> bool:
        return self.personal_information and not self.anonymised

    @property
    def sensitive(self) -> bool:
        return self.is_pi and (bool(self.sensitive_categories) or self.minors_under_14)


class TransferDescription(_Strict):
    """One transfer to decide on (JSON schema ``bayflow-transfer/1``)."""

    schema_: Literal["bayflow-transfer/1"] = Field(default=TRANSFER_SCHEMA, alias="schema")
    exporter: ExporterDescription
    recipient: PartyDescription
    data: DataDescription
    purpose: Purpose = Purpose.OTHER
    sector: Sector = Sector.OTHER
    onward_recipients: tuple[PartyDescription, ...] = Field(default=(), max_length=100)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def crosses_boundary(self) -> bool:
        return self.exporter.jurisdiction is not self.recipient.jurisdiction

    @classmethod
    def from_json(cls, value: str | bytes | dict[str, Any]) -> TransferDescription:
        """Parse a description, or raise :class:`InvalidTransfer` naming the first problem."""
        try:
            if isinstance(value, dict):
                return cls.model_validate(value)
            return cls.model_validate_json(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "description"
            raise InvalidTransfer(f"{where}: {first['msg']}") from exc

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.model_dump_json(by_alias=True))
        # Sets come out in hash order; sort them so equal descriptions give equal JSON.
        data = out["data"]
        data["sensitive_categories"] = sorted(data["sensitive_categories"])
        data["lineage"] = sorted(data["lineage"])
        return out


# --- Volumes and decisions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YearVolumes:
    """Distinct individuals an exporter reported since 1 January of ``year`` (GBA time)."""

    exporter: str | None
    year: int
    nonsensitive: int = 0
    sensitive: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "exporter": self.exporter,
            "year": self.year,
            "nonsensitive": self.nonsensitive,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, slots=True)
class Obligation:
    text: str
    citation: str
    confidence: Confidence
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citation": self.citation,
            "confidence": self.confidence.name,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class RouteOption:
    """One route the matched rules allow or require.

    ``confidence`` is the strongest tag among ``rules``: any one of them suffices to open the
    route. ``obligations`` holds the route rules' obligations, then the overlays'.
    """

    route: Route
    label: str
    rules: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    citations: tuple[str, ...]
    confidence: Confidence

    def to_json(self) -> dict[str, Any]:
        return {
            "route": self.route.value,
            "label": self.label,
            "rules": list(self.rules),
            "obligations": [o.to_json() for o in self.obligations],
            "citations": list(self.citations),
            "confidence": self.confidence.name,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer. ``routes`` is in precedence order, strictest first."""

    id: str
    rules_version: str
    decided_at: datetime
    transfer: TransferDescription
    volumes: YearVolumes
    verdict: Verdict
    routes: tuple[RouteOption, ...]
    overlays: tuple[str, ...]
    matched_rules: tuple[str, ...]
    requested_by: str | None = None
    notes: tuple[str, ...] = field(default=())

    def route(self, route: Route) -> RouteOption | None:
        return next((r for r in self.routes if r.route is route), None)

    @property
    def route_names(self) -> tuple[Route, ...]:
        return tuple(r.route for r in self.routes)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": DECISION_SCHEMA,
            "id": self.id,
            "rules_version": self.rules_version,
            "decided_at": self.decided_at.isoformat(),
            "requested_by": self.requested_by,
            "transfer": self.transfer.to_json(),
            "volumes": self.volumes.to_json(),
            "verdict": self.verdict.value,
            "routes": [r.to_json() for r in self.routes],
            "overlays": list(self.overlays),
            "matched_rules": list(self.matched_rules),
            "notes": list(self.notes),
            "notice": LEGAL_NOTICE,
        }


def gba_year(when: datetime) -> int:
    """The calendar year at ``when`` in the GBA (UTC+8): volumes count from 1 January there."""
    return gba_date(when).year


def gba_date(when: datetime) -> date:
    """The calendar date at ``when`` in the GBA (UTC+8)."""
    return when.astimezone(_GBA_TZ).date()
