import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bayflow.cli import main
from bayflow.clock import SystemClock
from bayflow.config import Settings, load_settings
from bayflow.hub import bootstrap, load_log_policy
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.merkle import hash_leaf, root_from_leaf_hashes
from bayflow.ledger.note import Note
from bayflow.ledger.sequencer import Sequencer
from bayflow.ledger.service import Commitment, LedgerService
from bayflow.ledger.tiles import decode_entry_bundle
from bayflow.store import Database, upgrade
from bayflow.store.ledger import SqlLedgerRepository, ledger_transactions
from bayflow.store.tables import ledger_entries


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    return code if isinstance(code, int) else 1


def output(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def grow(settings: Settings, first: int, count: int) -> None:
    database = Database(settings.effective_database_url)
    policy = load_log_policy(settings)
    with database.transaction() as session:
        LedgerService(SqlLedgerRepository(session), policy, SystemClock()).anchor(
            [
                Commitment(EntryKind.DOCUMENT, n.to_bytes(32, "big"), "vat/1")
                for n in range(first, first + count)
            ],
            issuer="org_bayline",
        )
    Sequencer(ledger_transactions(database), policy, SystemClock()).sequence_once()
    database.dispose()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    monkeypatch.setenv("BAYFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BAYFLOW_DATABASE_URL", raising=False)
    settings = load_settings()
    database = Database(settings.effective_database_url)
    upgrade(database)
    bootstrap(settings, database)
    database.dispose()
    return settings


class TestLedgerCommands:
    """The operator reads the log key, exports the log, checks it, and others monitor it."""

    def test_key_prints_the_local_log_key(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run("ledger", "key") == 0
        assert capsys.readouterr().out == f"{load_log_policy(settings).verifier.vkey}\n"

    def test_export_writes_the_api_paths_and_skips_full_tiles_next_time(
        self, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        grow(settings, 0, 300)
        site = tmp_path / "site"
        assert run("ledger", "export", str(site)) == 0
        first = output(capsys)
        # tile/0/000, tile/0/001.p/44, tile/1/000.p/1 and their two bundles.
        assert (first["tree_size"], first["written"], first["skipped"]) == (300, 5, 0)
        leaves = decode_entry_bundle((site / "tile/entries/000").read_bytes()) + (
            decode_entry_bundle((site / "tile/entries/001.p/44").read_bytes())
        )
        note = Note.from_bytes((site / "checkpoint").read_bytes())
        note.verify([load_log_policy(settings).verifier])
        root = root_from_leaf_hashes(hash_leaf(leaf) for leaf in leaves)
        assert note.text.split("\n")[2] == base64.b64encode(root).decode()
        assert (site / "key").read_text() == f"{load_log_policy(settings).verifier.vkey}\n"
        grow(settings, 300, 300)
        assert run("ledger", "export", str(site)) == 0
        second = output(capsys)
        # tile/0/000 and its bundle were written before and never change.
        assert (second["tree_size"], second["skipped"]) == (600, 2)

    def test_monitor_follows_an_exported_log_and_alarms_on_a_fork(
        self, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        grow(settings, 0, 20)
        site, state = tmp_path / "site", tmp_path / "monitor.state"
        key = load_log_policy(settings).verifier.vkey
        assert run("ledger", "export", str(site)) == 0
        capsys.readouterr()
        monitor = (
            "ledger",
            "monitor",
            str(site),
            "--log-key",
            key,
            "--once",
            "--state",
            str(state),
        )
        assert run(*monitor) == 0
        assert json.loads(capsys.readouterr().out)["tree_size"] == 20
        grow(settings, 20, 5)
        assert run("ledger", "export", str(site)) == 0
        capsys.readouterr()
        assert run(*monitor) == 0
        assert json.loads(capsys.readouterr().out)["tree_size"] == 25
        # Another history under the same key: rebuild the log from other entries.
        shutil.rmtree(site)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings.data_dir / 'bayflow.db'}{suffix}").unlink(missing_ok=True)
        database = Database(settings.effective_database_url)
        upgrade(database)
        database.dispose()
        grow(settings, 1000, 30)
        assert run("ledger", "export", str(site)) == 0
        capsys.readouterr()
        assert run(*monitor) == 11
        assert "consistency proof" in capsys.readouterr().err

    def test_monitor_alarms_on_an_unexpected_key(
        self, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        grow(settings, 0, 3)
        site = tmp_path / "site"
        assert run("ledger", "export", str(site)) == 0
        other = "bayflow.local/ledger+8a9d2c6f+AWZhYmVmYWJlZmFiZWZhYmVmYWJlZmFiZWZhYmVmYWI="
        capsys.readouterr()
        code = run("ledger", "monitor", str(site), "--log-key", other, "--once")
        assert code != 0
        assert capsys.readouterr().err.startswith("bayflow: error:")

    def test_fsck_passes_then_names_a_tampered_entry(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        grow(settings, 0, 50)
        assert run("ledger", "fsck") == 0
        report = output(capsys)
        assert (report["ok"], report["tree_size"], report["tiles"]) == (True, 50, 1)
        database = Database(settings.effective_database_url)
        with database.transaction() as session:
            session.execute(
                update(ledger_entries).where(ledger_entries.c.idx == 7).values(issuer="org_x")
            )
        database.dispose()
        assert run("ledger", "fsck") == 19
        assert capsys.readouterr().err == (
            "bayflow: error: entry 7: the stored issuer differs from its leaf's\n"
        )
