"""Reading the inputs the scanner and the de-identifier accept: text, CSV, JSON, Parquet.

The format follows the file name (``.csv``, ``.tsv``, ``.json``, ``.jsonl``/``.ndjson``,
``.parquet``; anything else is text) unless named explicitly. Tables are read as a header and
rows of strings (``None`` for a missing value); JSON documents are walked to their string and
number leaves, each named by a JSONPath (``$.customers[0].phone``) and scanned with its key as
context.

Parquet needs pyarrow, which is optional: without it, reading or writing Parquet raises a
:class:`~bayflow.errors.ConfigurationError` that says so.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from bayflow.compliance.scanner import Finding, Scanner
from bayflow.errors import ConfigurationError, InvalidInput

__all__ = [
    "Format",
    "Table",
    "detect_format",
    "json_leaves",
    "load_parquet_module",
    "read_table",
    "scan_path",
    "write_table",
]

# Plain text is scanned in pieces of about this many characters, cut at line ends, so that
# a large file needs no more memory than a piece.
_TEXT_PIECE: Final = 1 << 20
_SUFFIXES: Final = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
_IDENTIFIER_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Format(StrEnum):
    TEXT = "text"
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    PARQUET = "parquet"


def detect_format(path: Path) -> Format:
    return Format(_SUFFIXES.get(path.suffix.lower(), "text"))


@dataclass(slots=True)
class Table:
    """A header and rows of cell strings; ``None`` is a missing value, not an empty one."""

    header: list[str]
    rows: list[list[str | None]]

    def column(self, index: int) -> list[str]:
        return [row[index] or "" for row in self.rows]


def load_parquet_module() -> Any:
    """``pyarrow.parquet``, or a ConfigurationError saying how to get it."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ConfigurationError(
            "Parquet support needs pyarrow, which is not installed (pip install pyarrow)"
        ) from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_table(path: Path, file_format: Format) -> Table:
    """Read a CSV, TSV or Parquet file as a :class:`Table`."""
    if file_format is Format.PARQUET:
        table = load_parquet_module().read_table(path)
        header = [str(name) for name in table.column_names]
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        cells = [
            [None if v is None else str(v) for v in values] for values in zip(*columns, strict=True)
        ]
        return Table(header, cells)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(_read_text(path)), delimiter=delimiter)
    header = next(reader, [])
    rows: list[list[str | None]] = [list(row) for row in reader]
    return Table(header, rows)


def write_table(table: Table, path: Path, file_format: Format) -> None:
    if file_format is Format.PARQUET:
        parquet = load_parquet_module()
        pyarrow = importlib.import_module("pyarrow")
        columns = {name: [row[i] for row in table.rows] for i, name in enumerate(table.header)}
        parquet.write_table(pyarrow.table(columns), path)
        return
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(table.header)
        writer.writerows([["" if cell is None else cell for cell in row] for row in table.rows])


def _path_step(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def json_leaves(value: Any, path: str = "$", key: str = "") -> Iterator[tuple[str, str, str]]:
    """Every string or number leaf as ``(path, key, text)``; ``key`` is the nearest name."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from json_leaves(item, _path_step(path, str(name)), str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_leaves(item, _path_step(path, index), key)
    elif isinstance(value, str):
        yield path, key, value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # Card and phone numbers are sometimes stored as JSON numbers.
        yield path, key, json.dumps(value)


def _scan_json_value(scanner: Scanner, value: Any, row: int | None) -> Iterator[Finding]:
    for path, key, text in json_leaves(value):
        for found in scanner.scan(text, hint=key):
            yield replace(found, path=path, row=row)


def _scan_text(scanner: Scanner, path: Path) -> Iterator[Finding]:
    text = _read_text(path)
    base = 0
    while base < len(text):
        cut = text.find("\n", base + _TEXT_PIECE)
        cut = len(text) if cut == -1 else cut + 1
        for found in scanner.scan(text[base:cut]):
            yield replace(found, start=found.start + base, end=found.end + base)
        base = cut


def scan_path(scanner: Scanner, path: Path, file_format: Format | None = None) -> Iterator[Finding]:
    """Findings in one file, in the order of the file (by column within a table)."""
    file_format = file_format or detect_format(path)
    if file_format is Format.TEXT:
        yield from _scan_text(scanner, path)
    elif file_format in {Format.CSV, Format.PARQUET}:
        table = read_table(path, file_format)
        for index, name in enumerate(table.header):
            yield from scanner.scan_column(table.column(index), header=name, column=name)
    elif file_format is Format.JSON:
        try:
            document = json.loads(_read_text(path))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
        yield from _scan_json_value(scanner, document, None)
    else:
        for number, line in enumerate(_read_text(path).splitlines()):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}: line {number + 1} is not JSON ({exc.msg})") from None
            yield from _scan_json_value(scanner, record, number)
