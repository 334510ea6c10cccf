"""GBA Standard Contracts between two organisations, and their filing deadlines.

A GBA Standard Contract (Mainland-Hong Kong, or Mainland-Macao) binds an exporter and a recipient
that are both registered in the GBA: one in the nine Mainland cities, the other in Hong Kong (or
Macao). Each party files it where it is within 10 working days of its effective date (the
threshold ``filing_working_days`` of the rules table), counted on its own region's calendar
(:mod:`.workdays`). The recipient's data received under the contract carries the lineage tag
``gba_sc_restricted``: it must not leave the GBA (rule R13). ``restricted_products`` narrows the
tag to the recipient's data products that hold such data; empty means all of them.
Not legal advice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from bayflow.compliance.errors import ContractStateConflict, InvalidContract
from bayflow.compliance.models import MAINLAND_GBA_CITIES, Region, Route
from bayflow.compliance.workdays import Deadline, calendar_for
from bayflow.identity.models import City, Organisation

__all__ = [
    "LINEAGE_TAG",
    "ContractParty",
    "FilingState",
    "GBAContract",
    "Reminder",
    "filing_bodies",
    "reminders",
]

LINEAGE_TAG: Final = "gba_sc_restricted"

_FILING_BODIES: Final = {
    (Route.GBA_STANDARD_CONTRACT_HK, Region.CN): "Guangdong Provincial Cyberspace Office",
    (Route.GBA_STANDARD_CONTRACT_HK, Region.HK): "Digital Policy Office (HKSAR)",
    (Route.GBA_STANDARD_CONTRACT_MO, Region.CN): "Guangdong Provincial Cyberspace Office",
    (Route.GBA_STANDARD_CONTRACT_MO, Region.MO): "Personal Data Protection Bureau (DSPDP, Macao)",
}


def filing_bodies(route: Route, region: Region) -> str:
    return _FILING_BODIES[(route, region)]


class FilingState(StrEnum):
    PENDING = "pending"  # not filed, deadline ahead
    DUE_SOON = "due_soon"  # not filed, deadline within the reminder window
    OVERDUE = "overdue"  # not filed, deadline passed
    FILED = "filed"


@dataclass(frozen=True, slots=True)
class ContractParty:
    """One party's filing duty: where, by when, and whether it has filed."""

    organisation: str
    region: Region
    city: City
    filing_body: str
    deadline: date
    deadline_uncertain: bool
    filed_on: date | None = None
    filing_ref: str | None = None

    def state(self, today: date, *, remind_within_days: int) -> FilingState:
        if self.filed_on is not None:
            return FilingState.FILED
        if today > self.deadline:
            return FilingState.OVERDUE
        if (self.deadline - today).days <= remind_within_days:
            return FilingState.DUE_SOON
        return FilingState.PENDING

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ContractParty:
        return cls(
            organisation=value["organisation"],
            region=Region(value["region"]),
            city=City(value["city"]),
            filing_body=value["filing_body"],
            deadline=date.fromisoformat(value["deadline"]),
            deadline_uncertain=bool(value["deadline_uncertain"]),
            filed_on=date.fromisoformat(value["filed_on"]) if value["filed_on"] else None,
            filing_ref=value["filing_ref"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "region": self.region.value,
            "city": self.city.value,
            "filing_body": self.filing_body,
            "deadline": self.deadline.isoformat(),
            "deadline_uncertain": self.deadline_uncertain,
            "filed_on": self.filed_on.isoformat() if self.filed_on else None,
            "filing_ref": self.filing_ref,
        }


@dataclass(frozen=True, slots=True)
class GBAContract:
    id: str
    route: Route
    exporter: ContractParty
    recipient: ContractParty
    effective_on: date
    created_at: datetime
    created_by: str
    restricted_products: tuple[str, ...] = ()
    terminated_on: date | None = None

    @classmethod
    def create(
        cls,
        *,
        contract_id: str,
        exporter: Organisation,
        recipient: Organisation,
        effective_on: date,
        filing_working_days: int,
        created_at: datetime,
        created_by: str,
        restricted_products: tuple[str, ...] = (),
    ) -> GBAContract:
        """Check that the GBA Standard Contract can bind these two parties; compute deadlines."""
        if exporter.id == recipient.id:
            raise InvalidContract("a standard contract needs two different organisations")
        regions = {Region(exporter.jurisdiction.value), Region(recipient.jurisdiction.value)}
        if regions == {Region.CN, Region.HK}:
            route = Route.GBA_STANDARD_CONTRACT_HK
        elif regions == {Region.CN, Region.MO}:
            route = Route.GBA_STANDARD_CONTRACT_MO
        else:
            raise InvalidContract(
                "a GBA Standard Contract is between a Mainland party and a Hong Kong or a "
                "Macao party (GBA SC Guideline Art. 2)"
            )
        for org in (exporter, recipient):
            mainland = org.jurisdiction.value == Region.CN
            if (mainland and org.city not in MAINLAND_GBA_CITIES) or not org.city.in_gba:
                raise InvalidContract(
                    f"{org.legal_name_en} is not registered in the GBA ({org.city.value}): "
                    "the GBA Standard Contract is unavailable (rule R12)"
                )
        return cls(
            id=contract_id,
            route=route,
            exporter=_party(route, exporter, effective_on, filing_working_days),
            recipient=_party(route, recipient, effective_on, filing_working_days),
            effective_on=effective_on,
            created_at=created_at,
            created_by=created_by,
            restricted_products=tuple(sorted(set(restricted_products))),
        )

    @property
    def parties(self) -> tuple[ContractParty, ContractParty]:
        return (self.exporter, self.recipient)

    def party(self, organisation: str) -> ContractParty:
        for party in self.parties:
            if party.organisation == organisation:
                return party
        raise InvalidContract(f"{organisation} is not a party to contract {self.id}")

    @property
    def fully_filed(self) -> bool:
        return all(p.filed_on is not None for p in self.parties)

    def in_force_on(self, day: date) -> bool:
        return self.effective_on <= day and (self.terminated_on is None or day < self.terminated_on)

    def usable_on(self, day: date) -> bool:
        """In force, and no party's filing is overdue: the route is "in place" for the gate.

        A party may still be inside its filing window: the contract binds from its effective
        date and the filing follows it.
        """
        return self.in_force_on(day) and all(
            p.filed_on is not None or day <= p.deadline for p in self.parties
        )

    def restricts(self, holder: str, product: str) -> bool:
        """Whether ``holder``'s ``product`` carries ``gba_sc_restricted`` under this contract."""
        if holder != self.recipient.organisation:
            return False
        return not self.restricted_products or product in self.restricted_products

    def file(self, organisation: str, *, filed_on: date, filing_ref: str) -> GBAContract:
        party = self.party(organisation)
        if party.filed_on is not None:
            raise ContractStateConflict(f"{organisation} already filed contract {self.id}")
        if filed_on < self.effective_on:
            raise InvalidContract("a contract is filed on or after its effective date")
        if not filing_ref.strip() or len(filing_ref) > 128:
            raise InvalidContract("the filing reference is 1-128 characters")
        filed = replace(party, filed_on=filed_on, filing_ref=filing_ref.strip())
        if party is self.exporter:
            return replace(self, exporter=filed)
        return replace(self, recipient=filed)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> GBAContract:
        """The inverse of :meth:`to_json` (without ``today``), for the store."""
        terminated = value["terminated_on"]
        return cls(
            id=value["id"],
            route=Route(value["route"]),
            exporter=ContractParty.from_json(value["exporter"]),
            recipient=ContractParty.from_json(value["recipient"]),
            effective_on=date.fromisoformat(value["effective_on"]),
            created_at=datetime.fromisoformat(value["created_at"]),
            created_by=value["created_by"],
            restricted_products=tuple(value["restricted_products"]),
            terminated_on=date.fromisoformat(terminated) if terminated else None,
        )

    def to_json(self, today: date | None = None, *, remind_within_days: int = 3) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "route": self.route.value,
            "exporter": self.exporter.to_json(),
            "recipient": self.recipient.to_json(),
            "effective_on": self.effective_on.isoformat(),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "restricted_products": list(self.restricted_products),
            "terminated_on": self.terminated_on.isoformat() if self.terminated_on else None,
            "lineage_tag": LINEAGE_TAG,
            "fully_filed": self.fully_filed,
        }
        if today is not None:
            for name, party in (("exporter", self.exporter), ("recipient", self.recipient)):
                out[name]["state"] = party.state(today, remind_within_days=remind_within_days)
        return out


def _party(route: Route, org: Organisation, effective_on: date, days: int) -> ContractParty:
    region = Region(org.jurisdiction.value)
    deadline: Deadline = calendar_for(region).add_working_days(effective_on, days)
    return ContractParty(
        organisation=org.id,
        region=region,
        city=org.city,
        filing_body=filing_bodies(route, region),
        deadline=deadline.due,
        deadline_uncertain=deadline.uncertain or region is Region.MO,
    )


@dataclass(frozen=True, slots=True)
class Reminder:
    contract: GBAContract
    party: ContractParty
    state: FilingState

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract.id,
            "route": self.contract.route.value,
            "organisation": self.party.organisation,
            "filing_body": self.party.filing_body,
            "deadline": self.party.deadline.isoformat(),
            "deadline_uncertain": self.party.deadline_uncertain,
            "state": self.state.value,
        }


def reminders(
    contracts: list[GBAContract], today: date, *, remind_within_days: int
) -> list[Reminder]:
    """Unfiled parties whose deadline is near or missed, the most urgent first."""
    found = [
        Reminder(contract, party, state)
        for contract in contracts
        if contract.terminated_on is None
        for party in contract.parties
        if (state := party.state(today, remind_within_days=remind_within_days))
        in {FilingState.DUE_SOON, FilingState.OVERDUE}
    ]
    return sorted(found, key=lambda r: (r.party.deadline, r.contract.id, r.party.organisation))
