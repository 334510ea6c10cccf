"""``bayflow deid``: de-identify a file, and report k-anonymity over quasi-identifiers.

The output keeps the input's format (text, CSV, JSON, JSON Lines, Parquet). Beside it,
``OUT.deid.json`` records what was done: the operators, how many values each changed, the
key's fingerprint, the k-anonymity report if asked for, and the legal status, which is always
``pseudonymised`` and never anonymous (PIPL Art. 73). The same record is printed on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli.scan import parse_types
from bayflow.compliance.deid import (
    LEGAL_STATUS,
    Deidentifier,
    Operation,
    Pseudonymiser,
    k_anonymity,
    parse_operation,
)
from bayflow.compliance.scanner import DEFAULT_MIN_CONFIDENCE, Scanner
from bayflow.compliance.sources import Format, Table, detect_format, read_table, write_table
from bayflow.errors import InvalidInput

__all__ = ["register"]

METADATA_SUFFIX = ".deid.json"


def _read_key(path: Path | None) -> Pseudonymiser | None:
    if path is None:
        return None
    try:
        return Pseudonymiser(path.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the key file ({exc.strerror})") from None


def _deidentify(
    source: Path, target: Path | None, file_format: Format, deidentifier: Deidentifier
) -> Table | None:
    """Write the de-identified file; return it as a table when it is one."""
    if file_format in {Format.CSV, Format.PARQUET}:
        table = read_table(source, file_format)
        columns = [
            deidentifier.column([row[i] for row in table.rows], name)
            for i, name in enumerate(table.header)
        ]
        result = Table(table.header, [list(row) for row in zip(*columns, strict=True)])
        if not table.rows:
            result = Table(table.header, [])
        if target is not None:
            write_table(result, target, file_format)
        return result
    text = source.read_text(encoding="utf-8-sig")
    if file_format is Format.JSON:
        output = json.dumps(deidentifier.json_value(json.loads(text)), ensure_ascii=False)
    elif file_format is Format.JSONL:
        output = "".join(
            json.dumps(deidentifier.json_value(json.loads(line)), ensure_ascii=False) + "\n"
            for line in text.splitlines()
            if line.strip()
        )
    else:
        output = deidentifier.text(text)
    if target is not None:
        target.write_text(output, encoding="utf-8")
    return None


def register(app: typer.Typer) -> None:
    @app.command("deid")
    def deid(
        source: Annotated[Path, typer.Argument(help="Text, CSV, JSON, JSON Lines or Parquet.")],
        out: Annotated[
            Path | None, typer.Option("--out", help="Where to write the de-identified file.")
        ] = None,
        op: Annotated[
            list[str] | None,
            typer.Option(
                "--op", help="TARGET=OPERATOR[:ARG]; TARGET an entity type or a column. Repeat."
            ),
        ] = None,
        key_file: Annotated[
            Path | None, typer.Option("--key-file", help="Secret key (16+ bytes) for hmac, fpe.")
        ] = None,
        k_report: Annotated[
            str | None, typer.Option("--k-report", help="Quasi-identifier columns: col1,col2.")
        ] = None,
        k_target: Annotated[int | None, typer.Option("--k", min=1, help="Target k.")] = None,
        types: Annotated[str | None, typer.Option("--types", help="Limit the scan.")] = None,
        min_confidence: Annotated[
            float, typer.Option("--min-confidence", min=0.0, max=1.0)
        ] = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        """De-identify a file; the result is pseudonymised, never anonymous."""
        if not source.is_file():
            raise InvalidInput(f"{source}: no such file")
        if out is None and not k_report:
            raise InvalidInput("give --out for the de-identified file, or --k-report")
        if out is not None and out.resolve() == source.resolve():
            raise InvalidInput("--out must not overwrite the input")
        operations: dict[str, Operation] = dict(parse_operation(spec) for spec in op or [])
        scanner_types = parse_types(types)
        pseudonymiser = _read_key(key_file)
        deidentifier = Deidentifier(
            operations, Scanner(scanner_types, min_confidence=min_confidence), pseudonymiser
        )
        file_format = detect_format(source)
        table = _deidentify(source, out, file_format, deidentifier)
        record: dict[str, Any] = {
            "input": str(source),
            "output": str(out) if out is not None else None,
            **LEGAL_STATUS,
            "operations": {
                target: f"{o.operator}{':' + o.argument if o.argument else ''}"
                for target, o in operations.items()
            },
            "changed": dict(sorted(deidentifier.counts.items())),
            "key_id": pseudonymiser.key_id if pseudonymiser is not None else None,
        }
        if k_report:
            if table is None:
                raise InvalidInput("--k-report needs a table (CSV or Parquet)")
            columns = [c.strip() for c in k_report.split(",") if c.strip()]
            report = k_anonymity(table.header, table.rows, columns)
            record["k_anonymity"] = report.to_json(k_target)
            # The report describes the de-identified rows: those are what would be shared.
            record["k_anonymity"]["over"] = "output" if operations else "input"
        if out is not None:
            Path(f"{out}{METADATA_SUFFIX}").write_text(
                json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        print(json.dumps(record, ensure_ascii=False))
