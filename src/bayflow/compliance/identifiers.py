"""Strict, pure parsers for Greater Bay Area registry and personal identifiers.

Each identifier kind is a frozen value type whose ``parse(text)`` classmethod normalises the
text (NFKC, strip, upper-case, drop the separators that kind permits) and either returns a
value that passed every check or raises :class:`~bayflow.errors.InvalidIdentifier` with one
line naming the kind and the check that failed. Constructing a value type directly runs the
same checks on an already compact string, so no ill-formed instance exists. ``str()`` gives
the canonical written form and ``parse(str(x)) == x``.

The ``*_check_*`` functions compute check characters from a body. They are the hot path for
the scanner and the format-preserving pseudonymiser, so they use precomputed tables and no
regular expressions.

Standards and references (layouts and vectors as summarised in COMPLIANCE.md §5):

- Unified Social Credit Code: GB 32100-2015 with amendment XG1-2016 (registration authority
  and entity type tables); check character by GB/T 17710 (ISO 7064) mod 31.
- Organisation code: GB 11714-1997, mod 11 with weights 3, 7, 9, 10, 5, 8, 4, 2.
- PRC Resident Identity Card number: GB 11643-1999; check by ISO 7064:2003 MOD 11-2;
  address codes by GB/T 2260, plus 810000/820000/830000 on residence permits for Hong Kong,
  Macao and Taiwan residents.
- Hong Kong Identity Card: mod 11 over the letter prefix and six digits.
- Hong Kong Business Registration Number (Unique Business Identifier since 27 Dec 2023) and
  Business Registration Certificate number: Business Registration Ordinance (Cap. 310); no
  public check character.
- Macao Resident Identity Card (BIR), Mainland Travel Permit for Hong Kong and Macao
  Residents, PRC and HKSAR passports: format only; no public check character.
- Legal Entity Identifier: ISO 17442-1:2020; check digits by ISO 7064 MOD 97-10.
- Payment card numbers: ISO/IEC 7812-1 with the Luhn mod 10 check digit.

Messages about personal identifiers (ID cards, permits, passports, card numbers) mask the
middle of the value, so that an error that reaches a log does not carry the full number.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from operator import mul
from typing import ClassVar, Final, Literal, NoReturn, Self

from bayflow.errors import InvalidIdentifier

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
    "is_valid_prc_id",
    "is_valid_uscc",
    "lei_check_digits",
    "luhn_check_digit",
    "organisation_code_check_character",
    "prc_id_check_character",
    "uscc_check_character",
]

# ---------------------------------------------------------------------------------------------
# Shared tables and helpers.

_DIGITS: Final = "0123456789"
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Digits keep their face value and A-Z count 10-35 in GB 11714, the HKID scheme and ISO 7064
# MOD 97-10 alike.
_ALNUM_VALUE: Final[dict[str, int]] = {c: int(c, 36) for c in _DIGITS + _LETTERS}
_DIGIT_VALUE: Final[dict[str, int]] = {c: int(c) for c in _DIGITS}

# The GBA lies in UTC+8, so "today" for a birth date is the date there, not in UTC.
_GBA_TZ: Final = timezone(timedelta(hours=8))

# Longer inputs are cut in messages so an error stays one readable line.
_MAX_SHOWN: Final = 40


def _separators(chars: str) -> dict[int, int | None]:
    return str.maketrans("", "", chars)


_DROP_SPACE: Final = _separators(" ")
_DROP_SPACE_HYPHEN: Final = _separators(" -")


def _normalise(text: str, drop: dict[int, int | None]) -> str:
    # NFKC folds full-width digits, letters and brackets (and U+3000) to ASCII before the strip.
    return unicodedata.normalize("NFKC", text).strip().upper().translate(drop)


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit alone accepts other scripts' digits and superscripts, which int() then reads.
    return text.isascii() and text.isdigit()


def _mask(text: str) -> str:
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 3) + text[-1]


def _shown(text: str, *, personal: bool) -> str:
    if personal:
        text = _mask(text)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "…"
    return text if text.isprintable() else ascii(text)


def _fail(kind: str, value: str, reason: str, *, personal: bool = False) -> NoReturn:
    shown = _shown(value, personal=personal)
    raise InvalidIdentifier(f"{kind} {shown}: {reason}" if shown else f"{kind}: {reason}")


def _first_outside(text: str, allowed: dict[str, int] | str) -> int | None:
    for index, char in enumerate(text):
        if char not in allowed:
            return index
    return None


def _unbracket_last(kind: str, text: str, *, personal: bool) -> str:
    """Remove brackets written around the final character only, as in ``A123456(3)``."""
    if "(" not in text and ")" not in text:
        return text
    well_placed = len(text) >= 3 and text[-3] == "(" and text[-1] == ")"
    if well_placed and text.count("(") == 1 and text.count(")") == 1:
        return text[:-3] + text[-2]
    _fail(kind, text, "brackets may enclose only the final character", personal=personal)


class _Identifier:
    """Behaviour shared by the value types: canonical ``str()`` and a masking ``repr()``."""

    __slots__ = ()
    _PERSONAL: ClassVar[bool] = False
    value: str

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_shown(self.value, personal=self._PERSONAL)!r})"


# ---------------------------------------------------------------------------------------------
# Division codes (GB/T 2260).

# Province-level codes of GB/T 2260. 71 (Taiwan) is listed in the standard but no card carries
# it: Taiwan residents' permits use 830000 instead.
_PROVINCES: Final = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65"}
)
_RESIDENCE_PERMIT_REGIONS: Final[dict[str, Literal["HK", "MO", "TW"]]] = {
    "810000": "HK",
    "820000": "MO",
    "830000": "TW",
}
# Registrations made by central authorities carry the national code rather than a province.
_CENTRAL_DIVISIONS: Final = frozenset({"100000"})


def _division_problem(code: str, *, residence_permits: bool) -> str | None:
    """Say why ``code`` cannot be a GB/T 2260 division code, or return ``None``.

    Without the full (and historical) GB/T 2260 list this checks plausibility only: six
    digits, a province-level prefix, and no county digits under a zero prefecture, a shape
    GB/T 2260 never uses.
    """
    if not _is_ascii_digits(code) or len(code) != 6:
        return f"division code {code} is not six digits"
    if code in (_RESIDENCE_PERMIT_REGIONS if residence_permits else _CENTRAL_DIVISIONS):
        return None
    if residence_permits and code[:2] in {"81", "82", "83"}:
        return f"division code {code} is not 810000, 820000 or 830000 (residence permits)"
    if code[:2] not in _PROVINCES:
        return f"division code {code} names no province-level division (GB/T 2260)"
    if code[2:4] == "00" and code[4:] != "00":
        return f"division code {code} has county digits under no prefecture (GB/T 2260)"
    return None


# ---------------------------------------------------------------------------------------------
# GB 11714 organisation code.

_ORG_KIND: Final = "organisation code"
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHECK: Final = "0123456789X"


def organisation_code_check_character(body: str) -> str:
    """The GB 11714 check character (``0``-``9`` or ``X``) for an 8-character body."""
    if len(body) != len(_ORG_WEIGHTS):
        _fail(_ORG_KIND, body, f"body length is {len(body)}, expected 8")
    try:
        total = sum(map(mul, map(_ALNUM_VALUE.__getitem__, body), _ORG_WEIGHTS))
    except KeyError:
        _fail(_ORG_KIND, body, "body holds a character other than 0-9 and A-Z")
    # C = 11 - (S mod 11), where 10 is written X and 11 is written 0.
    return _ORG_CHECK[(11 - total % 11) % 11]


def _check_organisation_code(value: str) -> None:
    if not value:
        _fail(_ORG_KIND, value, "empty")
    if len(value) != 9:
        _fail(_ORG_KIND, value, f"length is {len(value)}, expected 9")
    bad = _first_outside(value[:8], _ALNUM_VALUE)
    if bad is not None:
        _fail(_ORG_KIND, value, f"character {value[bad]!r} at position {bad + 1} is not 0-9 or A-Z")
    if value[8] not in _ORG_CHECK:
        _fail(_ORG_KIND, value, f"check character {value[8]!r} is not 0-9 or X")
    expected = organisation_code_check_character(value[:8])
    if value[8] != expected:
        _fail(
            _ORG_KIND,
            value,
            f"check character is {value[8]}, expected {expected} (GB 11714 mod 11)",
        )


@dataclass(frozen=True, slots=True, repr=False)
class OrganisationCode(_Identifier):
    """A GB 11714 organisation code: 8 body characters and a mod-11 check character.

    ``value`` is compact (``D2143569X``); ``str()`` is the written form ``D2143569-X``.
    """

    value: str

    def __post_init__(self) -> None:
        _check_organisation_code(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))

    def __str__(self) -> str:
        return f"{self.value[:8]}-{self.value[8]}"


# ---------------------------------------------------------------------------------------------
# GB 32100 Unified Social Credit Code.

_USCC_KIND: Final = "USCC"
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final[dict[str, int]] = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_BODY_LENGTH: Final = 17
# Each alphabet character to the base-34 digit of its value; every other ASCII character to
# one that int() refuses.
_USCC_BASE_34: Final = str.maketrans(
    {chr(c): "!" for c in range(128)} | dict(zip(_USCC_ALPHABET, _DIGITS + _LETTERS, strict=False))
)

# Registration authority code (position 1) -> entity type codes (position 2) it defines, from
# GB 32100-2015 table 1 as amended: A (military establishments) and N (agricultural collective
# economic organisations) were added after the first edition.
_USCC_ENTITY_TYPES: Final[dict[str, str]] = {
    "1": "1239",  # establishment authorities: organs, public institutions, mass organisations
    "2": "19",  # foreign affairs: resident foreign news agencies
    "3": "123459",  # justice: law firms, notaries, legal services, forensics, arbitration
    "4": "19",  # culture: foreign cultural centres
    "5": "1239",  # civil affairs: social organisations, private non-enterprises, foundations
    "6": "129",  # tourism: foreign and HK/Macao/Taiwan tourism representative offices
    "7": "129",  # religious affairs: venues and colleges
    "8": "19",  # trade unions
    "9": "123",  # market regulation: enterprises, individual businesses, cooperatives
    "A": "19",  # Central Military Commission establishment office
    "N": "1239",  # agriculture: group, village and township collective economic organisations
    "Y": "1",  # other authorities use 1 for every entity
}


def uscc_check_character(body: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    if len(body) != _USCC_BODY_LENGTH:
        _fail(_USCC_KIND, body, f"body length is {len(body)}, expected 17")
    try:
        # The weights are 3**i from the left and 34 = 3 (mod 31): the reversed body, each
        # character written as the base-34 digit of its value, read as a base-34 numeral, is
        # the weighted sum modulo 31. int() runs in C, a fifth of the cost of a Python sum.
        if not body.isascii():
            raise ValueError  # noqa: TRY301 - one path for every character outside the alphabet
        total = int(body[::-1].translate(_USCC_BASE_34), 34)
    except ValueError:
        _fail(_USCC_KIND, body, "body holds a character outside the GB 32100 alphabet")
    return _USCC_ALPHABET[-total % 31]


def _check_uscc(value: str) -> None:
    if not value:
        _fail(_USCC_KIND, value, "empty")
    if len(value) != 18:
        _fail(_USCC_KIND, value, f"length is {len(value)}, expected 18")
    bad = _first_outside(value, _USCC_VALUE)
    if bad is not None:
        _fail(
            _USCC_KIND,
            value,
            f"character {value[bad]!r} at position {bad + 1} is outside the GB 32100 alphabet "
            "(no I, O, S, V or Z)",
        )
    _check_uscc_structure(value)
    expected = uscc_check_character(value[:17])
    if value[17] != expected:
        _fail(
            _USCC_KIND,
            value,
            f"check character is {value[17]}, expected {expected} (GB 32100 mod 31)",
        )
    # The mod-31 check above already holds, so a mismatch here is an organisation code that
    # was embedded wrongly at issue, not a typing error.
    org_expected = organisation_code_check_character(value[8:16])
    if value[16] != org_expected:
        _fail(
            _USCC_KIND,
            value,
            f"embedded organisation code {value[8:17]} has check character {value[16]}, "
            f"expected {org_expected} (GB 11714 mod 11)",
        )


def _uscc_structure_problem(value: str) -> str | None:
    authority, entity_type = value[0], value[1]
    entity_types = _USCC_ENTITY_TYPES.get(authority)
    if entity_types is None:
        return f"registration authority code {authority} is not assigned (GB 32100 table 1)"
    if entity_type not in entity_types:
        return (
            f"entity type code {entity_type} is not defined for registration authority "
            f"{authority} (GB 32100 table 1)"
        )
    return _division_problem(value[2:8], residence_permits=False)


def _check_uscc_structure(value: str) -> None:
    problem = _uscc_structure_problem(value)
    if problem is not None:
        _fail(_USCC_KIND, value, problem)


def is_valid_uscc(value: str) -> bool:
    """Whether the compact ``value`` is a USCC: every check :class:`USCC` makes, no exception.

    For testing many candidates (the scanner), where most fail and an exception with its
    message would cost more than the checks.
    """
    if len(value) != 18 or not all(map(_USCC_VALUE.__contains__, value)):
        return False
    if _uscc_structure_problem(value) is not None:
        return False
    return (
        uscc_check_character(value[:17]) == value[17]
        and organisation_code_check_character(value[8:16]) == value[16]
    )


@dataclass(frozen=True, slots=True, repr=False)
class USCC(_Identifier):
    """A Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

    Every check is applied: the 31-character alphabet, the registration authority and entity
    type codes, a plausible division code, the mod-31 check character, and the GB 11714 check
    character of the embedded organisation code (positions 9-17), which the mod-31 check does
    not cover on its own.
    """

    value: str

    def __post_init__(self) -> None:
        _check_uscc(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))

    @property
    def registration_authority(self) -> str:
        return self.value[0]

    @property
    def entity_type(self) -> str:
        return self.value[1]

    @property
    def division_code(self) -> str:
        return self.value[2:8]

    @property
    def organisation_code(self) -> OrganisationCode:
        return OrganisationCode(self.value[8:17])

    @property
    def is_individual_business(self) -> bool:
        """True for ``92…``: an individual business (个体工商户) names a natural person.

        The scanner tags such codes as potential personal information.
        """
        return self.value.startswith("92")


# ---------------------------------------------------------------------------------------------
# GB 11643 PRC Resident Identity Card number.

_PRC_ID_KIND: Final = "PRC resident ID"
_PRC_ID_BODY_LENGTH: Final = 17
_PRC_ID_CHECK: Final = "10X98765432"
_PRC_ID_EARLIEST_BIRTH: Final = date(1900, 1, 1)
_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def prc_id_check_character(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``) for 17 body digits."""
    if len(body) != _PRC_ID_BODY_LENGTH:
        _fail(_PRC_ID_KIND, body, f"body length is {len(body)}, expected 17", personal=True)
    if not _is_ascii_digits(body):
        _fail(_PRC_ID_KIND, body, "body holds a character other than 0-9", personal=True)
    # The weights are 2**(17 - i) and 13 = 2 (mod 11): read as a base-13 numeral, the body
    # is half the weighted sum modulo 11. int() runs in C, a fifth of the cost of a Python sum.
    return _PRC_ID_CHECK[2 * int(body, 13) % 11]


def _prc_id_fail(value: str, reason: str) -> NoReturn:
    _fail(_PRC_ID_KIND, value, reason, personal=True)


def _check_prc_id(value: str) -> None:
    if not value:
        _prc_id_fail(value, "empty")
    if len(value) == 15:
        _prc_id_fail(value, "a 15-digit legacy number; upgrade it with from_legacy()")
    if len(value) != 18:
        _prc_id_fail(value, f"length is {len(value)}, expected 18")
    bad = _first_outside(value[:17], _DIGIT_VALUE)
    if bad is not None:
        _prc_id_fail(value, f"character {value[bad]!r} at position {bad + 1} is not a digit")
    if value[17] not in _PRC_ID_CHECK:
        _prc_id_fail(value, f"check character {value[17]!r} is not 0-9 or X")
    problem = _division_problem(value[:6], residence_permits=True)
    if problem is not None:
        _prc_id_fail(value, problem)
    _birth_date(value)
    expected = prc_id_check_character(value[:17])
    if value[17] != expected:
        _prc_id_fail(
            value,
            f"check character is {value[17]}, expected {expected} (ISO 7064 MOD 11-2)",
        )


def _birth_date(value: str) -> date:
    digits = value[6:14]
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        _prc_id_fail(value, f"birth date {digits} is not a calendar date")
    if born < _PRC_ID_EARLIEST_BIRTH:
        _prc_id_fail(value, f"birth date {born.isoformat()} is before 1900")
    return born


def _is_birth_date(digits: str) -> bool:
    """``_birth_date``'s checks on eight ASCII digits, by arithmetic instead of exceptions."""
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if year < _PRC_ID_EARLIEST_BIRTH.year or not 1 <= month <= 12 or day < 1:
        return False
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return day <= 28 + leap
    return day <= _DAYS_IN_MONTH[month]


def is_valid_prc_id(value: str) -> bool:
    """Whether the compact ``value`` passes every check :class:`PRCResidentID` makes.

    The birth date is checked against the calendar and 1900, not against today, which the
    caller knows. No exception: for testing many candidates (the scanner), where most fail.
    """
    body = value[:17]
    return (
        len(value) == 18
        and _is_ascii_digits(body)
        and _division_problem(value[:6], residence_permits=True) is None
        and _is_birth_date(value[6:14])
        and prc_id_check_character(body) == value[17]
    )


@dataclass(frozen=True, slots=True, repr=False)
class PRCResidentID(_Identifier):
    """A PRC Resident Identity Card number (居民身份证号码), GB 11643-1999.

    Also covers residence permits for Hong Kong, Macao and Taiwan residents, which use the
    same layout with the address code 810000, 820000 or 830000.

    The birth date must not lie after ``today``, which only :meth:`parse` and
    :meth:`from_legacy` know, so construct through them rather than directly.
    """

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_prc_id(self.value)

    @classmethod
    def parse(cls, text: str, *, today: date | None = None) -> Self:
        """Parse ``text``; ``today`` defaults to the current date in the GBA (UTC+8)."""
        parsed = cls(_normalise(text, _DROP_SPACE_HYPHEN))
        today = today if today is not None else datetime.now(_GBA_TZ).date()
        if parsed.birth_date > today:
            _prc_id_fail(
                parsed.value,
                f"birth date {parsed.birth_date.isoformat()} is after today ({today.isoformat()})",
            )
        return parsed

    @classmethod
    def from_legacy(cls, text: str, *, today: date | None = None) -> Self:
        """Upgrade a 15-digit first-generation number: insert the century 19, add the check."""
        compact = _normalise(text, _DROP_SPACE_HYPHEN)
        if len(compact) != 15 or not _is_ascii_digits(compact):
            _prc_id_fail(compact, "a legacy number is 15 digits")
        body = f"{compact[:6]}19{compact[6:]}"
        return cls.parse(body + prc_id_check_character(body), today=today)

    @property
    def division_code(self) -> str:
        return self.value[:6]

    @property
    def birth_date(self) -> date:
        return _birth_date(self.value)

    @property
    def sex(self) -> Literal["F", "M"]:
        """The sex encoded by the sequence number: odd for male, even for female."""
        return "M" if int(self.value[16]) % 2 else "F"

    @property
    def residence_permit_region(self) -> Literal["HK", "MO", "TW"] | None:
        """The region of a residence permit holder, or ``None`` for a resident ID card."""
        return _RESIDENCE_PERMIT_REGIONS.get(self.value[:6])


# ---------------------------------------------------------------------------------------------
# Hong Kong Identity Card.

_HKID_KIND: Final = "HKID"
_HKID_CHECK: Final = "0123456789A"
# A one-letter prefix is padded on the left with a space worth 36, at weight 9.
_HKID_SPACE_TERM: Final = 36 * 9


def hkid_check_character(body: str) -> str:
    """The HKID check character (``0``-``9`` or ``A``) for a prefix and six digits."""
    if len(body) not in {7, 8}:
        _fail(_HKID_KIND, body, f"body length is {len(body)}, expected 7 or 8", personal=True)
    try:
        # Weights run 9 down to 2 over the (padded) 8 characters, so the last 7 always take
        # 8 down to 2.
        total = sum(map(mul, map(_ALNUM_VALUE.__getitem__, body), range(len(body) + 1, 1, -1)))
    except KeyError:
        _fail(_HKID_KIND, body, "body holds a character other than 0-9 and A-Z", personal=True)
    if len(body) == 7:
        total += _HKID_SPACE_TERM
    # check = 11 - (S mod 11), where 10 is written A and 11 is written 0.
    return _HKID_CHECK[-total % 11]


def _hkid_fail(value: str, reason: str) -> NoReturn:
    _fail(_HKID_KIND, value, reason, personal=True)


def _check_hkid(value: str) -> None:
    if not value:
        _hkid_fail(value, "empty")
    if len(value) not in {8, 9}:
        _hkid_fail(value, f"length is {len(value)}, expected 8 or 9 (letters, 6 digits, check)")
    prefix, serial, check = value[:-7], value[-7:-1], value[-1]
    if not (prefix.isascii() and prefix.isalpha()):
        _hkid_fail(value, f"prefix {prefix} is not one or two letters")
    if not _is_ascii_digits(serial):
        _hkid_fail(value, f"serial {serial} is not six digits")
    if check not in _HKID_CHECK:
        _hkid_fail(value, f"check character {check!r} is not 0-9 or A")
    expected = hkid_check_character(value[:-1])
    if check != expected:
        _hkid_fail(value, f"check character is {check}, expected {expected} (HKID mod 11)")


@dataclass(frozen=True, slots=True, repr=False)
class HKID(_Identifier):
    """A Hong Kong Identity Card number.

    ``value`` is compact (``A1234563``); ``str()`` is the written form ``A123456(3)``.
    :meth:`parse` also accepts ``A123456 3`` and full-width brackets and digits.
    """

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_hkid(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_unbracket_last(_HKID_KIND, _normalise(text, _DROP_SPACE), personal=True))

    def __str__(self) -> str:
        return f"{self.value[:-1]}({self.value[-1]})"

    @property
    def prefix(self) -> str:
        return self.value[:-7]


# ---------------------------------------------------------------------------------------------
# Hong Kong Business Registration Number and certificate number.

_BRN_KIND: Final = "HK BRN"
_BR_CERT_KIND: Final = "HK BR certificate number"


def _check_brn(value: str) -> None:
    if not value:
        _fail(_BRN_KIND, value, "empty")
    if len(value) != 8:
        _fail(_BRN_KIND, value, f"length is {len(value)}, expected 8")
    if value[0] in _LETTERS and _is_ascii_digits(value[1:]):
        # Entities without a registration get a letter and their CR number; that stands in
        # for a BRN on some forms but is not one.
        _fail(_BRN_KIND, value, "a dummy BRN (letter and CR number), not a registration number")
    if not _is_ascii_digits(value):
        _fail(_BRN_KIND, value, "not eight digits")


@dataclass(frozen=True, slots=True, repr=False)
class HKBRN(_Identifier):
    """A Hong Kong Business Registration Number: eight digits, no public check character.

    Since 27 December 2023 the BRN is also the Unique Business Identifier (UBI).
    """

    value: str

    def __post_init__(self) -> None:
        _check_brn(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))


def _check_br_certificate(value: str) -> None:
    if not value:
        _fail(_BR_CERT_KIND, value, "empty")
    if len(value) != 16:
        _fail(_BR_CERT_KIND, value, f"length is {len(value)}, expected 16 (8-3-2-2-1)")
    if not _is_ascii_digits(value[:15]):
        _fail(_BR_CERT_KIND, value, "BRN, branch, month and year are not all digits")
    if not 1 <= int(value[11:13]) <= 12:
        _fail(_BR_CERT_KIND, value, f"month {value[11:13]} is not 01-12")
    if value[15] not in _ALNUM_VALUE:
        _fail(_BR_CERT_KIND, value, f"final character {value[15]!r} is not 0-9 or A-Z")


@dataclass(frozen=True, slots=True, repr=False)
class HKBRCertificateNumber(_Identifier):
    """A Business Registration Certificate number, written ``12345678-000-MM-YY-C``.

    The first eight digits are the BRN, then the branch number (``000`` for the main
    business), a month and a year, and a final character whose algorithm is not public, so
    it is checked for shape only.
    """

    value: str

    def __post_init__(self) -> None:
        _check_br_certificate(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))

    def __str__(self) -> str:
        v = self.value
        return f"{v[:8]}-{v[8:11]}-{v[11:13]}-{v[13:15]}-{v[15]}"

    @property
    def brn(self) -> HKBRN:
        return HKBRN(self.value[:8])

    @property
    def branch(self) -> str:
        return self.value[8:11]


# ---------------------------------------------------------------------------------------------
# Macao identifiers.

_MACAO_ID_KIND: Final = "Macao ID"
# Leading digits observed on resident cards; 0 and 8 belong to non-individual registrations.
_MACAO_ID_LEADING: Final = frozenset("157")
_MACAO_REG_KIND: Final = "Macao registration number"
_MACAO_REG_MAX_DIGITS: Final = 6
_MACAO_REG_REGISTER: Final = "(SO)"


def _check_macao_id(value: str) -> None:
    def fail(reason: str) -> NoReturn:
        _fail(_MACAO_ID_KIND, value, reason, personal=True)

    if not value:
        fail("empty")
    if len(value) != 8:
        fail(f"length is {len(value)}, expected 8")
    if not _is_ascii_digits(value):
        fail("not eight digits")
    if value[0] not in _MACAO_ID_LEADING:
        fail(f"first digit {value[0]} is not 1, 5 or 7")


def _unslash_macao_id(text: str) -> str:
    if "/" not in text:
        return text
    if len(text) == 10 and text[1] == "/" and text[8] == "/" and text.count("/") == 2:
        return text.replace("/", "")
    _fail(_MACAO_ID_KIND, text, "slashes belong after the first and seventh digits", personal=True)


@dataclass(frozen=True, slots=True, repr=False)
class MacaoID(_Identifier):
    """A Macao Resident Identity Card (BIR) number: eight digits, no public check digit.

    Written ``1/234567/8`` or ``1234567(8)``; ``str()`` gives the latter.
    """

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_macao_id(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        compact = _unslash_macao_id(_normalise(text, _DROP_SPACE))
        return cls(_unbracket_last(_MACAO_ID_KIND, compact, personal=True))

    def __str__(self) -> str:
        return f"{self.value[:7]}({self.value[7]})"


def _check_macao_registration(value: str) -> None:
    if not value:
        _fail(_MACAO_REG_KIND, value, "empty")
    if not _is_ascii_digits(value):
        _fail(_MACAO_REG_KIND, value, "not a number")
    if len(value) > _MACAO_REG_MAX_DIGITS:
        _fail(_MACAO_REG_KIND, value, f"more than {_MACAO_REG_MAX_DIGITS} digits")
    if value[0] == "0":
        _fail(_MACAO_REG_KIND, value, "has leading zeros or is zero")


@dataclass(frozen=True, slots=True, repr=False)
class MacaoRegistrationNumber(_Identifier):
    """A company's number at the Macao Commercial and Movable Property Registry.

    NOTE(compliance): COMPLIANCE.md gives no format. Registry entries for companies read
    "registered under No. 12345 (SO)", where SO names the companies register; the number is
    sequential with no check digit. ``parse`` accepts that suffix and ``str()`` gives the
    bare number. Tighten this when the registry publishes a format.
    """

    value: str

    def __post_init__(self) -> None:
        _check_macao_registration(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        compact = _normalise(text, _DROP_SPACE)
        compact = compact.removesuffix(_MACAO_REG_REGISTER).removesuffix("SO")
        return cls(compact)


# ---------------------------------------------------------------------------------------------
# Travel documents: Home Return Permit, PRC and HKSAR passports.

_HRP_KIND: Final = "Home Return Permit"
_HRP_REGIONS: Final[dict[str, Literal["HK", "MO"]]] = {"H": "HK", "M": "MO"}
_PRC_PASSPORT_KIND: Final = "PRC passport number"
# Second characters of the E-series after its all-digit numbers ran out; I and O are unused.
_PRC_PASSPORT_SERIES: Final = frozenset(_LETTERS) - {"I", "O"}
_HKSAR_PASSPORT_KIND: Final = "HKSAR passport number"


def _check_home_return_permit(value: str) -> None:
    def fail(reason: str) -> NoReturn:
        _fail(_HRP_KIND, value, reason, personal=True)

    if not value:
        fail("empty")
    if len(value) not in {9, 11}:
        fail(f"length is {len(value)}, expected 11 (card) or 9 (booklet)")
    if value[0] not in _HRP_REGIONS:
        fail(f"prefix {value[0]!r} is not H (Hong Kong) or M (Macao)")
    if not _is_ascii_digits(value[1:]):
        fail("characters after the prefix are not all digits")


@dataclass(frozen=True, slots=True, repr=False)
class HomeReturnPermit(_Identifier):
    """A Mainland Travel Permit for Hong Kong and Macao Residents (回乡证) number.

    The card version is ``H`` or ``M`` and ten digits: an eight-digit lifelong number and a
    two-digit issue count. Older booklets carry ``H``/``M`` and eight digits. No check digit.
    """

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_home_return_permit(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))

    @property
    def region(self) -> Literal["HK", "MO"]:
        return _HRP_REGIONS[self.value[0]]

    @property
    def lifelong_number(self) -> str:
        return self.value[1:9]

    @property
    def issue_count(self) -> int | None:
        """How many cards have been issued, or ``None`` for a booklet number."""
        return int(self.value[9:]) if len(self.value) == 11 else None


def _check_prc_passport(value: str) -> None:
    def fail(reason: str) -> NoReturn:
        _fail(_PRC_PASSPORT_KIND, value, reason, personal=True)

    if not value:
        fail("empty")
    if len(value) != 9:
        fail(f"length is {len(value)}, expected 9")
    if value[0] not in {"E", "G"}:
        fail(f"prefix {value[0]!r} is not E or G")
    if not _is_ascii_digits(value[2:]):
        fail("the last seven characters are not digits")
    if value[1] in _DIGIT_VALUE or (value[0] == "E" and value[1] in _PRC_PASSPORT_SERIES):
        return
    fail(f"second character {value[1]!r} fits neither E12345678, EA1234567 nor G12345678")


@dataclass(frozen=True, slots=True, repr=False)
class PRCPassportNumber(_Identifier):
    """A PRC ordinary passport number: ``E`` and 8 digits, ``E``, a letter and 7 digits, or
    the older ``G`` and 8 digits. No check digit."""

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_prc_passport(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))


def _check_hksar_passport(value: str) -> None:
    def fail(reason: str) -> NoReturn:
        _fail(_HKSAR_PASSPORT_KIND, value, reason, personal=True)

    if not value:
        fail("empty")
    if len(value) != 9:
        fail(f"length is {len(value)}, expected 9")
    if value[0] not in {"H", "K"}:
        fail(f"prefix {value[0]!r} is not H or K")
    if not _is_ascii_digits(value[1:]):
        fail("characters after the prefix are not all digits")


@dataclass(frozen=True, slots=True, repr=False)
class HKSARPassportNumber(_Identifier):
    """An HKSAR passport number: ``H`` or ``K`` and eight digits. No check digit."""

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_hksar_passport(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))


# ---------------------------------------------------------------------------------------------
# ISO 17442 Legal Entity Identifier.

_LEI_KIND: Final = "LEI"
# MOD 97-10 reads each letter as its two-digit value; translate() does that in C.
_LEI_AS_DIGITS: Final = str.maketrans({c: str(v) for c, v in _ALNUM_VALUE.items() if v > 9})


def lei_check_digits(body: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits for the first 18 characters of an LEI."""
    digits = body.translate(_LEI_AS_DIGITS)
    # Anything but 0-9 and A-Z survives the translation as a non-digit; the ASCII test keeps
    # int() from reading other scripts' digits.
    if len(body) != 18 or not _is_ascii_digits(digits):
        _fail(_LEI_KIND, body, "body is not 18 characters of 0-9 and A-Z")
    return f"{98 - int(digits + '00') % 97:02d}"


def _check_lei(value: str) -> None:
    if not value:
        _fail(_LEI_KIND, value, "empty")
    if len(value) != 20:
        _fail(_LEI_KIND, value, f"length is {len(value)}, expected 20")
    bad = _first_outside(value, _ALNUM_VALUE)
    if bad is not None:
        _fail(_LEI_KIND, value, f"character {value[bad]!r} at position {bad + 1} is not 0-9 or A-Z")
    if not _is_ascii_digits(value[18:]):
        _fail(_LEI_KIND, value, f"check digits {value[18:]} are not two digits")
    expected = lei_check_digits(value[:18])
    if value[18:] != expected:
        _fail(
            _LEI_KIND,
            value,
            f"check digits are {value[18:]}, expected {expected} (ISO 7064 MOD 97-10)",
        )


@dataclass(frozen=True, slots=True, repr=False)
class LEI(_Identifier):
    """A Legal Entity Identifier, ISO 17442-1:2020: 18 characters and two check digits.

    The 2020 edition made characters 5-18 entity-specific, so the former reserved ``00`` at
    positions 5-6 is not required.
    """

    value: str

    def __post_init__(self) -> None:
        _check_lei(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))

    @property
    def lou_prefix(self) -> str:
        """The prefix of the Local Operating Unit that issued the code."""
        return self.value[:4]


# ---------------------------------------------------------------------------------------------
# ISO/IEC 7812 payment card numbers.

_CARD_KIND: Final = "bank card number"
_CARD_MIN, _CARD_MAX = 12, 19
_UNIONPAY_MIN: Final = 16
# Luhn doubles every second digit from the right; a doubled digit over 9 loses 9. Each digit
# to the one digit that stands for it doubled.
_LUHN_DOUBLED: Final = str.maketrans(_DIGITS, "".join(str(2 * d - 9 * (d > 4)) for d in range(10)))


def luhn_check_digit(body: str) -> str:
    """The Luhn mod 10 check digit to append to ``body``."""
    if body and not _is_ascii_digits(body):
        _fail(_CARD_KIND, body, "body holds a character other than 0-9", personal=True)
    # The digit next to the check position is doubled, then every second one leftwards. As
    # 11 = 1 (mod 10), a numeral read in base 11 is its digit sum modulo 10; int() runs in C.
    doubled = body[::-2].translate(_LUHN_DOUBLED) or "0"
    total = int(doubled, 11) + int(body[-2::-2] or "0", 11)
    return _DIGITS[-total % 10]


def _check_card(value: str) -> None:
    def fail(reason: str) -> NoReturn:
        _fail(_CARD_KIND, value, reason, personal=True)

    if not value:
        fail("empty")
    if not _is_ascii_digits(value):
        fail("not all digits")
    if not _CARD_MIN <= len(value) <= _CARD_MAX:
        fail(f"length is {len(value)}, expected {_CARD_MIN}-{_CARD_MAX}")
    expected = luhn_check_digit(value[:-1])
    if value[-1] != expected:
        fail(f"check digit is {value[-1]}, expected {expected} (Luhn mod 10)")


@dataclass(frozen=True, slots=True, repr=False)
class BankCardNumber(_Identifier):
    """A payment card number (ISO/IEC 7812): 12-19 digits ending in a Luhn check digit.

    Some legacy Mainland domestic cards are not Luhn-valid; the scanner treats a Luhn failure
    as weaker evidence, but this parser refuses them.
    """

    value: str
    _PERSONAL: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_card(self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(_normalise(text, _DROP_SPACE_HYPHEN))

    @property
    def is_unionpay(self) -> bool:
        """True for a UnionPay card: issuer prefix 62 and 16-19 digits."""
        return self.value.startswith("62") and len(self.value) >= _UNIONPAY_MIN
