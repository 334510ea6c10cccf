"""Cross-boundary compliance: transfer rules, the identifier scanner and de-identification.

``bayflow.compliance.identifiers`` holds strict parsers for GBA registry and personal
identifiers (USCC, organisation code, PRC resident ID, HKID, HK BRN, Macao ID, travel
documents, LEI, payment cards) and the check-character functions the scanner reuses.
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
