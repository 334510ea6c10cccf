"""Cross-boundary compliance: transfer rules, the identifier scanner and de-identification.

``bayflow.compliance.identifiers`` holds strict parsers for GBA registry and personal
identifiers (USCC, organisation code, PRC resident ID, HKID, HK BRN, Macao ID, travel
documents, LEI, payment cards) and the check-character functions the scanner reuses.

The transfer rules engine (issue 6, points 1-4): ``rules/gba-transfer-rules.yaml`` is the
versioned, cited rules table (R0-R21) and ``rules`` its strict loader; ``engine`` evaluates it
(``models`` holds transfer descriptions, routes and decisions); ``service`` stores and anchors
decisions, keeps year-to-date ``volumes`` by keyed pseudonym and registers GBA Standard
``contracts`` with deadlines counted in ``workdays`` (holiday data in ``calendars/``); ``gate``
is the exchange's transfer gate. Decisions are not legal advice.
"""

from bayflow.compliance.identifiers import (
    HKBRN,
    HKID,
    LEI,
    USCC,
    BankCardNumber,
    HKBRCertificateNumber,
    HKSARPassportNumber,
    HomeReturnPermit,
    MacaoID,
    MacaoRegistrationNumber,
    OrganisationCode,
    PRCPassportNumber,
    PRCResidentID,
    hkid_check_character,
    lei_check_digits,
    luhn_check_digit,
    organisation_code_check_character,
    prc_id_check_character,
    uscc_check_character,
)

__all__ = [
    "HKBRN",
    "HKID",
    "LEI",
    "USCC",
    "BankCardNumber",
    "HKBRCertificateNumber",
    "HKSARPassportNumber",
    "HomeReturnPermit",
    "MacaoID",
    "MacaoRegistrationNumber",
    "OrganisationCode",
    "PRCPassportNumber",
    "PRCResidentID",
    "hkid_check_character",
    "lei_check_digits",
    "luhn_check_digit",
    "organisation_code_check_character",
    "prc_id_check_character",
    "uscc_check_character",
]
