"""Digit-run identifiers: PRC resident IDs, bank cards, phone numbers, Macao IDs, HK BRNs.

One regular expression finds every run of digits that may hold one of them: optionally a
country code (``+852``, ``(853)``, ``0086``), a Mainland area code in brackets, the Macao ID
forms ``1/234567/8`` and ``1234567(8)``, or digits joined by single spaces or hyphens, with a
final ``X`` for an ID card. Python then decides by the compact length and the checks:

- 18 characters: a PRC resident ID (check character, birth date, division code, including the
  810000/820000/830000 residence permits), else a USCC made only of digits;
- 13 to 19 digits with a known issuer prefix: a bank card if the Luhn digit holds;
- 11 digits from ``1``: a Mainland mobile; 10 to 12 from ``0``: a Mainland fixed line;
- 8 digits: a Hong Kong or Macao phone, a Macao ID or an HK BRN, by the nearest cue word.

Phone numbers are checked against libphonenumber's metadata for CN, HK and MO, compiled once
into plain regular expressions: the same rules ``phonenumbers.is_valid_number`` applies, at a
fraction of its cost per candidate.

A run that fits nothing as a whole is retried piece by piece at its separators, so two numbers
written side by side ("9123 4567 6123 4567") are still found.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from phonenumbers import PhoneMetadata

from bayflow.compliance.detectors import RawFinding
from bayflow.compliance.detectors.context import Cue, cue_before, region_near
from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import (
    USCC,
    PRCResidentID,
    luhn_check_digit,
    prc_id_check_character,
    uscc_check_character,
)
from bayflow.errors import InvalidIdentifier

__all__ = ["NumberDetector"]

_E = EntityType

_NUMERIC: Final = re.compile(
    r"""
    (?:
        # A country code with a plus or in brackets; the first character is consumed before
        # the look-behind so that the regex engine can skip ahead to the next [+(0-9] fast.
        \+(?<![0-9A-Za-z]\+)\s?(?P<cc>852|853|86)[ \-]?(?P<ccbody>\d(?:[ \-]?\d){6,11})
      | \((?<![0-9A-Za-z]\()
        (?:
            \+?(?P<bcc>852|853|86)\)[ \-]?(?P<bccbody>\d(?:[ \-]?\d){6,11})
          | (?P<area>0\d{2,3})\)[ \-]?(?P<local>\d{3,4}[ \-]?\d{4})
        )
      | \d(?<![0-9A-Za-z.]\d)
        (?:
            (?P<moid>/\d{6}/\d|\d{6}\(\d\))
          | (?:[ \-]?\d){6,22}[Xx]?
        )
    )
    (?![0-9A-Za-z])
    """,
    re.VERBOSE,
)
_SEPARATORS: Final = str.maketrans("", "", " -")
_PIECE: Final = re.compile(r"[^ \-]+")

# Confidence levels. The scanner's default threshold is 0.5: everything from "bare" down is
# kept out of the default output but visible with a lower --min-confidence.
_CHECKED_IN_CONTEXT: Final = 0.99
_CHECKED: Final = 0.9
_CONTEXT: Final = 0.85
_FORM: Final = 0.65
_WEAK: Final = 0.45
_BARE: Final = 0.3
_NOISE: Final = 0.1


def _valid_number_pattern(region: str) -> re.Pattern[str]:
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    # Personal numbers only: toll-free, premium-rate, shared-cost and UAN (the 400/800
    # service numbers) name a business line, not a person.
    descriptions = (
        metadata.fixed_line,
        metadata.mobile,
        metadata.voip,
        metadata.pager,
        metadata.personal_number,
    )
    patterns = [d.national_number_pattern for d in descriptions if d and d.national_number_pattern]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_PHONE_VALID: Final = {region: _valid_number_pattern(region) for region in ("CN", "HK", "MO")}
_COUNTRY_REGION: Final = {"852": "HK", "853": "MO", "86": "CN"}

# Issuer prefixes and lengths of the card brands seen in the GBA (ISO/IEC 7812 issuer
# identification numbers, from the brands' public ranges). UnionPay: 62 and 81, 16-19
# digits; legacy Mainland domestic prefixes 9558 and 95599, 19 digits.
_CARD_BRANDS: Final = re.compile(
    r"(?:62|81)\d{14,17}|95599\d{14}|9558\d{15}"  # UnionPay and Mainland domestic
    r"|4\d{12}(?:\d{3}){0,2}"  # Visa: 13, 16 or 19
    r"|(?:5[1-5]\d\d|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)\d{12}"  # Mastercard
    r"|3[47]\d{13}"  # American Express
    r"|35(?:2[89]|[3-8]\d)\d{12,15}"  # JCB
    r"|(?:6011|64[4-9]\d|65\d\d)\d{12,15}"  # Discover, Diners International
)
_MACAO_ID_LEADING: Final = frozenset("157")


class NumberDetector:
    """PRC IDs, bank cards, phones, Macao IDs and HK BRNs written as runs of digits.

    ``floor`` is the scanner's confidence threshold: candidates that cannot reach it are
    dropped before their context is looked up, which is most of the cost of a bare number.
    """

    types: frozenset[EntityType] = frozenset(
        {_E.PRC_RESIDENT_ID, _E.BANK_CARD, _E.PHONE, _E.MO_ID, _E.HK_BRN, _E.CN_USCC}
    )

    def __init__(self, *, today: date, floor: float = 0.0) -> None:
        self._today = today.strftime("%Y%m%d")
        self._floor = floor

    def detect(
        self, text: str, enabled: frozenset[EntityType], hint: str, out: list[RawFinding]
    ) -> None:
        run = _Run(text, enabled, hint, self._today, self._floor)
        classify = run.classify
        for match in _NUMERIC.finditer(text):
            found = classify(match)
            if found is not None:
                out.append(found)


class _Run:
    """One scan of one text: the text, what to look for, and the checks by length."""

    __slots__ = ("enabled", "floor", "hint", "text", "today")

    def __init__(
        self, text: str, enabled: frozenset[EntityType], hint: str, today: str, floor: float
    ) -> None:
        self.text = text
        self.enabled = enabled
        self.hint = hint
        self.today = today
        self.floor = floor

    def classify(self, match: re.Match[str]) -> RawFinding | None:
        start, end = match.span()
        raw = match.group()
        first = raw[0]
        if first == "+" or (first == "(" and match.group("area") is None):
            country = match.group("cc") or match.group("bcc")
            body = (match.group("ccbody") or match.group("bccbody")).translate(_SEPARATORS)
            return self.phone_with_country(start, end, country, body)
        if first == "(":
            national = match.group("area")[1:] + match.group("local").translate(_SEPARATORS)
            if _E.PHONE in self.enabled and _PHONE_VALID["CN"].fullmatch(national):
                return RawFinding(_E.PHONE, start, end, _CONTEXT, "CN")
            return None
        if match.group("moid") is not None:
            return self.macao_id_form(start, end)
        if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            return None  # an ISO date
        digits = raw.translate(_SEPARATORS)
        found = self.digits(start, end, digits)
        if found is None and len(digits) > 8 and len(digits) != len(raw):
            found = self.pieces(start, raw)
        return found

    def pieces(self, base: int, raw: str) -> RawFinding | None:
        """Retry a run at its separators: the first joined pieces that fit, longest first.

        Returns the first fit, after adding any later ones to nothing: a run is rarely two
        identifiers, and when it is, the first is the one its cue names.
        """
        bounds = [(m.start(), m.end()) for m in _PIECE.finditer(raw)]
        for i in range(len(bounds)):
            for j in range(len(bounds), i, -1):
                if j - i == len(bounds):
                    continue  # the whole run was tried already
                start, end = base + bounds[i][0], base + bounds[j - 1][1]
                digits = raw[bounds[i][0] : bounds[j - 1][1]].translate(_SEPARATORS)
                if len(digits) < 8:
                    break
                found = self.digits(start, end, digits)
                if found is not None:
                    return found
        return None

    def digits(self, start: int, end: int, digits: str) -> RawFinding | None:  # noqa: PLR0911 - a dispatch reads best as early returns.
        n = len(digits)
        if n == 18:
            return self.eighteen(start, end, digits)
        if n == 8:
            return self.eight(start, end, digits) if digits.isdigit() else None
        if n == 11 and digits[0] == "1":
            return self.mainland(start, end, digits)
        if n < 10 or not digits.isdigit():
            return None
        if digits[:2] == "00" and (country := _country_prefix(digits[2:])):
            return self.phone_with_country(start, end, country, digits[2 + len(country) :])
        if (n == 11 and digits[:3] in {"852", "853"}) or (n == 13 and digits[:3] == "861"):
            country = digits[:3] if digits[:2] != "86" else "86"
            return self.phone_with_country(start, end, country, digits[len(country) :])
        if n >= 13:
            return self.card(start, end, digits)
        if digits[0] == "0":
            return self.mainland(start, end, digits[1:])
        return None

    # ---------------------------------------------------------------------------------------
    # By length.

    def eighteen(self, start: int, end: int, digits: str) -> RawFinding | None:  # noqa: PLR0911 - a dispatch reads best as early returns.
        upper = digits.upper()
        body = upper[:17]
        if not body.isdigit():
            return None
        if _E.PRC_RESIDENT_ID in self.enabled and prc_id_check_character(body) == upper[17]:
            try:
                # The constructor checks the division code and the calendar date; the parser's
                # NFKC pass is not needed on a candidate the regex already made ASCII.
                PRCResidentID(upper)
            except InvalidIdentifier:
                return None  # a valid check over an impossible date or division: a decoy
            if upper[6:14] > self.today:
                return None
            cue = cue_before(self.text, start, self.hint)
            confidence = _CHECKED_IN_CONTEXT if cue in {Cue.ID, Cue.PERMIT} else _CHECKED
            return RawFinding(_E.PRC_RESIDENT_ID, start, end, confidence)
        if not upper.isdigit():
            return None
        # Eighteen digits that fail the ID checks are most often a mistyped ID: another
        # reading needs its own cue.
        cue = cue_before(self.text, start, self.hint)
        if cue is Cue.USCC and _E.CN_USCC in self.enabled:
            return self.digit_uscc(start, end, upper)
        if cue is Cue.CARD:
            return self.card(start, end, upper)
        return None

    def digit_uscc(self, start: int, end: int, value: str) -> RawFinding | None:
        if uscc_check_character(value[:17]) != value[17]:
            return None
        try:
            USCC(value)
        except InvalidIdentifier:
            return None
        return RawFinding(_E.CN_USCC, start, end, _CHECKED_IN_CONTEXT)

    def eight(self, start: int, end: int, digits: str) -> RawFinding | None:  # noqa: PLR0911 - a dispatch reads best as early returns.
        cue = cue_before(self.text, start, self.hint)
        if cue is None:
            # A bare eight-digit number is as likely an amount, a date or a BRN.
            return self.hk_mo_phone(start, end, digits, cue=False)
        if cue is Cue.PHONE:
            return self.hk_mo_phone(start, end, digits, cue=True)
        if cue is Cue.BRN:
            return (
                RawFinding(_E.HK_BRN, start, end, _CONTEXT) if _E.HK_BRN in self.enabled else None
            )
        if _E.MO_ID not in self.enabled or digits[0] not in _MACAO_ID_LEADING:
            return None
        if cue is Cue.MO_ID:
            return RawFinding(_E.MO_ID, start, end, _CONTEXT)
        if cue is not Cue.ID:
            return None
        if region_near(self.text, start, end, self.hint) == "MO":
            return RawFinding(_E.MO_ID, start, end, _CONTEXT)
        return RawFinding(_E.MO_ID, start, end, _WEAK)

    def macao_id_form(self, start: int, end: int) -> RawFinding | None:
        if _E.MO_ID not in self.enabled or self.text[start] not in _MACAO_ID_LEADING:
            return None
        cue = cue_before(self.text, start, self.hint)
        if cue is Cue.MO_ID or (
            cue is Cue.ID and region_near(self.text, start, end, self.hint) != "HK"
        ):
            return RawFinding(_E.MO_ID, start, end, _CONTEXT)
        # The slashed and bracketed forms are Macao's own way of writing the number.
        return RawFinding(_E.MO_ID, start, end, _FORM if cue is None else _WEAK)

    def card(self, start: int, end: int, digits: str) -> RawFinding | None:
        if _E.BANK_CARD not in self.enabled:
            return None
        branded = _CARD_BRANDS.fullmatch(digits) is not None
        luhn = luhn_check_digit(digits[:-1]) == digits[-1]
        if not branded and (not luhn or self.floor > _FORM):
            return None
        cue = cue_before(self.text, start, self.hint) is Cue.CARD
        if luhn and branded:
            confidence = _CHECKED_IN_CONTEXT if cue else _CHECKED
        elif luhn:
            confidence = _FORM if cue else _BARE
        else:
            # COMPLIANCE.md §5.9: some legacy domestic cards fail Luhn, so a failure in strong
            # context lowers the score instead of rejecting; it stays under the threshold.
            confidence = _BARE if cue else _NOISE
        return RawFinding(_E.BANK_CARD, start, end, confidence)

    # ---------------------------------------------------------------------------------------
    # Phones.

    def phone_with_country(
        self, start: int, end: int, country: str, national: str
    ) -> RawFinding | None:
        region = _COUNTRY_REGION[country]
        if _E.PHONE not in self.enabled or not _PHONE_VALID[region].fullmatch(national):
            return None
        return RawFinding(_E.PHONE, start, end, _CHECKED_IN_CONTEXT, region)

    def mainland(self, start: int, end: int, national: str) -> RawFinding | None:
        """A Mainland number without its country code: mobile, or fixed line after the 0."""
        if _E.PHONE not in self.enabled or not _PHONE_VALID["CN"].fullmatch(national):
            return None
        cue = cue_before(self.text, start, self.hint) is Cue.PHONE
        if national[0] == "1" and len(national) == 11:
            return RawFinding(_E.PHONE, start, end, _CHECKED_IN_CONTEXT if cue else _CONTEXT, "CN")
        written = end - start > len(national) + 1  # separators after the area code
        confidence = _CONTEXT if cue else (_FORM if written else _WEAK)
        return RawFinding(_E.PHONE, start, end, confidence, "CN")

    def hk_mo_phone(self, start: int, end: int, national: str, *, cue: bool) -> RawFinding | None:
        """Eight digits: Hong Kong or Macao (COMPLIANCE.md §5.8: the number cannot say)."""
        if _E.PHONE not in self.enabled or (not cue and self.floor > _WEAK):
            return None
        valid = [r for r in ("HK", "MO") if _PHONE_VALID[r].fullmatch(national)]
        if not valid:
            return None
        near = region_near(self.text, start, end, self.hint)
        chosen = near if near in valid else "|".join(valid)
        if cue:
            confidence = _CHECKED if "|" not in chosen else _CONTEXT
        else:
            written = end - start > len(national)
            confidence = _WEAK if written and near else _BARE
        return RawFinding(_E.PHONE, start, end, confidence, chosen)


def _country_prefix(digits: str) -> str | None:
    for country in ("852", "853", "86"):
        if digits.startswith(country):
            return country
    return None
