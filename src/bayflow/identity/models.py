"""Corp ID's nouns: organisations, people, roles, keys and signing mandates.

These are plain immutable values; the service builds them and the store persists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from bayflow.identity.errors import InvalidOrganisation

__all__ = [
    "City",
    "Jurisdiction",
    "KeyAlgorithm",
    "KeyOwner",
    "Mandate",
    "Money",
    "Organisation",
    "Person",
    "PublicKey",
    "RegistryIdentifiers",
    "Role",
]


class Jurisdiction(StrEnum):
    HK = "HK"
    MO = "MO"
    CN = "CN"


class City(StrEnum):
    """The eleven GBA cities, and everywhere else."""

    HONG_KONG = "Hong Kong"
    MACAO = "Macao"
    GUANGZHOU = "Guangzhou"
    SHENZHEN = "Shenzhen"
    ZHUHAI = "Zhuhai"
    FOSHAN = "Foshan"
    HUIZHOU = "Huizhou"
    DONGGUAN = "Dongguan"
    ZHONGSHAN = "Zhongshan"
    JIANGMEN = "Jiangmen"
    ZHAOQING = "Zhaoqing"
    OUTSIDE_GBA = "outside GBA"

    @classmethod
    def parse(cls, text: str) -> City:
        wanted = " ".join(text.replace("-", " ").replace("_", " ").split()).casefold()
        for city in cls:
            if city.value.casefold() == wanted or city.name.replace("_", " ").casefold() == wanted:
                return city
        names = ", ".join(c.value for c in cls)
        raise InvalidOrganisation(f"unknown city {text!r}: expected one of {names}")

    @property
    def in_gba(self) -> bool:
        return self is not City.OUTSIDE_GBA


_MAINLAND_GBA_CITIES = frozenset(
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


def city_belongs_to(city: City, jurisdiction: Jurisdiction) -> bool:
    if city is City.OUTSIDE_GBA:
        return True
    if jurisdiction is Jurisdiction.HK:
        return city is City.HONG_KONG
    if jurisdiction is Jurisdiction.MO:
        return city is City.MACAO
    return city in _MAINLAND_GBA_CITIES


class Role(StrEnum):
    DIRECTOR = "director"
    COMPANY_SECRETARY = "company_secretary"
    AUTHORISED_SIGNATORY = "authorised_signatory"
    DELEGATE = "delegate"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        """How the role reads on a certificate or a report."""
        return self.value.replace("_", " ").title()


class KeyAlgorithm(StrEnum):
    ED25519 = "Ed25519"


class KeyOwner(StrEnum):
    ORGANISATION = "organisation"
    PERSON = "person"


@dataclass(frozen=True, slots=True)
class RegistryIdentifiers:
    """Registry numbers, each already checked by ``bayflow.compliance.identifiers``.

    ``None`` means the organisation has no such number, not that it is unknown.
    """

    hk_brn: str | None = None
    cn_uscc: str | None = None
    mo_registration: str | None = None
    lei: str | None = None

    def primary(self) -> str:
        """The identifier that names the organisation in certificates (ETSI EN 319 412-1)."""
        if self.cn_uscc:
            return f"NTRCN-{self.cn_uscc}"
        if self.hk_brn:
            return f"NTRHK-{self.hk_brn}"
        if self.mo_registration:
            return f"NTRMO-{self.mo_registration}"
        if self.lei:
            return f"LEIXG-{self.lei}"
        raise InvalidOrganisation("organisation has no registry identifier")


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    legal_name_en: str
    legal_name_zh: str | None
    jurisdiction: Jurisdiction
    city: City
    identifiers: RegistryIdentifiers
    created_at: datetime
    is_operator: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    organisation_id: str
    name: str
    name_zh: str | None
    roles: frozenset[Role]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A registered public key. Retired keys stay, to verify what they signed before."""

    kid: str
    owner: KeyOwner
    owner_id: str
    organisation_id: str
    algorithm: KeyAlgorithm
    public_key: bytes
    created_at: datetime
    retired_at: datetime | None = None

    def is_active_at(self, now: datetime) -> bool:
        return self.created_at <= now and (self.retired_at is None or now < self.retired_at)

    def was_valid_at(self, when: datetime) -> bool:
        """Whether a signature made at ``when`` could have come from this key."""
        return self.is_active_at(when)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in an ISO 4217 currency, kept to cents (HKD, CNY and MOP all have two)."""

    currency: str
    amount: Decimal

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidOrganisation(f"{self.currency!r} is not an ISO 4217 currency code")
        object.__setattr__(self, "amount", Decimal(self.amount).quantize(Decimal("0.01")))

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,}"


@dataclass(frozen=True, slots=True)
class Mandate:
    """Who may bind an organisation, as data.

    "Any two directors" is ``role=DIRECTOR, min_signers=2``. "One authorised signatory up to
    HK$1,000,000" is ``role=AUTHORISED_SIGNATORY, min_signers=1, limit=Money("HKD", 1000000)``.
    ``persons`` narrows a mandate to named people (any of them, up to ``min_signers``);
    ``actions`` empty means every action. ``valid_until`` ``None`` means open-ended.
    """

    id: str
    organisation_id: str
    description: str
    min_signers: int
    valid_from: datetime
    role: Role | None = None
    persons: frozenset[str] = field(default_factory=frozenset)
    actions: frozenset[str] = field(default_factory=frozenset)
    limit: Money | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.min_signers < 1:
            raise InvalidOrganisation("a mandate needs at least one signer")
        if self.role is None and not self.persons:
            raise InvalidOrganisation("a mandate names a role, or people, or both")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise InvalidOrganisation("a mandate must end after it starts")
        if self.limit is not None and self.limit.amount <= 0:
            raise InvalidOrganisation("a mandate's limit must be positive")

    def in_force_at(self, now: datetime) -> bool:
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)
