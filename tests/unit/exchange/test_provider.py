"""The reference provider's data: an owner's file found by its names, read, filtered by date."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bayflow.crypto import hpke
from bayflow.errors import InvalidInput, NotFound
from bayflow.exchange.provider import FileDataSource, owner_names, payload_for
from bayflow.exchange.routing import RoutedRequest

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
USCC = "91440300MA5G7K2P0C"


def _routed(**changes: object) -> RoutedRequest:
    fields: dict[str, object] = {
        "hub": "http://hub.test",
        "provider": "org_provider",
        "request_id": "req_1",
        "consent_id": "con_1",
        "data_owner": "org_owner",
        "data_owner_identifiers": {"cn_uscc": USCC},
        "consumer": "org_bank",
        "product": "bills",
        "data_from": None,
        "data_to": None,
        "consumer_key": hpke.PrivateKey.generate().public_key,
        "consumer_kid": "kid-1",
        "issued_at": NOW,
    } | changes
    return RoutedRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def source(tmp_path: Path) -> FileDataSource:
    (tmp_path / "bills").mkdir()
    return FileDataSource(tmp_path)


def test_the_owner_is_found_by_a_registry_number_before_its_bayflow_id(
    source: FileDataSource,
) -> None:
    folder = source.root / "bills"
    (folder / "org_owner.json").write_text("[]", encoding="utf-8")
    (folder / f"{USCC}.csv").write_text("period,kwh\n2026-09,1200\n", encoding="utf-8")
    path = source.file_for("bills", owner_names(_routed()))
    assert path.name == f"{USCC}.csv"
    assert source.records(path) == [{"period": "2026-09", "kwh": "1200"}]


def test_json_lines_and_a_records_object_read_alike(source: FileDataSource) -> None:
    folder = source.root / "bills"
    lines = folder / "a.jsonl"
    lines.write_text('{"n": 1}\n\n{"n": 2}\n', encoding="utf-8")
    wrapped = folder / "b.json"
    wrapped.write_text(json.dumps({"records": [{"n": 1}, {"n": 2}]}), encoding="utf-8")
    assert source.records(lines) == source.records(wrapped) == [{"n": 1}, {"n": 2}]


def test_unsafe_or_unknown_names_find_nothing(source: FileDataSource) -> None:
    with pytest.raises(InvalidInput, match="safe file name"):
        source.file_for("../bills", ["org_owner"])
    (source.root / "bills" / "org_owner.json").write_text("[]", encoding="utf-8")
    with pytest.raises(NotFound):
        source.file_for("bills", ["../bills/org_owner", "org_other"])


def test_a_file_without_a_list_of_records_is_refused(source: FileDataSource) -> None:
    path = source.root / "bills" / "org_owner.json"
    path.write_text('{"records": 3}', encoding="utf-8")
    with pytest.raises(InvalidInput, match="no list of records"):
        source.records(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid json"):
        source.records(path)


def test_the_payload_keeps_the_records_in_range_and_those_without_a_date() -> None:
    records: list[dict[str, object]] = [
        {"period": "2026-08", "kwh": 1},
        {"date": "2026-09-15", "kwh": 2},
        {"period": "2026-11", "kwh": 3},
        {"note": "undated"},
    ]
    routed = _routed(data_from="2026-09-01", data_to="2026-10-31")
    payload = json.loads(payload_for(records, routed, now=NOW))
    assert payload["records"] == [{"date": "2026-09-15", "kwh": 2}, {"note": "undated"}]
    assert (payload["consent"], payload["request"], payload["generated_at"]) == (
        "con_1",
        "req_1",
        NOW.isoformat(),
    )
