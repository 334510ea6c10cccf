from pathlib import Path

import pytest

from bayflow.config import Settings, load_settings
from bayflow.errors import ConfigurationError


class TestSettings:
    """Settings come from BAYFLOW_ variables, with an embedded SQLite default."""

    def test_default_database_is_sqlite_inside_the_data_dir(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("BAYFLOW_DATABASE_URL", raising=False)
        monkeypatch.delenv("BAYFLOW_DATA_DIR", raising=False)
        settings = load_settings()
        assert settings.is_embedded_database
        assert settings.effective_database_url == "sqlite:///.bayflow/bayflow.db"

    def test_environment_variables_with_the_prefix_are_read(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("BAYFLOW_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("BAYFLOW_PORT", "9001")
        monkeypatch.setenv("BAYFLOW_LEDGER_ORIGIN", "hub.example/ledger")
        settings = load_settings()
        assert settings.data_dir == tmp_path
        assert settings.port == 9001
        assert settings.ledger_origin == "hub.example/ledger"
        assert settings.effective_database_url == f"sqlite:///{tmp_path.as_posix()}/bayflow.db"

    def test_variables_without_the_prefix_are_ignored(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("BAYFLOW_PORT", raising=False)
        monkeypatch.setenv("PORT", "1234")
        assert load_settings().port == 8000

    def test_explicit_overrides_win_over_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BAYFLOW_PORT", "9001")
        assert load_settings(port=9002).port == 9002

    def test_plain_postgresql_urls_get_the_psycopg_driver(self) -> None:
        settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
        assert (
            settings.effective_database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        assert not settings.is_embedded_database

    @pytest.mark.parametrize(
        ("variable", "value", "expected"),
        [
            ("BAYFLOW_PORT", "eighty", "BAYFLOW_PORT"),
            ("BAYFLOW_PORT", "70000", "BAYFLOW_PORT"),
            ("BAYFLOW_DATABASE_URL", "mysql://root@localhost/x", "BAYFLOW_DATABASE_URL"),
            ("BAYFLOW_LOG_FORMAT", "xml", "BAYFLOW_LOG_FORMAT"),
            ("BAYFLOW_CHECKPOINT_INTERVAL_S", "0", "BAYFLOW_CHECKPOINT_INTERVAL_S"),
        ],
    )
    def test_bad_values_raise_a_configuration_error_naming_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
    ) -> None:
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigurationError, match=expected):
            load_settings()

    def test_settings_are_immutable(self) -> None:
        settings = Settings()
        with pytest.raises(ValueError, match="frozen"):
            settings.port = 1  # type: ignore[misc]
