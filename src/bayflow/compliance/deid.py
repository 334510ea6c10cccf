"""De-identification: operators per entity type or per column, and a k-anonymity report.

Operators (``--op TARGET=OPERATOR[:ARGUMENT]``, where TARGET is an entity type or a column):

- ``redact``: the value becomes ``[TYPE]``;
- ``mask[:k]``: letters and digits become ``*`` except the last ``k`` (default 4); separators
  and brackets stay, so ``+852 9123 4567`` becomes ``+*** **** 4567``;
- ``hmac``: a keyed HMAC-SHA256 pseudonym, ``TYPE_`` and 20 base-32 characters (100 bits),
  the same for the same value under the same key, so pseudonymised tables still join;
- ``fpe``: a format-preserving pseudonym: the body is replaced by digits (or letters) drawn
  from a keyed PRF over the value, the structure that makes a value valid is kept (province
  code, sex digit and a real birth date for a PRC ID, the issuer prefix of a card, the prefix
  of a phone number) and the check character is recomputed with the
  :mod:`~bayflow.compliance.identifiers` functions, so the pseudonym parses as a valid
  identifier. It is a keyed one-way mapping (not FF1 encryption), so it cannot be reversed,
  even with the key; distinct values may, rarely, share a pseudonym;
- ``generalise:month|year`` for dates and ``generalise:N`` for ages (bands of N years): for
  columns only.

Key separation: ``hmac`` and ``fpe`` use keys derived from the key file by HMAC with distinct
labels, so a pseudonym of one kind says nothing about the other.

PIPL Art. 73 distinguishes de-identification (去标识化) from anonymisation (匿名化), and only
anonymised data stops being personal information (Art. 4). Every output of this module is
therefore labelled ``pseudonymised`` with ``anonymised: false`` in its metadata, whatever the
operators and whatever the k-anonymity report says: that report is evidence for a person's
decision, not the decision (COMPLIANCE.md §8.3).
"""

from __future__ import annotations

import base64
import hmac
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

import phonenumbers

from bayflow.compliance.detectors.surnames import COMMON, ROMANISED
from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import (
    hkid_check_character,
    luhn_check_digit,
    organisation_code_check_character,
    prc_id_check_character,
    uscc_check_character,
)
from bayflow.compliance.scanner import Finding, Scanner
from bayflow.errors import InvalidInput

__all__ = [
    "LEGAL_STATUS",
    "MIN_KEY_BYTES",
    "Deidentifier",
    "KAnonymityReport",
    "Operation",
    "Operator",
    "Pseudonymiser",
    "generalise",
    "k_anonymity",
    "mask",
    "parse_operation",
]

MIN_KEY_BYTES: Final = 16
LEGAL_STATUS: Final = {
    "status": "pseudonymised",
    "anonymised": False,
    "note": (
        "De-identified (PIPL Art. 73): still personal information under PIPL Art. 4 and the "
        "PDPO. Not anonymised; do not treat as anonymous data."
    ),
}
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_GIVEN: Final = "伟娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国志文家俊嘉欣颖婷晓子轩浩宇"
_SURNAMES: Final = tuple(sorted(COMMON))
_ROMAN_SURNAMES: Final = tuple(sorted(ROMANISED))
_ROMAN_GIVEN: Final = ("Ka", "Ming", "Tai", "Man", "Siu", "Wai", "Wing", "Yan", "Chi", "Mei")
_EARLIEST_BIRTH: Final = date(1950, 1, 1)
_BIRTH_DAYS: Final = 20000  # about 55 years from 1950
_DATE: Final = re.compile(r"(\d{4})[-/年.](\d{1,2})(?:[-/月.](\d{1,2})日?)?")


class Operator(StrEnum):
    REDACT = "redact"
    MASK = "mask"
    HMAC = "hmac"
    FPE = "fpe"
    GENERALISE = "generalise"


@dataclass(frozen=True, slots=True)
class Operation:
    operator: Operator
    argument: str | None = None

    @property
    def needs_key(self) -> bool:
        return self.operator in {Operator.HMAC, Operator.FPE}


def parse_operation(spec: str) -> tuple[str, Operation]:
    """``TARGET=OPERATOR[:ARGUMENT]`` as ``(target, operation)``."""
    target, equals, rest = spec.partition("=")
    name, _, argument = rest.partition(":")
    if not equals or not target.strip() or not name:
        raise InvalidInput(f"operation {spec!r}: expected TARGET=OPERATOR[:ARGUMENT]")
    try:
        operator = Operator(name.strip().lower())
    except ValueError:
        known = ", ".join(Operator)
        raise InvalidInput(f"operation {spec!r}: unknown operator (known: {known})") from None
    operation = Operation(operator, argument.strip() or None)
    if operator is Operator.MASK and operation.argument and not operation.argument.isdigit():
        raise InvalidInput(f"operation {spec!r}: mask takes a number of characters to keep")
    if operator is Operator.GENERALISE and not (
        operation.argument in {"month", "year"} or (operation.argument or "").isdigit()
    ):
        raise InvalidInput(f"operation {spec!r}: generalise takes month, year or a band width")
    return target.strip(), operation


def mask(text: str, keep: int = 4, char: str = "*") -> str:
    """Letters and digits become ``char`` except the last ``keep`` of them."""
    positions = [i for i, c in enumerate(text) if c.isalnum()]
    hidden = set(positions[: max(0, len(positions) - keep)])
    return "".join(char if i in hidden else c for i, c in enumerate(text))


def generalise(value: str, how: str) -> str:
    """A date to its month (``2024-05``) or year, or an age to a band (``30-39``).

    A value that is neither a date nor an age is returned unchanged when empty and replaced by
    ``*`` otherwise, so nothing ungeneralised leaks through a generalised column.
    """
    stripped = unicodedata.normalize("NFKC", value).strip()
    if not stripped:
        return value
    if how in {"month", "year"}:
        found = _DATE.search(stripped)
        if found is None:
            return "*"
        year, month = found.group(1), found.group(2)
        return year if how == "year" else f"{year}-{int(month):02d}"
    width = int(how)
    if not stripped.isdigit() or width < 1:
        return "*"
    low = int(stripped) // width * width
    return f"{low}-{low + width - 1}"


class Pseudonymiser:
    """Keyed pseudonyms: HMAC tokens and format-preserving replacements."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise InvalidInput(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        self._hmac_key = hmac.digest(key, b"bayflow/deid/hmac/v1", "sha256")
        self._prf_key = hmac.digest(key, b"bayflow/deid/fpe/v1", "sha256")
        self.key_id = hmac.digest(key, b"bayflow/deid/key-id/v1", "sha256")[:8].hex()

    def token(self, label: str, value: str) -> str:
        """``LABEL_`` and 20 base-32 characters of HMAC-SHA256 over the normalised value."""
        digest = hmac.digest(self._hmac_key, f"{label}\x00{_canonical(value)}".encode(), "sha256")
        return f"{label}_{base64.b32encode(digest[:15]).decode().lower()}"

    def _stream(self, label: str, value: str) -> Iterable[int]:
        counter = 0
        while True:
            block = hmac.digest(
                self._prf_key, f"{label}\x00{value}\x00{counter}".encode(), "sha256"
            )
            yield from block
            counter += 1

    def choices(self, label: str, value: str, alphabet: str, count: int) -> str:
        """``count`` symbols of ``alphabet`` drawn by the keyed PRF from ``label`` and ``value``."""
        # Rejection sampling keeps every symbol equally likely.
        limit = 256 - 256 % len(alphabet)
        out: list[str] = []
        for byte in self._stream(label, value):
            if byte < limit:
                out.append(alphabet[byte % len(alphabet)])
                if len(out) == count:
                    return "".join(out)
        raise AssertionError  # pragma: no cover - the stream is endless

    def format_preserving(self, entity_type: EntityType, text: str) -> str:
        """A pseudonym in the layout of ``text`` that is again a valid ``entity_type``."""
        compact = _compact(text)
        replacement = _FPE[entity_type](self, compact)
        if entity_type in {EntityType.EMAIL, EntityType.PERSON_NAME}:
            return replacement
        return _reflow(text, replacement)


def _canonical(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper().translate(_SEPARATORS)


_SEPARATORS: Final = str.maketrans("", "", " -/()")


def _compact(text: str) -> str:
    return _canonical(text)


def _reflow(original: str, compact: str) -> str:
    """Write ``compact`` into the letter and digit positions of ``original``.

    Separators and brackets stay where they were; a full-width character is replaced by the
    full-width form of its replacement.
    """
    chars = iter(compact)
    out = []
    for char in original:
        folded = unicodedata.normalize("NFKC", char)
        if len(folded) == 1 and folded.isascii() and folded.isalnum():
            new = next(chars)
            out.append(chr(ord(new) + 0xFEE0) if folded != char else new)
        else:
            out.append(char)
    return "".join(out)


def _division(p: Pseudonymiser, label: str, compact: str, province: str) -> str:
    # Prefecture 01-20 and county 01-30 under the kept province: a plausible GB/T 2260 shape.
    digits = p.choices(label + "/division", compact, "0123456789", 4)
    return f"{province}{int(digits[:2]) % 20 + 1:02d}{int(digits[2:]) % 30 + 1:02d}"


def _fpe_prc_id(p: Pseudonymiser, compact: str) -> str:
    label = EntityType.PRC_RESIDENT_ID.value
    if compact[:6] in {"810000", "820000", "830000"}:
        division = compact[:6]
    else:
        division = _division(p, label, compact, compact[:2])
    digits = p.choices(label, compact, "0123456789", 8)
    born = _EARLIEST_BIRTH + timedelta(days=int(digits[:5]) % _BIRTH_DAYS)
    # The sequence keeps its parity, which encodes sex (odd for male).
    sequence = digits[5:7] + str((int(digits[7]) // 2) * 2 + int(compact[16]) % 2)
    body = f"{division}{born:%Y%m%d}{sequence}"
    return body + prc_id_check_character(body)


def _fpe_hkid(p: Pseudonymiser, compact: str) -> str:
    letters = len(compact) - 7
    label = EntityType.HK_ID.value
    prefix = p.choices(label + "/prefix", compact, "ABCDEGHKMPRVWYZ", letters)
    body = prefix + p.choices(label, compact, "0123456789", 6)
    return body + hkid_check_character(body)


def _fpe_uscc(p: Pseudonymiser, compact: str) -> str:
    label = EntityType.CN_USCC.value
    division = _division(p, label, compact, compact[2:4])
    org = p.choices(label, compact, _USCC_ALPHABET, 8)
    body = compact[:2] + division + org + organisation_code_check_character(org)
    return body + uscc_check_character(body)


def _fpe_card(p: Pseudonymiser, compact: str) -> str:
    middle = p.choices(EntityType.BANK_CARD.value, compact, "0123456789", len(compact) - 7)
    body = compact[:6] + middle
    return body + luhn_check_digit(body)


def _fpe_phone(p: Pseudonymiser, compact: str) -> str:
    label = EntityType.PHONE.value
    number = compact.lstrip("+")
    region, national = _phone_parts(number)
    kept = len(number) - len(national) + (3 if national[:1] == "1" else 2)
    for attempt in range(64):
        tail = p.choices(f"{label}/{attempt}", compact, "0123456789", len(number) - kept)
        candidate = number[:kept] + tail
        if region is None or phonenumbers.is_valid_number(
            phonenumbers.parse(candidate[len(number) - len(national) :], region)
        ):
            return candidate
    return compact  # pragma: no cover - a valid draw is near certain within 64 tries


def _phone_parts(number: str) -> tuple[str | None, str]:
    for prefix, region in (("852", "HK"), ("853", "MO"), ("0086", "CN"), ("86", "CN")):
        if number.startswith(prefix) and len(number) - len(prefix) in {8, 10, 11}:
            return region, number[len(prefix) :]
    if len(number) == 8:
        return "HK", number
    if len(number) == 11 and number[0] == "1":
        return "CN", number
    return None, number


def _fpe_digits_after(kept: int) -> Callable[[Pseudonymiser, str], str]:
    def replace(p: Pseudonymiser, compact: str) -> str:
        tail = p.choices(f"digits/{kept}", compact, "0123456789", len(compact) - kept)
        return compact[:kept] + tail

    return replace


def _fpe_brn(p: Pseudonymiser, compact: str) -> str:
    return p.choices(EntityType.HK_BRN.value, compact, "123456789", 1) + p.choices(
        EntityType.HK_BRN.value + "/rest", compact, "0123456789", 7
    )


def _fpe_email(p: Pseudonymiser, compact: str) -> str:
    domain = compact.rpartition("@")[2].lower()
    local = p.choices(EntityType.EMAIL.value, compact, "abcdefghijkmnpqrstuvwxyz23456789", 10)
    return f"u{local}@{domain}"


def _fpe_name(p: Pseudonymiser, compact: str) -> str:
    label = EntityType.PERSON_NAME.value
    draws = p.choices(label, compact, "0123456789abcdef", 8)
    if compact.isascii():
        surname = _ROMAN_SURNAMES[int(draws[:4], 16) % len(_ROMAN_SURNAMES)]
        given = _ROMAN_GIVEN[int(draws[4:6], 16) % len(_ROMAN_GIVEN)]
        return f"{surname} {given}"
    surname = _SURNAMES[int(draws[:4], 16) % len(_SURNAMES)]
    given_length = max(1, min(2, len(compact) - 1))
    given = "".join(
        _GIVEN[int(draws[4 + 2 * i : 6 + 2 * i], 16) % len(_GIVEN)] for i in range(given_length)
    )
    return surname + given


_FPE: Final[dict[EntityType, Callable[[Pseudonymiser, str], str]]] = {
    EntityType.PRC_RESIDENT_ID: _fpe_prc_id,
    EntityType.HK_ID: _fpe_hkid,
    EntityType.CN_USCC: _fpe_uscc,
    EntityType.BANK_CARD: _fpe_card,
    EntityType.PHONE: _fpe_phone,
    EntityType.MO_ID: _fpe_digits_after(1),
    EntityType.HK_MO_TRAVEL_PERMIT: _fpe_digits_after(1),
    EntityType.PASSPORT: _fpe_digits_after(2),
    EntityType.HK_BRN: _fpe_brn,
    EntityType.EMAIL: _fpe_email,
    EntityType.PERSON_NAME: _fpe_name,
}


class Deidentifier:
    """Applies operations by entity type (to findings) and by column (to whole cells).

    A column operation takes precedence over entity-type operations inside that column.
    ``counts`` tallies what was changed, by target.
    """

    def __init__(
        self,
        operations: dict[str, Operation],
        scanner: Scanner,
        pseudonymiser: Pseudonymiser | None = None,
    ) -> None:
        if any(op.needs_key for op in operations.values()) and pseudonymiser is None:
            raise InvalidInput("hmac and fpe operations need a key (--key-file)")
        self._by_type: dict[EntityType, Operation] = {}
        self._by_column: dict[str, Operation] = {}
        for target, operation in operations.items():
            if target.upper() in EntityType.__members__:
                if operation.operator is Operator.GENERALISE:
                    raise InvalidInput(f"{target}: generalise applies to columns, not entity types")
                self._by_type[EntityType[target.upper()]] = operation
            else:
                self._by_column[target] = operation
        self._scanner = scanner
        self._pseudonymiser = pseudonymiser
        self.counts: Counter[str] = Counter()

    def _apply(self, operation: Operation, label: str, value: str, kind: EntityType | None) -> str:
        self.counts[label] += 1
        match operation.operator:
            case Operator.REDACT:
                return f"[{label}]"
            case Operator.MASK:
                return mask(value, int(operation.argument or 4))
            case Operator.GENERALISE:
                return generalise(value, operation.argument or "year")
            case Operator.HMAC:
                assert self._pseudonymiser is not None
                return self._pseudonymiser.token(label, value)
            case Operator.FPE:
                assert self._pseudonymiser is not None
                if kind is None:
                    raise InvalidInput(f"{label}: fpe applies to entity types, not columns")
                return self._pseudonymiser.format_preserving(kind, value)

    def text(self, text: str, hint: str = "") -> str:
        """``text`` with the findings of the configured types replaced."""
        if not self._by_type:
            return text
        findings = [
            f for f in self._scanner.scan(text, hint=hint) if f.entity_type in self._by_type
        ]
        return self._replace(text, findings)

    def _replace(self, text: str, findings: Sequence[Finding]) -> str:
        pieces = []
        position = 0
        for found in findings:
            operation = self._by_type[found.entity_type]
            pieces.append(text[position : found.start])
            pieces.append(
                self._apply(operation, found.entity_type.value, found.text, found.entity_type)
            )
            position = found.end
        pieces.append(text[position:])
        return "".join(pieces)

    def cell(self, value: str | None, column: str) -> str | None:
        if value is None:
            return None
        operation = self._by_column.get(column)
        if operation is not None:
            return self._apply(operation, column, value, None) if value else value
        return self.text(value, hint=column)

    def column(self, cells: list[str | None], column: str) -> list[str | None]:
        """A whole column; entity-type operations use one scan for all its cells."""
        operation = self._by_column.get(column)
        if operation is not None or not self._by_type:
            return [self.cell(value, column) for value in cells]
        findings: dict[int, list[Finding]] = {}
        for found in self._scanner.scan_column([c or "" for c in cells], header=column):
            if found.entity_type in self._by_type and found.row is not None:
                findings.setdefault(found.row, []).append(found)
        return [
            value if value is None or row not in findings else self._replace(value, findings[row])
            for row, value in enumerate(cells)
        ]

    def json_value(self, value: Any, key: str = "") -> Any:
        """A JSON document with its string and number leaves de-identified."""
        if isinstance(value, dict):
            return {name: self.json_value(item, str(name)) for name, item in value.items()}
        if isinstance(value, list):
            return [self.json_value(item, key) for item in value]
        if isinstance(value, str):
            return self.cell(value, key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(value)
            changed = self.cell(text, key)
            return value if changed == text else changed
        return value


@dataclass(frozen=True, slots=True)
class KAnonymityReport:
    """Equivalence classes over quasi-identifier columns.

    ``k`` is the size of the smallest class (0 for an empty table). ``class_sizes`` maps a
    class size to how many classes have it. The report shows no values: the small classes
    are exactly the records that are easiest to re-identify.
    """

    columns: tuple[str, ...]
    records: int
    classes: int
    k: int
    class_sizes: dict[int, int]

    def records_below(self, k: int) -> int:
        return sum(size * count for size, count in self.class_sizes.items() if size < k)

    def to_json(self, target: int | None = None) -> dict[str, Any]:
        report: dict[str, Any] = {
            "quasi_identifiers": list(self.columns),
            "records": self.records,
            "classes": self.classes,
            "k": self.k,
            "class_sizes": {str(size): count for size, count in sorted(self.class_sizes.items())},
        }
        if target is not None:
            report["target_k"] = target
            report["records_below_target"] = self.records_below(target)
            report["meets_target"] = self.k >= target
        return report


def k_anonymity(
    header: Sequence[str], rows: Iterable[Sequence[str | None]], columns: Sequence[str]
) -> KAnonymityReport:
    """The k-anonymity of ``rows`` over the quasi-identifier ``columns``."""
    missing = [c for c in columns if c not in header]
    if missing:
        raise InvalidInput(f"no such column: {', '.join(missing)}")
    indexes = [list(header).index(c) for c in columns]
    groups = Counter(tuple(row[i] for i in indexes) for row in rows)
    sizes = Counter(groups.values())
    return KAnonymityReport(
        tuple(columns),
        sum(groups.values()),
        len(groups),
        min(groups.values(), default=0),
        dict(sizes),
    )
