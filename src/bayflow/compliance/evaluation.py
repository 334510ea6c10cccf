"""Precision, recall and F1 of the scanner per entity type, against labelled data.

A finding counts as a true positive only when its type and span equal a label's exactly (for
tables: row, column and span within the cell). A finding of the right span and the wrong type
is both a false positive (for the type found) and a false negative (for the label's type).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bayflow.compliance.entities import EntityType
from bayflow.compliance.scanner import Scanner
from bayflow.compliance.synthetic import Document, LabelledTable

__all__ = ["Score", "evaluate_documents", "evaluate_tables", "report_json"]

_Key = tuple[EntityType, int | None, str | None, int, int]


@dataclass(frozen=True, slots=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _scores(gold: Iterable[_Key], found: Iterable[_Key]) -> dict[EntityType, Score]:
    gold_set, found_set = set(gold), set(found)
    tp = Counter(key[0] for key in gold_set & found_set)
    fp = Counter(key[0] for key in found_set - gold_set)
    fn = Counter(key[0] for key in gold_set - found_set)
    types = sorted(set(tp) | set(fp) | set(fn))
    return {t: Score(tp[t], fp[t], fn[t]) for t in types}


def evaluate_documents(scanner: Scanner, documents: Iterable[Document]) -> dict[EntityType, Score]:
    """Scores over documents; labels of types the scanner does not look for are ignored."""
    gold: list[_Key] = []
    found: list[_Key] = []
    for number, document in enumerate(documents):
        gold.extend(
            (label.entity_type, number, None, label.start, label.end)
            for label in document.labels
            if label.entity_type in scanner.types
        )
        found.extend(
            (f.entity_type, number, None, f.start, f.end) for f in scanner.scan(document.text)
        )
    return _scores(gold, found)


def evaluate_tables(scanner: Scanner, tables: Iterable[LabelledTable]) -> dict[EntityType, Score]:
    gold: list[_Key] = []
    found: list[_Key] = []
    for number, table in enumerate(tables):
        base = number * 1_000_000
        gold.extend(
            (label.entity_type, base + (label.row or 0), label.column, label.start, label.end)
            for label in table.labels
            if label.entity_type in scanner.types
        )
        for index, header in enumerate(table.header):
            cells = [row[index] for row in table.rows]
            found.extend(
                (f.entity_type, base + (f.row or 0), f.column, f.start, f.end)
                for f in scanner.scan_column(cells, header=header)
            )
    return _scores(gold, found)


def report_json(scores: dict[EntityType, Score]) -> dict[str, Any]:
    """Scores as JSON: per type, rounded to four places, with the counts."""
    return {
        t.value: {
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
            "f1": round(s.f1, 4),
            "tp": s.true_positives,
            "fp": s.false_positives,
            "fn": s.false_negatives,
        }
        for t, s in scores.items()
    }
