"""The personal-identifier scanner: GBA identifiers in text and tables.

:class:`Scanner` finds the :class:`~bayflow.compliance.entities.EntityType` values in a text
and returns :class:`Finding` objects whose ``start``/``end`` index the text as given (Python
string positions, i.e. code points), so ``text[finding.start:finding.end] == finding.text``
holds even when detection ran on the NFKC-folded copy (full-width digits and brackets).

Pipeline, for one text:

0. fold the text for detection, keeping a position map (:mod:`.detectors.normalise`);
1. run each detector family's combined regular expression over the folded text and check the
   candidates (check characters, dates, division codes, Luhn, phone metadata, cue words);
2. drop what scores under ``min_confidence`` and resolve overlaps, keeping the more confident
   (then the longer) finding;
3. map the spans back to the original text.

Confidence scale and the decoy rule. Identifiers that carry a check character (PRC resident
ID, HKID, USCC, Luhn-valid bank cards) score 0.85-0.99; a candidate that fails its check, or a
PRC ID whose check holds over an impossible date or division, is *not reported at all*. The one
exception is COMPLIANCE.md §5.9: a bank-card candidate that fails Luhn next to a card cue
scores 0.3, under the default threshold of 0.5, so ``--min-confidence 0.3`` shows it for
review. Identifiers with no check (Macao ID, permits, passports, BRNs, eight-digit phones)
need a cue word or a distinctive written form to reach the threshold. ``PERSON_NAME`` scores
itself (:mod:`.detectors.names`).

Tables are scanned a column at a time: the column's cells are joined and scanned in one pass,
with the column header as context for every cell (a column named "電話" makes its eight-digit
values phone numbers).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from bayflow.compliance.detectors import CELL_SEPARATOR, Detector, RawFinding
from bayflow.compliance.detectors.documents import DocumentDetector
from bayflow.compliance.detectors.email import EmailDetector
from bayflow.compliance.detectors.names import NameDetector
from bayflow.compliance.detectors.normalise import fold
from bayflow.compliance.detectors.numbers import NumberDetector
from bayflow.compliance.entities import SENSITIVITY, EntityType, PersonalInformation, Sensitivity

__all__ = ["DEFAULT_MIN_CONFIDENCE", "Finding", "Scanner"]

DEFAULT_MIN_CONFIDENCE: Final = 0.5
_GBA_TZ: Final = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Finding:
    """One personal identifier found.

    ``start`` and ``end`` index the scanned string: the whole text, or for tables and JSON the
    one cell or value named by ``row``/``column`` or ``path``. ``row`` counts data rows from 0
    (a CSV header is not a row) and lines from 0 in JSON Lines; ``None`` for plain text.
    ``region`` is set for phone numbers (``CN``, ``HK``, ``MO``, or ``HK|MO`` when the number is
    valid in both and nothing nearby says which).
    """

    entity_type: EntityType
    start: int
    end: int
    text: str
    confidence: float
    region: str | None = None
    row: int | None = None
    column: str | None = None
    path: str | None = None

    @property
    def sensitivity(self) -> Sensitivity:
        return SENSITIVITY[self.entity_type]

    @property
    def personal(self) -> PersonalInformation:
        """Whether this value is personal information; a USCC from ``92`` names a person."""
        if self.entity_type is EntityType.CN_USCC:
            return "potential" if self.text.lstrip().startswith("92") else "no"
        return self.sensitivity.personal

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines record ``bayflow scan`` prints."""
        record: dict[str, Any] = {
            "type": self.entity_type.value,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "confidence": round(self.confidence, 3),
        }
        for key in ("region", "row", "column", "path"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        sensitivity = self.sensitivity
        record["personal"] = self.personal
        record["pipl_art28"] = sensitivity.pipl_art28
        record["gbt35273_class"] = sensitivity.gbt35273_class
        record["gbt35273_sensitive"] = sensitivity.gbt35273_sensitive
        record["gbt45574_sensitive"] = sensitivity.gbt45574_sensitive
        return record


class Scanner:
    """Finds personal identifiers; configured once, then used for any number of texts.

    ``types`` limits the entity types (all by default). ``today`` bounds PRC ID birth dates and
    defaults to the current date in the GBA (UTC+8).
    """

    def __init__(
        self,
        types: Iterable[EntityType] | None = None,
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        today: date | None = None,
    ) -> None:
        self.types = frozenset(EntityType) if types is None else frozenset(types)
        self.min_confidence = min_confidence
        today = today if today is not None else datetime.now(_GBA_TZ).date()
        detectors: list[Detector] = [
            NumberDetector(today=today, floor=min_confidence),
            DocumentDetector(),
            EmailDetector(),
            NameDetector(),
        ]
        self._detectors = [d for d in detectors if d.types & self.types]

    def scan(self, text: str, *, hint: str = "") -> list[Finding]:
        """Findings in ``text``, in order. ``hint`` is context such as a column header."""
        folded = fold(text)
        raw: list[RawFinding] = []
        folded_hint = fold(hint).text if hint else ""
        for detector in self._detectors:
            detector.detect(folded.text, self.types, folded_hint, raw)
        findings = []
        for found in self._resolve(raw):
            start, end = folded.original_span(found.start, found.end)
            findings.append(
                Finding(
                    found.entity_type,
                    start,
                    end,
                    text[start:end],
                    found.confidence,
                    found.region,
                )
            )
        return findings

    def scan_column(
        self, cells: Sequence[str], *, header: str = "", column: str | None = None
    ) -> list[Finding]:
        """Findings in a table column, each with its ``row`` and offsets within its cell.

        The cells are scanned as one text joined by :data:`CELL_SEPARATOR`, which no match
        and no context window crosses; ``header`` is context for every cell.
        """
        if not cells:
            return []
        joined = CELL_SEPARATOR.join(cells)
        starts = []
        position = 0
        for cell in cells:
            starts.append(position)
            position += len(cell) + len(CELL_SEPARATOR)
        findings = []
        for found in self.scan(joined, hint=header):
            row = bisect_right(starts, found.start) - 1
            base = starts[row]
            if found.end > base + len(cells[row]):
                continue  # spans a separator: a cell held one, which no match may cross
            findings.append(
                replace(
                    found,
                    start=found.start - base,
                    end=found.end - base,
                    row=row,
                    column=column if column is not None else header,
                )
            )
        return findings

    def _resolve(self, raw: list[RawFinding]) -> list[RawFinding]:
        """Drop findings under the threshold; of two that overlap keep the stronger."""
        kept: list[RawFinding] = []
        threshold = self.min_confidence
        for found in sorted(raw, key=lambda f: (f.start, -f.end)):
            if found.confidence < threshold:
                continue
            if kept and found.start < kept[-1].end:
                last = kept[-1]
                if (found.confidence, found.end - found.start) > (
                    last.confidence,
                    last.end - last.start,
                ):
                    kept[-1] = found
                continue
            kept.append(found)
        return kept
