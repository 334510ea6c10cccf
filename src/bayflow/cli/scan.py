"""``bayflow scan``: find GBA personal identifiers in a file.

Findings print as JSON Lines (one finding a line) or, with ``--format table``, as a summary
per entity type. A scan that finds identifiers has still succeeded: the exit code is 0
whatever it found, and non-zero only when the scan itself failed (unreadable input, unknown
type), so a pipeline decides what the findings mean from the output, not the exit code.

``--evaluate`` scans seeded synthetic documents and tables instead of a file and prints
precision, recall and F1 per entity type.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bayflow.compliance.entities import SENSITIVITY, EntityType
from bayflow.compliance.evaluation import Score, evaluate_documents, evaluate_tables, report_json
from bayflow.compliance.scanner import DEFAULT_MIN_CONFIDENCE, Finding, Scanner
from bayflow.compliance.sources import Format, scan_path
from bayflow.compliance.synthetic import SyntheticGenerator
from bayflow.errors import InvalidInput

__all__ = ["parse_types", "register"]


class _Output(StrEnum):
    jsonl = "jsonl"
    table = "table"


def parse_types(value: str | None) -> frozenset[EntityType] | None:
    """``--types A,B`` as entity types; ``None`` (all types) when not given."""
    if not value:
        return None
    names = [name.strip().upper() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in EntityType.__members__]
    if unknown:
        known = ", ".join(EntityType)
        raise InvalidInput(f"unknown entity type {', '.join(unknown)} (known: {known})")
    return frozenset(EntityType[name] for name in names)


def _summary(findings: list[Finding]) -> Table:
    table = Table(title="Personal identifiers found")
    for heading in ("type", "count", "highest confidence", "PIPL Art. 28", "GB/T 35273 sensitive"):
        table.add_column(heading)
    counts = Counter(f.entity_type for f in findings)
    best: defaultdict[EntityType, float] = defaultdict(float)
    for found in findings:
        best[found.entity_type] = max(best[found.entity_type], found.confidence)
    for entity_type in sorted(counts):
        sensitivity = SENSITIVITY[entity_type]
        table.add_row(
            entity_type.value,
            str(counts[entity_type]),
            f"{best[entity_type]:.2f}",
            sensitivity.pipl_art28 or "-",
            "yes" if sensitivity.gbt35273_sensitive else "no",
        )
    return table


def _scores_table(scores: dict[EntityType, Score]) -> Table:
    table = Table(title="Scanner accuracy on synthetic data")
    for heading in ("type", "precision", "recall", "F1", "TP", "FP", "FN"):
        table.add_column(heading)
    for entity_type, score in scores.items():
        table.add_row(
            entity_type.value,
            f"{score.precision:.4f}",
            f"{score.recall:.4f}",
            f"{score.f1:.4f}",
            str(score.true_positives),
            str(score.false_positives),
            str(score.false_negatives),
        )
    return table


def _evaluate(scanner: Scanner, seed: int, documents: int, output: _Output) -> None:
    generator = SyntheticGenerator(seed)
    text_scores = evaluate_documents(scanner, generator.documents(documents))
    tables = [generator.table(max(1, documents // 10), language) for language in _LANGUAGES]
    table_scores = evaluate_tables(scanner, tables)
    if output is _Output.table:
        console = Console()
        console.print(_scores_table(text_scores))
        console.print(_scores_table(table_scores))
        return
    report = {
        "seed": seed,
        "documents": documents,
        "text": report_json(text_scores),
        "tables": report_json(table_scores),
    }
    print(json.dumps(report, ensure_ascii=False))


_LANGUAGES = ("zh-Hans", "zh-Hant", "en")


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan(
        path: Annotated[
            Path | None, typer.Argument(help="Text, CSV, JSON, JSON Lines or Parquet file.")
        ] = None,
        output: Annotated[
            _Output, typer.Option("--format", help="jsonl: one finding a line; table: a summary.")
        ] = _Output.jsonl,
        types: Annotated[
            str | None, typer.Option("--types", help="Entity types to look for, e.g. PHONE,EMAIL.")
        ] = None,
        min_confidence: Annotated[
            float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Report threshold.")
        ] = DEFAULT_MIN_CONFIDENCE,
        input_format: Annotated[
            Format | None, typer.Option("--input-format", help="Override the file-name guess.")
        ] = None,
        evaluate: Annotated[
            bool, typer.Option("--evaluate", help="Score the scanner on synthetic data instead.")
        ] = False,
        seed: Annotated[int, typer.Option("--seed", help="Synthetic data seed.")] = 7,
        documents: Annotated[
            int, typer.Option("--documents", min=1, help="Synthetic documents to score.")
        ] = 500,
    ) -> None:
        """Find GBA personal identifiers; exit 0 whether or not any are found."""
        scanner = Scanner(parse_types(types), min_confidence=min_confidence)
        if evaluate:
            _evaluate(scanner, seed, documents, output)
            return
        if path is None:
            raise InvalidInput("give a PATH to scan, or --evaluate")
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        findings = scan_path(scanner, path, input_format)
        if output is _Output.table:
            Console().print(_summary(list(findings)))
            return
        for found in findings:
            print(json.dumps(found.to_json(), ensure_ascii=False))
