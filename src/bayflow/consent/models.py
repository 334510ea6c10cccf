"""Consent artefacts: the terms a data owner grants, versioned and immutable.

A consent's terms are fixed when it is requested; amending it makes a new version that must be
approved again. The terms have one canonical byte form (RFC 8785 JSON with a ``type`` marker),
and its SHA-256 digest is what every signed lifecycle event refers to, so a signature on an
event is a signature on exactly these terms.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Self

import rfc8785

from bayflow.consent.errors import InvalidConsent
from bayflow.identity.models import Jurisdiction

__all__ = [
    "CONSENT_TYPE",
    "ConsentTerms",
    "FetchType",
    "Frequency",
    "FrequencyUnit",
    "ProductScope",
]

CONSENT_TYPE: Final = "bayflow-consent/1"
MAX_PRODUCTS: Final = 50

_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_ORG = re.compile(r"org_[a-z2-7]{26}")
_CONSENT_ID = re.compile(r"con_[a-z2-7]{26}")


class FetchType(StrEnum):
    ONCE = "once"
    PERIODIC = "periodic"


class FrequencyUnit(StrEnum):
    """A fetch limit's period. Limits are counted over a sliding window of this length."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def window(self) -> timedelta:
        return {
            FrequencyUnit.HOUR: timedelta(hours=1),
            FrequencyUnit.DAY: timedelta(days=1),
            FrequencyUnit.WEEK: timedelta(days=7),
            FrequencyUnit.MONTH: timedelta(days=30),
            FrequencyUnit.YEAR: timedelta(days=365),
        }[self]


@dataclass(frozen=True, slots=True)
class Frequency:
    """At most ``value`` fetches per ``unit`` (e.g. one a month)."""

    unit: FrequencyUnit
    value: int

    def __post_init__(self) -> None:
        if not 1 <= self.value <= 10_000:
            raise InvalidConsent("a frequency limit is 1 to 10,000 fetches per period")


@dataclass(frozen=True, slots=True, order=True)
class ProductScope:
    """One data product of one provider."""

    provider: str
    product: str

    def __post_init__(self) -> None:
        if not _ORG.fullmatch(self.provider):
            raise InvalidConsent(f"provider {self.provider!r} is not an organisation id")
        if not _CODE.fullmatch(self.product):
            raise InvalidConsent(f"product id {self.product!r} is not a valid product id")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidConsent(f"{what} is not a timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidConsent(f"{what} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        raise InvalidConsent(f"{what} needs a time zone")
    return parsed.astimezone(UTC)


def _parse_date(value: Any, what: str) -> date:
    if not isinstance(value, str):
        raise InvalidConsent(f"{what} is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidConsent(f"{what} is not an ISO 8601 date") from exc


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """What a data owner grants a consumer.

    ``data_from``/``data_to`` bound the dates of the data itself (e.g. invoices of the last 24
    months); ``expires_at`` bounds when the consent can be used. ``data_life`` is how long the
    consumer may keep what it fetched. ``previous_digest`` links an amendment to the version it
    replaces (``None`` for version 1).
    """

    id: str
    version: int
    data_owner: str
    consumer: str
    products: tuple[ProductScope, ...]
    purpose_code: str
    purpose_text: str
    data_from: date
    data_to: date
    fetch_type: FetchType
    frequency: Frequency | None
    data_life: timedelta
    expires_at: datetime
    origin: Jurisdiction
    destination: Jurisdiction
    created_at: datetime
    previous_digest: bytes | None = None

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:  # noqa: C901, PLR0912 - each rule one line, in one place.
        if not _CONSENT_ID.fullmatch(self.id):
            raise InvalidConsent(f"{self.id!r} is not a consent id")
        if self.version < 1:
            raise InvalidConsent("consent versions start at 1")
        if (self.version == 1) != (self.previous_digest is None):
            raise InvalidConsent("an amendment (version > 1) names the digest it replaces")
        for who, value in (("data owner", self.data_owner), ("consumer", self.consumer)):
            if not _ORG.fullmatch(value):
                raise InvalidConsent(f"{who} {value!r} is not an organisation id")
        if self.data_owner == self.consumer:
            raise InvalidConsent("the consumer cannot be the data owner")
        if not 1 <= len(self.products) <= MAX_PRODUCTS:
            raise InvalidConsent(f"a consent names 1 to {MAX_PRODUCTS} products")
        if len(set(self.products)) != len(self.products):
            raise InvalidConsent("a product is named twice")
        if not _CODE.fullmatch(self.purpose_code):
            raise InvalidConsent(f"purpose code {self.purpose_code!r} is not valid")
        if not self.purpose_text.strip() or len(self.purpose_text) > 500:
            raise InvalidConsent("the purpose text is empty or longer than 500 characters")
        if self.data_from > self.data_to:
            raise InvalidConsent("the data range ends before it starts")
        if (self.fetch_type is FetchType.PERIODIC) != (self.frequency is not None):
            raise InvalidConsent("periodic consents have a frequency limit; one-off ones do not")
        if self.data_life <= timedelta(0) or self.data_life.seconds or self.data_life.microseconds:
            raise InvalidConsent("the data life is a positive number of whole days")
        for what, when in (("expiry", self.expires_at), ("creation time", self.created_at)):
            if when.tzinfo is None:
                raise InvalidConsent(f"the {what} needs a time zone")
        if self.expires_at <= self.created_at:
            raise InvalidConsent("the consent expires before it is created")

    # Canonical form -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        fetch: dict[str, Any] = {"type": self.fetch_type.value}
        if self.frequency is not None:
            fetch["frequency"] = {"unit": self.frequency.unit.value, "value": self.frequency.value}
        return {
            "type": CONSENT_TYPE,
            "id": self.id,
            "version": self.version,
            "previous": self.previous_digest.hex() if self.previous_digest else None,
            "data_owner": self.data_owner,
            "consumer": self.consumer,
            "products": [{"provider": p.provider, "product": p.product} for p in self.products],
            "purpose": {"code": self.purpose_code, "text": self.purpose_text},
            "data_range": {"from": self.data_from.isoformat(), "to": self.data_to.isoformat()},
            "fetch": fetch,
            "data_life_days": self.data_life.days,
            "expires_at": _iso(self.expires_at),
            "jurisdictions": {"origin": self.origin.value, "destination": self.destination.value},
            "created_at": _iso(self.created_at),
        }

    def canonical_bytes(self) -> bytes:
        """RFC 8785 canonical JSON: the bytes every signature and digest is over."""
        return rfc8785.dumps(self.to_json())

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical_bytes()).digest()

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if not isinstance(data, dict) or data.get("type") != CONSENT_TYPE:
            raise InvalidConsent(f"not a consent (expected type {CONSENT_TYPE})")
        expected = {
            "type", "id", "version", "previous", "data_owner", "consumer", "products", "purpose",
            "data_range", "fetch", "data_life_days", "expires_at", "jurisdictions", "created_at",
        }  # fmt: skip
        if set(data) != expected:
            odd = sorted(set(data) ^ expected)
            raise InvalidConsent(f"consent members missing or unknown: {', '.join(odd)}")
        try:
            products = tuple(ProductScope(p["provider"], p["product"]) for p in data["products"])
            fetch = data["fetch"]
            frequency = None
            if "frequency" in fetch:
                frequency = Frequency(
                    FrequencyUnit(fetch["frequency"]["unit"]), int(fetch["frequency"]["value"])
                )
            previous = data["previous"]
            version = data["version"]
            days = data["data_life_days"]
            if not isinstance(version, int) or not isinstance(days, int):
                raise InvalidConsent("version and data_life_days are integers")
            return cls(
                id=data["id"],
                version=version,
                data_owner=data["data_owner"],
                consumer=data["consumer"],
                products=products,
                purpose_code=data["purpose"]["code"],
                purpose_text=data["purpose"]["text"],
                data_from=_parse_date(data["data_range"]["from"], "data_range.from"),
                data_to=_parse_date(data["data_range"]["to"], "data_range.to"),
                fetch_type=FetchType(fetch["type"]),
                frequency=frequency,
                data_life=timedelta(days=days),
                expires_at=_parse_time(data["expires_at"], "expires_at"),
                origin=Jurisdiction(data["jurisdictions"]["origin"]),
                destination=Jurisdiction(data["jurisdictions"]["destination"]),
                created_at=_parse_time(data["created_at"], "created_at"),
                previous_digest=bytes.fromhex(previous) if previous is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidConsent(f"consent is malformed: {exc}") from exc

    def covers(self, product: ProductScope) -> bool:
        return product in self.products
