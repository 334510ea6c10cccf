"""Data products: what a provider offers through the interchange.

A product describes data the hub never holds: its schema, what it contains for compliance
purposes (personal information or not, which sensitive categories), where the data is held,
and the provider endpoint that answers consented requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from bayflow.exchange.errors import InvalidProduct
from bayflow.identity.models import City, Jurisdiction

__all__ = ["SENSITIVE_CATEGORIES", "DataProduct"]

_PRODUCT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

# PIPL Art. 28 sensitive personal information, as COMPLIANCE.md §3 lists it.
SENSITIVE_CATEGORIES: Final = frozenset(
    {
        "biometric",
        "religious-belief",
        "specific-identity",
        "medical-health",
        "financial-account",
        "location-tracking",
        "minor-under-14",
        "other-sensitive",
    }
)


@dataclass(frozen=True, slots=True)
class DataProduct:
    """One product of one provider; ``(provider, id)`` names it."""

    provider: str
    id: str
    title_en: str
    title_zh: str
    json_schema: dict[str, Any]
    personal_information: bool
    held_in: Jurisdiction
    held_in_city: City
    endpoint: str
    created_at: datetime
    sensitive_categories: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not _PRODUCT_ID.fullmatch(self.id):
            raise InvalidProduct(f"product id {self.id!r}: lower-case letters, digits, . _ -")
        for what, title in (("English", self.title_en), ("Chinese", self.title_zh)):
            if not title.strip() or len(title) > 200:
                raise InvalidProduct(f"the {what} title is empty or longer than 200 characters")
        if self.json_schema.get("type") != "object":
            raise InvalidProduct("a product's JSON Schema describes an object (type: object)")
        unknown = self.sensitive_categories - SENSITIVE_CATEGORIES
        if unknown:
            raise InvalidProduct(f"unknown sensitive categories: {', '.join(sorted(unknown))}")
        if self.sensitive_categories and not self.personal_information:
            raise InvalidProduct("sensitive categories imply personal information")
        url = urlsplit(self.endpoint)
        if url.scheme not in {"http", "https"} or not url.netloc:
            raise InvalidProduct("the delivery endpoint is an http(s) URL")
