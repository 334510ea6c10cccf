import json
from pathlib import Path

import pytest

from bayflow import __version__
from bayflow.cli import app, main
from bayflow.errors import InvalidInput
from bayflow.logs import get_logger


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture(autouse=True)
def _isolated_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BAYFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BAYFLOW_DATABASE_URL", raising=False)


class TestRoot:
    """The root command lists its groups and reports its version."""

    def test_help_lists_the_command_groups(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(["--help"]) == 0
        out = capsys.readouterr().out
        for command in ("serve", "version", "db"):
            assert command in out

    def test_no_arguments_prints_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run([]) == 0
        assert "Usage" in capsys.readouterr().out

    def test_version_prints_the_package_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(["version"]) == 0
        assert capsys.readouterr().out.strip() == f"bayflow {__version__}"


class TestErrors:
    """Errors leave through one path: one line on stderr and a non-zero exit code."""

    def test_unknown_command_is_one_line_with_exit_2(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run(["no-such-command"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("bayflow: error: No such command")

    def test_bad_option_value_is_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(["--log-format", "xml", "version"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "--log-format" in err

    def test_bad_configuration_exits_with_its_own_code(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BAYFLOW_DATABASE_URL", "mysql://root@localhost/x")
        assert run(["db", "current"]) == 78
        err = capsys.readouterr().err
        assert err.startswith("bayflow: error: BAYFLOW_DATABASE_URL")
        assert "Traceback" not in err

    def test_unreachable_database_is_one_line(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BAYFLOW_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
        assert run(["db", "current"]) == 69
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "unreachable" in err

    def _add_failing_command(self, error: Exception) -> None:
        @app.command("explode", hidden=True)
        def explode() -> None:
            raise error

    def test_bayflow_errors_show_no_traceback(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._add_failing_command(InvalidInput("the record is not JSON"))
        try:
            assert run(["explode"]) == InvalidInput.exit_code
        finally:
            app.registered_commands.pop()
        err = capsys.readouterr().err
        assert err == "bayflow: error: the record is not JSON\n"

    def test_unexpected_errors_show_no_traceback_unless_debug(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self._add_failing_command(KeyError("missing"))
        try:
            assert run(["explode"]) == 70
            quiet = capsys.readouterr().err
            assert run(["--debug", "explode"]) == 70
            loud = capsys.readouterr().err
        finally:
            app.registered_commands.pop()
        assert "Traceback" not in quiet
        assert quiet.count("\n") == 1
        assert "--debug" in quiet
        assert "Traceback" in loud


class TestDb:
    """`bayflow db` creates and migrates the embedded database."""

    def test_current_on_a_fresh_machine_says_to_upgrade(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run(["db", "current"]) == 0
        assert "bayflow db upgrade" in capsys.readouterr().out

    def test_upgrade_creates_the_database_under_the_data_dir(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        assert run(["db", "upgrade"]) == 0
        out = capsys.readouterr().out
        assert "migrated empty ->" in out
        assert (tmp_path / "data" / "bayflow.db").is_file()
        assert run(["db", "current"]) == 0
        assert "(head)" in capsys.readouterr().out

    def test_upgrade_again_reports_already_current(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run(["db", "upgrade"])
        first = capsys.readouterr().out.splitlines()[-1]
        assert run(["db", "upgrade"]) == 0
        out = capsys.readouterr().out
        assert "already at" in out
        assert out.splitlines()[-1] == first  # the same hub instance


class TestLogs:
    """--log-format json writes JSON lines."""

    def test_json_log_lines(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._add_logging_command()
        try:
            assert run(["--log-format", "json", "say"]) == 0
        finally:
            app.registered_commands.pop()
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["event"] == "hello"
        assert record["level"] == "info"
        assert record["who"] == "world"
        assert "timestamp" in record

    def test_text_log_lines(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._add_logging_command()
        try:
            assert run(["--log-format", "text", "say"]) == 0
        finally:
            app.registered_commands.pop()
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert "hello" in line
        assert "who=world" in line
        assert not line.startswith("{")

    @staticmethod
    def _add_logging_command() -> None:
        @app.command("say", hidden=True)
        def say() -> None:
            get_logger("test").info("hello", who="world")
