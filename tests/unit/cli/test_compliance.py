"""``bayflow compliance``: offline checks, and the hub-backed verbs against a fake hub.

The fake hub is an ``httpx.MockTransport`` that records what it was sent: the volume report
test proves only pseudonyms leave the machine.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bayflow.cli import main
from bayflow.client import BayflowClient
from bayflow.compliance.rules import load_packaged_rules
from bayflow.compliance.volumes import pseudonymise
from bayflow.identity.keyfile import KeyFile, KeyPair

KEY = bytes(range(32, 64))

SCENARIO = {
    "schema": "bayflow-transfer/1",
    "exporter": {"jurisdiction": "CN", "city": "Zhuhai"},
    "recipient": {"jurisdiction": "HK", "city": "Hong Kong"},
    "data": {"personal_information": True, "individuals": 4000},
    "purpose": "other",
}


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BAYFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "transfer.json"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    return path


class FakeHub:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        is_json = request.headers.get("content-type") == "application/json"
        body = json.loads(request.content) if is_json else None
        self.sent.append((request.method, path, body))
        answers: dict[str, tuple[int, Any]] = {
            "/oauth/token": (200, {"access_token": "t", "expires_in": 300}),
            "/compliance/v1/volumes/key": (200, {"year": 2026, "key": KEY.hex()}),
            "/compliance/v1/volumes": (200, {"nonsensitive": 2, "sensitive": 0}),
            "/compliance/v1/decisions": (201, {"digest": "00", "decision": _decision()}),
            "/compliance/v1/contracts/reminders": (200, []),
        }
        if path in answers:
            status, answer = answers[path]
            return httpx.Response(status, json=answer)
        if path.startswith("/compliance/v1/contracts"):
            return httpx.Response(201, json=_contract())
        return httpx.Response(404, json={"type": "urn:bayflow:problem:not-found"})


def _decision() -> dict[str, Any]:
    return {
        "id": "dec_1",
        "transfer": SCENARIO,
        "volumes": {"year": 2026, "nonsensitive": 4000, "sensitive": 0},
        "verdict": "exempt",
        "rules_version": "2026.11.1",
        "routes": [],
        "notes": [],
    }


def _contract() -> dict[str, Any]:
    party = {
        "organisation": "org_a",
        "filing_body": "Guangdong Provincial Cyberspace Office",
        "deadline": "2026-11-30",
        "deadline_uncertain": False,
        "filed_on": None,
        "filing_ref": None,
        "state": "pending",
    }
    return {
        "id": "gsc_1",
        "route": "gba_standard_contract_hk",
        "effective_on": "2026-11-16",
        "terminated_on": None,
        "exporter": party,
        "recipient": {**party, "organisation": "org_b"},
    }


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    fake = FakeHub()
    key_file = KeyFile("http://hub.test", "org_a", "per_a", KeyPair.generate())

    def open_client(_url: object, _key: object) -> BayflowClient:
        transport = httpx.MockTransport(fake.handle)
        return BayflowClient("http://hub.test", key_file, transport=transport)

    monkeypatch.setattr("bayflow.cli.compliance.open_client", open_client)
    return fake


class TestCheckOffline:
    """``check FILE`` decides with the packaged rules and no network."""

    def test_the_scenario_prints_both_routes_and_the_notice(
        self, scenario_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("compliance", "check", str(scenario_file)) == 0
        out = capsys.readouterr().out
        assert "exempt (rules 2026.11.1)" in out
        assert "1. gba_standard_contract_hk [V] via R10" in out
        assert "2. exempt [V] via R7" in out
        assert "Not legal advice" in out

    def test_json_output_is_the_decision(
        self, scenario_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("compliance", "check", str(scenario_file), "--json") == 0
        decision = json.loads(capsys.readouterr().out)
        assert decision["schema"] == "bayflow-decision/1"
        assert decision["verdict"] == "exempt"

    def test_a_rules_file_with_a_new_threshold_changes_the_answer(
        self, scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        document = copy.deepcopy(dict(load_packaged_rules().raw))
        document["version"] = "2027.1.1"
        document["thresholds"]["exemption_nonsensitive_individuals"] = 1000
        rules = tmp_path / "rules.yaml"
        rules.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        assert run("compliance", "check", str(scenario_file), "--rules", str(rules), "--json") == 0
        decision = json.loads(capsys.readouterr().out)
        assert decision["verdict"] == "mechanism_required"
        assert decision["rules_version"] == "2027.1.1"

    def test_a_malformed_description_exits_with_a_data_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "bad.json"
        path.write_text('{"exporter": {}}', encoding="utf-8")
        assert run("compliance", "check", str(path)) == 65
        assert "exporter" in capsys.readouterr().err

    def test_a_missing_file_exits_not_found(self, tmp_path: Path) -> None:
        assert run("compliance", "check", str(tmp_path / "absent.json")) == 66


class TestHubVerbs:
    """The hub-backed verbs send what they should and nothing more."""

    def test_check_with_url_asks_the_hub(
        self, scenario_file: Path, hub: FakeHub, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("compliance", "check", str(scenario_file), "--url", "http://hub.test") == 0
        assert ("POST", "/compliance/v1/decisions") in [(m, p) for m, p, _ in hub.sent]
        out = capsys.readouterr().out
        assert "exempt" in out
        assert "decision dec_1 stored by the hub; its SHA-256 00 is anchored" in out

    def test_volume_reports_send_pseudonyms_only(self, tmp_path: Path, hub: FakeHub) -> None:
        ids = tmp_path / "ids.txt"
        ids.write_text("K234567(6)\nk234567 6\n440305198503121231\n", encoding="utf-8")
        assert run("compliance", "volumes", "report", str(ids)) == 0
        (body,) = [b for m, p, b in hub.sent if (m, p) == ("POST", "/compliance/v1/volumes")]
        assert sorted(body["nonsensitive"]) == sorted(
            {pseudonymise(KEY, "K234567(6)"), pseudonymise(KEY, "440305198503121231")}
        )
        everything = json.dumps(hub.sent)
        assert "K234567" not in everything
        assert "440305198503121231" not in everything

    def test_contract_add_file_and_reminders(
        self, hub: FakeHub, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert (
            run(
                "compliance",
                "contract",
                "add",
                "--exporter",
                "org_a",
                "--recipient",
                "org_b",
                "--effective-on",
                "2026-11-16",
            )
            == 0
        )
        assert "files with Guangdong Provincial Cyberspace Office by 2026-11-30" in (
            capsys.readouterr().out
        )
        assert run("compliance", "contract", "file", "gsc_1", "--ref", "GD-1") == 0
        posted = [b for m, p, b in hub.sent if p == "/compliance/v1/contracts/gsc_1/filing"]
        assert posted == [{"filing_ref": "GD-1"}]
        assert run("compliance", "contract", "list", "--reminders") == 0
        assert "no filings due" in capsys.readouterr().out

    def test_a_bad_date_is_refused_before_calling_the_hub(self, hub: FakeHub) -> None:
        code = run(
            "compliance",
            "contract",
            "add",
            "--exporter",
            "a",
            "--recipient",
            "b",
            "--effective-on",
            "16/11/2026",
        )
        assert code == 65
        assert hub.sent == []
