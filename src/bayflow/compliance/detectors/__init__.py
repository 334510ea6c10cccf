"""Detectors for the scanner: one module per family of identifiers.

Each family finds its candidates with one combined regular expression over the folded text
(see :mod:`.normalise`) and runs the check characters, dates and context rules only on those
candidates, so the cost grows with the number of candidates, not with the length of the text.
Boundaries are explicit look-arounds on ``[0-9A-Za-z]``, never ``\\b``, which in Python's
Unicode mode sees no boundary between a Chinese character and a digit.

A detector returns :class:`RawFinding` tuples in folded positions; the scanner maps them back
to the original text, drops those under the confidence threshold and resolves overlaps.
"""

from __future__ import annotations

from typing import Final, NamedTuple, Protocol

from bayflow.compliance.entities import EntityType

__all__ = ["CELL_SEPARATOR", "Detector", "RawFinding"]

CELL_SEPARATOR: Final = "\n\x1f"
"""Joins the cells of a table column into one text to scan in one pass.

A line break ends every match; the ASCII unit separator stops context windows, so a cue word
in one cell never applies to the next.
"""


class RawFinding(NamedTuple):
    """A detection in folded-text positions.

    ``region`` is set for phone numbers: ``CN``, ``HK``, ``MO``, or ``HK|MO`` when an
    eight-digit number is valid in both and nothing nearby says which.
    """

    entity_type: EntityType
    start: int
    end: int
    confidence: float
    region: str | None = None


class Detector(Protocol):
    """One family of detectors over folded text."""

    types: frozenset[EntityType]

    def detect(
        self, text: str, enabled: frozenset[EntityType], hint: str, out: list[RawFinding]
    ) -> None:
        """Append to ``out`` what ``text`` holds of the ``enabled`` types.

        ``hint`` is context that stands before every candidate without being part of the
        text: a table's column header or a JSON key.
        """
