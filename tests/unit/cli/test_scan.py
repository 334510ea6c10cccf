from __future__ import annotations

import json
from pathlib import Path

import pytest

from bayflow.cli import main


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("身份证号440305198503121231已核实，电话 +852 9123 4567。\n", encoding="utf-8")
    return path


class TestScanCommand:
    """bayflow scan prints findings and succeeds whether or not it finds any."""

    def test_json_lines_with_exit_zero(
        self, notes: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("scan", str(notes)) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["type"] for r in records] == ["PRC_RESIDENT_ID", "PHONE"]
        assert records[0]["gbt35273_sensitive"] is True

    def test_types_limit_the_output(self, notes: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run("scan", str(notes), "--types", "phone") == 0
        assert [json.loads(x)["type"] for x in capsys.readouterr().out.splitlines()] == ["PHONE"]

    def test_table_summary(self, notes: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run("scan", str(notes), "--format", "table") == 0
        assert "PRC_RESIDENT_ID" in capsys.readouterr().out

    def test_unknown_types_are_an_input_error(
        self, notes: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("scan", str(notes), "--types", "SSN") == 65
        assert "unknown entity type SSN" in capsys.readouterr().err

    def test_evaluate_prints_scores(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run("scan", "--evaluate", "--documents", "60") == 0
        report = json.loads(capsys.readouterr().out)
        assert report["text"]["PRC_RESIDENT_ID"]["f1"] >= 0.97


class TestDeidCommand:
    """bayflow deid writes the de-identified file and labels it pseudonymised."""

    def test_csv_with_a_k_report(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        source = tmp_path / "people.csv"
        source.write_text(
            "name,id,age\n陳大文,440305198503121231,42\n李小明,11010519491231002X,47\n",
            encoding="utf-8",
        )
        key = tmp_path / "key"
        key.write_bytes(b"s" * 32)
        out = tmp_path / "out.csv"
        code = run(
            "deid",
            str(source),
            "--out",
            str(out),
            "--op",
            "PRC_RESIDENT_ID=fpe",
            "--op",
            "age=generalise:10",
            "--key-file",
            str(key),
            "--k-report",
            "age",
        )
        assert code == 0
        record = json.loads(capsys.readouterr().out)
        assert record["status"] == "pseudonymised"
        assert record["anonymised"] is False
        assert record["k_anonymity"]["k"] == 2
        written = out.read_text(encoding="utf-8")
        assert "440305198503121231" not in written
        assert "40-49" in written
        assert (
            json.loads(Path(f"{out}.deid.json").read_text(encoding="utf-8"))["anonymised"] is False
        )

    def test_keyed_operations_without_a_key_fail(self, notes: Path, tmp_path: Path) -> None:
        assert run("deid", str(notes), "--out", str(tmp_path / "o.txt"), "--op", "PHONE=hmac") == 65
