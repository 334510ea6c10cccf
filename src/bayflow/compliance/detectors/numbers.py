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
written side by side ("9123 4567 6123 4567") are still found. The same pattern stops at USCCs
that start with a digit (``91440300MA5…``), which the document detector checks.

Most candidates are not identifiers (amounts, dates, order numbers), so the pattern carries
what a regular expression decides cheaply, candidates are told apart by the named group that
matched and their length, and the cue words before one are read only when the checks leave
its type open.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from phonenumbers import PhoneMetadata

from bayflow.compliance.detectors import RawFinding
from bayflow.compliance.detectors.context import Cue, Cues
from bayflow.compliance.detectors.documents import uscc_finding
from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import (
    is_valid_prc_id,
    is_valid_uscc,
    luhn_check_digit,
    prc_id_check_character,
)

__all__ = ["NumberDetector"]

_E = EntityType

_NUMERIC_PATTERN: Final = r"""
    # One leading character class lets the regex engine skip ahead to the next [0-9+(] by a
    # bitmap test (a leading alternation is tried at every position), and one look-behind
    # then drops the inside of a word at once. Identifiers are written in ASCII digits
    # (NFKC leaves other scripts' digits as they are), but a digit of any script still
    # joins a word.
    [0-9+(](?<![\dA-Za-z][0-9+(])
    (?:
        (?<=[0-9])
        (?:
            (?<!\.[0-9])
            (?:
                (?P<moid>/[0-9]{6}/[0-9]|[0-9]{6}\([0-9]\))
              | (?P<run>RUN[Xx]?)
            )
            (?![\dA-Za-z])
            # A USCC that starts with a digit and holds a letter (all-digit ones are runs):
            # found here rather than by the document detector, whose pattern then needs to
            # stop only at capital letters.
          | (?P<uscc>(?=[0-9]{0,16}[A-HJ-NP-RTUW-Y])[0-9A-HJ-NP-RTUW-Y]{17})(?![\dA-Za-z])
        )
        # A country code with a plus or in brackets.
      | (?<=\+)\s?(?P<cc>852|853|86)[ \-]?(?P<ccbody>[0-9](?:[ \-]?[0-9]){6,11})
        (?![\dA-Za-z])
      | (?<=\()
        (?:
            \+?(?P<bcc>852|853|86)\)[ \-]?(?P<bccbody>[0-9](?:[ \-]?[0-9]){6,11})
          | (?P<area>0[0-9]{2,3})\)[ \-]?(?P<local>[0-9]{3,4}[ \-]?[0-9]{4})
        )
        (?![\dA-Za-z])
    )
"""
# A run is 7 to 23 digits joined by single spaces or hyphens, the longest that ends at a word
# boundary. Counting digits across separators makes re repeat a group once a digit, three
# times the cost of whole pieces; so the pattern matches whole pieces with no count, and
# Python reads what that changes the same way as counting would: a run of more than 23
# digits is read again with the counting pattern, and one of fewer than 7 is no candidate
# (but may end in the first digit of a slashed Macao ID, "12 1/234567/8").
_LONGEST_RUN: Final = 23
_NUMERIC: Final = re.compile(
    _NUMERIC_PATTERN.replace("RUN", r"(?=[0-9 \-]{6})[0-9]*(?:[ \-][0-9]+)*"), re.VERBOSE
)
_NUMERIC_COUNTED: Final = re.compile(
    _NUMERIC_PATTERN.replace("RUN", r"(?:[0-9]|[ \-][0-9]){6,22}"), re.VERBOSE
)
_SEPARATORS: Final = str.maketrans("", "", " -")

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
        run = _Run(Cues(text, hint), enabled, self._today, self._floor, out)
        position: int | None = 0
        while position is not None:
            position = run.scan(position)


class _Resume(Exception):
    """The search goes on from ``position``: a candidate was read past the pattern's match."""

    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


class _Run:
    """One scan of one text: its cues, what to look for, and the checks by length."""

    __slots__ = ("cues", "enabled", "floor", "out", "text", "today")

    def __init__(
        self,
        cues: Cues,
        enabled: frozenset[EntityType],
        today: str,
        floor: float,
        out: list[RawFinding],
    ) -> None:
        self.cues = cues
        self.text = cues.text
        self.enabled = enabled
        self.today = today
        self.floor = floor
        self.out = out

    def scan(self, position: int) -> int | None:
        """Classify the candidates from ``position`` on; where the search must go on."""
        classify = self.classify
        out = self.out
        try:
            for match in _NUMERIC.finditer(self.text, position):
                found = classify(match)
                if found is not None:
                    out.append(found)
        except _Resume as resume:
            return resume.position
        return None

    def classify(self, match: re.Match[str]) -> RawFinding | None:
        form = match.lastgroup  # the named group that closed last: which branch matched
        if form == "run":
            return self.run(match)
        start, end = match.span()
        if form == "uscc":
            return uscc_finding(self.cues, start, end) if _E.CN_USCC in self.enabled else None
        if form == "moid":
            return self.macao_id_form(start, end)
        if form == "local":
            national = match.group("area")[1:] + match.group("local").translate(_SEPARATORS)
            if _E.PHONE in self.enabled and _PHONE_VALID["CN"].fullmatch(national):
                return RawFinding(_E.PHONE, start, end, _CONTEXT, "CN")
            return None
        country = match.group("cc") or match.group("bcc")
        body = (match.group("ccbody") or match.group("bccbody")).translate(_SEPARATORS)
        return self.phone_with_country(start, end, country, body)

    def run(self, match: re.Match[str]) -> RawFinding | None:
        """Digits, perhaps joined by separators and closed by an ``X``."""
        start, end = match.span()
        raw = match.group()
        if len(raw) > _LONGEST_RUN and _digit_count(raw) > _LONGEST_RUN:
            self.long_run(start, end)
            return None
        if raw.isalnum():
            # No separator, the common case: never a date, never pieces.
            found = self.digits(start, end, raw)
        elif len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            return None  # an ISO date
        else:
            digits = raw.translate(_SEPARATORS)
            found = self.digits(start, end, digits)
            if found is None and len(digits) > 8:
                found = self.pieces(start, raw)
            elif raw[-2] in " -" and self.text.startswith("/", end) and len(digits) < 7:
                # Too few digits for a run, and "1/234567/8" may start at its last one.
                self.macao_slashed_after(end - 1)
        if raw[-1] == "X" and end - start >= 18 and _E.CN_USCC in self.enabled:
            self.uscc_closing_run(start, end, found)
            return None
        return found

    def macao_slashed_after(self, start: int) -> None:
        """Read a slashed Macao ID from ``start``, the last digit of a run too short to be one.

        Counting digits, the pattern would have found no run and then this ID, and gone on
        after it: so does the search here.
        """
        match = _NUMERIC.match(self.text, start)
        if match is not None:
            found = self.classify(match)
            if found is not None:
                self.out.append(found)
            raise _Resume(match.end())

    def long_run(self, start: int, end: int) -> None:
        """A run of more than 23 digits: read as the counting pattern reads it, in parts."""
        for match in _NUMERIC_COUNTED.finditer(self.text, start):
            if match.start() >= end:
                break
            found = self.classify(match)
            if found is not None:
                self.out.append(found)
            if match.end() > end:
                # A Macao ID whose first digit ends the run ("… 1/234567/8").
                raise _Resume(match.end())

    def uscc_closing_run(self, start: int, end: int, found: RawFinding | None) -> None:
        """Add ``found`` and, if the run ends in a valid USCC, that too.

        Seventeen digits and an ``X``, alone or after a separator, have a USCC's shape as well
        as an ID's. The run's finding goes first, so that of two with the same span and
        confidence the scanner keeps the run's.
        """
        if found is not None:
            self.out.append(found)
        text = self.text
        if text[end - 18 : end].isalnum() and (start == end - 18 or text[end - 19] in " -"):
            uscc = uscc_finding(self.cues, end - 18, end)
            if uscc is not None:
                self.out.append(uscc)

    def pieces(self, base: int, raw: str) -> RawFinding | None:
        """Retry a run at its separators: the first joined pieces that fit, longest first.

        Returns the first fit, after adding any later ones to nothing: a run is rarely two
        identifiers, and when it is, the first is the one its cue names.
        """
        # The pattern puts single separators between digits, so the pieces are never empty.
        parts = raw.replace("-", " ").split(" ")
        count = len(parts)
        if count == 2:  # the common case, "20240617-0042": each piece alone
            first, second = parts
            cut = base + len(first)
            found = self.digits(base, cut, first) if len(first) >= 8 else None
            if found is None and len(second) >= 8:
                found = self.digits(cut + 1, base + len(raw), second)
            return found
        starts = [0] * count
        for i in range(1, count):
            starts[i] = starts[i - 1] + len(parts[i - 1]) + 1
        for i in range(count):
            for j in range(count, i, -1):
                if i == 0 and j == count:
                    continue  # the whole run was tried already
                digits = "".join(parts[i:j])
                if len(digits) < 8:
                    break
                end = base + starts[j - 1] + len(parts[j - 1])
                found = self.digits(base + starts[i], end, digits)
                if found is not None:
                    return found
        return None

    def digits(self, start: int, end: int, digits: str) -> RawFinding | None:  # noqa: PLR0911 - a dispatch reads best as early returns.
        n = len(digits)
        if n == 8:
            return self.eight(start, end, digits) if digits.isdigit() else None
        if n == 18:
            return self.eighteen(start, end, digits)
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

    def eighteen(self, start: int, end: int, digits: str) -> RawFinding | None:
        upper = digits.upper()
        body = upper[:17]
        if not body.isdigit():
            return None
        if _E.PRC_RESIDENT_ID in self.enabled and prc_id_check_character(body) == upper[17]:
            # Over an impossible date or division, or a birth after today, a valid check
            # character makes a decoy, not an ID.
            if not is_valid_prc_id(upper) or upper[6:14] > self.today:
                return None
            cue = self.cues.before(start)
            confidence = _CHECKED_IN_CONTEXT if cue in {Cue.ID, Cue.PERMIT} else _CHECKED
            return RawFinding(_E.PRC_RESIDENT_ID, start, end, confidence)
        # Eighteen digits that fail the ID checks are most often a mistyped ID: another
        # reading needs its own cue.
        cue = self.cues.before(start) if upper.isdigit() else None
        if cue is Cue.USCC and _E.CN_USCC in self.enabled and is_valid_uscc(upper):
            return RawFinding(_E.CN_USCC, start, end, _CHECKED_IN_CONTEXT)
        return self.card(start, end, upper) if cue is Cue.CARD else None

    def eight(self, start: int, end: int, digits: str) -> RawFinding | None:  # noqa: PLR0911 - a dispatch reads best as early returns.
        cue = self.cues.before(start)
        if cue is None:
            # A bare eight-digit number is as likely an amount, a date or a BRN.
            return None if self.floor > _WEAK else self.hk_mo_phone(start, end, digits, cue=False)
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
        if self.cues.region_near(start, end) == "MO":
            return RawFinding(_E.MO_ID, start, end, _CONTEXT)
        return RawFinding(_E.MO_ID, start, end, _WEAK)

    def macao_id_form(self, start: int, end: int) -> RawFinding | None:
        if _E.MO_ID not in self.enabled or self.text[start] not in _MACAO_ID_LEADING:
            return None
        cue = self.cues.before(start)
        if cue is Cue.MO_ID or (cue is Cue.ID and self.cues.region_near(start, end) != "HK"):
            return RawFinding(_E.MO_ID, start, end, _CONTEXT)
        # The slashed and bracketed forms are Macao's own way of writing the number.
        return RawFinding(_E.MO_ID, start, end, _FORM if cue is None else _WEAK)

    def card(self, start: int, end: int, digits: str) -> RawFinding | None:
        if _E.BANK_CARD not in self.enabled:
            return None
        branded = _CARD_BRANDS.fullmatch(digits) is not None
        if not branded and self.floor > _FORM:
            return None
        luhn = luhn_check_digit(digits[:-1]) == digits[-1]
        if not branded and not luhn:
            return None
        cue = self.cues.before(start) is Cue.CARD
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
        cue = self.cues.before(start) is Cue.PHONE
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
        near = self.cues.region_near(start, end)
        chosen = near if near in valid else "|".join(valid)
        if cue:
            confidence = _CHECKED if "|" not in chosen else _CONTEXT
        else:
            written = end - start > len(national)
            confidence = _WEAK if written and near else _BARE
        return RawFinding(_E.PHONE, start, end, confidence, chosen)


def _digit_count(raw: str) -> int:
    return len(raw) - raw.count(" ") - raw.count("-") - (raw[-1] in "Xx")


def _country_prefix(digits: str) -> str | None:
    for country in ("852", "853", "86"):
        if digits.startswith(country):
            return country
    return None
