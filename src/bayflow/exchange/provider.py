"""The reference data provider's logic: answer a routed request from files on disk.

A provider keeps its data; this one keeps it as files, one folder per product and one file per
data owner, named by any of the owner's registry numbers (or its Bayflow id)::

    DATA/
      vat-einvoices/
        91440300MA5G7K2P0C.json     # a JSON list of records, or {"records": [...]}
      electricity-bills/
        91440300MA5G7K2P0C.csv      # CSV with a header row
      tax-filings/
        org_….jsonl                 # JSON Lines

Records with a ``date`` (``2025-03-31``) or ``period`` (``2025-03``) field are kept only when
they fall inside the requested range; records without either are always returned.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from bayflow.errors import InvalidInput, NotFound
from bayflow.exchange.routing import RoutedRequest

__all__ = ["FileDataSource", "owner_names", "payload_for"]

_SUFFIXES: Final = (".json", ".jsonl", ".csv")
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,80}")


def _record_date(record: dict[str, Any]) -> date | None:
    for field, fmt in (("date", "%Y-%m-%d"), ("period", "%Y-%m")):
        value = record.get(field)
        if isinstance(value, str):
            try:
                return datetime.strptime(value[: len(fmt) + 2], fmt).date()  # noqa: DTZ007
            except ValueError:
                continue
    return None


def _within(record: dict[str, Any], first: date | None, last: date | None) -> bool:
    when = _record_date(record)
    if when is None:
        return True
    return (first is None or when >= first) and (last is None or when <= last)


@dataclass(frozen=True)
class FileDataSource:
    root: Path

    def file_for(self, product: str, names: Iterable[str]) -> Path:
        """The file holding the owner's records of ``product``, by the first name that has one."""
        if not _SAFE_NAME.fullmatch(product):
            raise InvalidInput(f"product id {product!r} is not a safe file name")
        folder = self.root / product
        for name in names:
            if not _SAFE_NAME.fullmatch(name):
                continue
            for suffix in _SUFFIXES:
                candidate = folder / f"{name}{suffix}"
                if candidate.is_file():
                    return candidate
        raise NotFound(f"no {product} data for this data owner")

    def records(self, path: Path) -> list[dict[str, Any]]:
        """The records of a file :meth:`file_for` found."""
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".csv":
                return [dict(row) for row in csv.DictReader(io.StringIO(text))]
            if path.suffix == ".jsonl":
                return [json.loads(line) for line in text.splitlines() if line.strip()]
            data = json.loads(text)
        except (json.JSONDecodeError, csv.Error) as exc:
            raise InvalidInput(f"{path.name} is not valid {path.suffix[1:]}") from exc
        records = data.get("records") if isinstance(data, dict) else data
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise InvalidInput(f"{path.name} holds no list of records")
        return records


def _date(value: str | None) -> date | None:
    return datetime.fromisoformat(value).date() if value else None


def owner_names(routed: RoutedRequest) -> list[str]:
    """The names the owner's files may have: its registry numbers, then its Bayflow id."""
    return [*routed.data_owner_identifiers.values(), routed.data_owner]


def payload_for(
    records: Iterable[dict[str, Any]], routed: RoutedRequest, *, now: datetime
) -> bytes:
    """The JSON payload answering ``routed``: those of the owner's records in its range."""
    first, last = _date(routed.data_from), _date(routed.data_to)
    records = [r for r in records if _within(r, first, last)]
    body = {
        "product": routed.product,
        "provider": routed.provider,
        "data_owner": routed.data_owner,
        "consent": routed.consent_id,
        "request": routed.request_id,
        "range": {"from": routed.data_from, "to": routed.data_to},
        "generated_at": now.isoformat(),
        "records": records,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
