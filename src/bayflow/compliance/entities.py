"""The personal-identifier entity types the scanner reports, and what the law makes of each.

Every entity type carries a :class:`Sensitivity`: its PIPL Art. 28 sensitive category (or
``None``), its GB/T 35273-2020 class and whether that standard's Annex B lists it as sensitive
personal information, and whether GB/T 45574-2025 still does. The two standards disagree on
identity-document numbers: GB/T 35273 Annex B lists ID card, passport and permit numbers as
sensitive identity information, while GB/T 45574 (in force 1 Nov 2025) no longer treats the
number alone as "specific identity" information, only card images or a number combined with
other data. Both flags are kept so a policy can choose; COMPLIANCE.md §3 has the sources.

The Art. 28 category slugs are the ones :data:`bayflow.exchange.models.SENSITIVE_CATEGORIES`
uses, so scanner findings feed a transfer description's ``sensitive_categories`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

__all__ = ["SENSITIVITY", "EntityType", "PersonalInformation", "Sensitivity"]


class EntityType(StrEnum):
    """What a finding is. The names are the scanner's public vocabulary (``--types``)."""

    PRC_RESIDENT_ID = "PRC_RESIDENT_ID"
    HK_ID = "HK_ID"
    MO_ID = "MO_ID"
    HK_MO_TRAVEL_PERMIT = "HK_MO_TRAVEL_PERMIT"
    CN_USCC = "CN_USCC"
    HK_BRN = "HK_BRN"
    PHONE = "PHONE"
    BANK_CARD = "BANK_CARD"
    EMAIL = "EMAIL"
    PASSPORT = "PASSPORT"
    PERSON_NAME = "PERSON_NAME"


PersonalInformation = Literal["yes", "potential", "no"]
"""Whether a value of this type is personal information on its own.

``potential``: an organisation identifier that names a natural person in some cases, such as a
USCC beginning ``92`` (an individual business, 个体工商户) or the BRN of a sole proprietor.
"""


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """How PIPL and the national standards classify one entity type.

    ``pipl_art28`` is ``None`` for personal information that Art. 28 does not list as
    sensitive (a phone number or a name), not "unknown".
    """

    personal: PersonalInformation
    pipl_art28: str | None
    gbt35273_class: str
    gbt35273_sensitive: bool
    gbt45574_sensitive: bool


# GB/T 35273-2020 Annex A/B class names, with the Chinese heading they translate.
_IDENTITY: Final = "personal-identity"  # 个人身份信息
_PROPERTY: Final = "personal-property"  # 个人财产信息
_BASIC: Final = "personal-basic"  # 个人基本资料 (names, phone numbers, e-mail addresses)
_ORGANISATION: Final = "organisation"  # not personal information in itself

_IDENTITY_DOCUMENT: Final = Sensitivity(
    personal="yes",
    pipl_art28="specific-identity",
    gbt35273_class=_IDENTITY,
    gbt35273_sensitive=True,
    gbt45574_sensitive=False,
)
_CONTACT: Final = Sensitivity(
    personal="yes",
    pipl_art28=None,
    gbt35273_class=_BASIC,
    gbt35273_sensitive=False,
    gbt45574_sensitive=False,
)
_REGISTRY: Final = Sensitivity(
    personal="potential",
    pipl_art28=None,
    gbt35273_class=_ORGANISATION,
    gbt35273_sensitive=False,
    gbt45574_sensitive=False,
)

SENSITIVITY: Final[dict[EntityType, Sensitivity]] = {
    EntityType.PRC_RESIDENT_ID: _IDENTITY_DOCUMENT,
    EntityType.HK_ID: _IDENTITY_DOCUMENT,
    EntityType.MO_ID: _IDENTITY_DOCUMENT,
    EntityType.HK_MO_TRAVEL_PERMIT: _IDENTITY_DOCUMENT,
    EntityType.PASSPORT: _IDENTITY_DOCUMENT,
    # Bank card numbers are financial accounts under Art. 28 and stay sensitive under
    # GB/T 45574 as well.
    EntityType.BANK_CARD: Sensitivity(
        personal="yes",
        pipl_art28="financial-account",
        gbt35273_class=_PROPERTY,
        gbt35273_sensitive=True,
        gbt45574_sensitive=True,
    ),
    EntityType.PHONE: _CONTACT,
    EntityType.EMAIL: _CONTACT,
    EntityType.PERSON_NAME: _CONTACT,
    EntityType.CN_USCC: _REGISTRY,
    EntityType.HK_BRN: _REGISTRY,
}
