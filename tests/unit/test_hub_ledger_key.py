from pathlib import Path

import pytest

from bayflow.config import Settings
from bayflow.errors import ConfigurationError
from bayflow.hub import bootstrap, ledger_key_path, load_log_policy
from bayflow.ledger.cosignature import CosignatureSigner
from bayflow.store import Database, upgrade


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path)
    database = Database(settings.effective_database_url)
    upgrade(database)
    bootstrap(settings, database)
    database.dispose()
    return settings


class TestLedgerKey:
    """The first start makes the log key, named for the origin, and later starts keep it."""

    def test_the_key_is_a_private_skey_named_for_the_origin(self, settings: Settings) -> None:
        path = ledger_key_path(settings)
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.read_text().startswith("PRIVATE+KEY+bayflow.local/ledger+")
        policy = load_log_policy(settings)
        assert policy.origin == "bayflow.local/ledger"
        assert (policy.witnesses, policy.quorum) == ((), 0)

    def test_a_second_start_keeps_the_key(self, settings: Settings) -> None:
        before = ledger_key_path(settings).read_text()
        database = Database(settings.effective_database_url)
        bootstrap(settings, database)
        database.dispose()
        assert ledger_key_path(settings).read_text() == before

    def test_another_origin_is_refused_rather_than_starting_another_log(
        self, settings: Settings
    ) -> None:
        moved = Settings(data_dir=settings.data_dir, ledger_origin="ledger.example.hk")
        with pytest.raises(ConfigurationError, match=r"signs for 'bayflow\.local/ledger'"):
            load_log_policy(moved)

    def test_witness_keys_make_the_policy_and_bad_ones_are_refused(
        self, settings: Settings
    ) -> None:
        witness = CosignatureSigner.generate("witness.example/hk").verifier()
        good = Settings(
            data_dir=settings.data_dir, witness_urls=["http://w"], witness_keys=[witness.vkey]
        )
        policy = load_log_policy(good)
        assert (policy.witnesses[0].vkey, policy.quorum) == (witness.vkey, 1)
        bad = Settings(
            data_dir=settings.data_dir, witness_urls=["http://w"], witness_keys=["x+y+z"]
        )
        with pytest.raises(ConfigurationError, match="BAYFLOW_WITNESS_KEYS"):
            load_log_policy(bad)
