import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.errors import LogCorrupt
from bayflow.ledger.fsck import fsck
from bayflow.ledger.note import Ed25519Signer
from bayflow.ledger.service import Commitment, LedgerService, LogPolicy
from bayflow.store import Database, upgrade
from bayflow.store.ledger import SqlLedgerRepository
from bayflow.store.tables import ledger_checkpoints, ledger_entries, ledger_state, ledger_tiles
from tests.unit.ledger.conftest import LOG_SIGNER, NOW

POLICY = LogPolicy(LOG_SIGNER)
# 700 entries: full and partial level 0 tiles, a level 1 tile, six checkpoints, pending entries.
BATCHES = (1, 255, 100, 200, 144)


def build_log(database: Database) -> None:
    clock = FixedClock(NOW)
    number = 0
    for size in BATCHES:
        with database.transaction() as session:
            ledger = LedgerService(SqlLedgerRepository(session), POLICY, clock)
            ledger.anchor(
                [
                    Commitment(EntryKind.DOCUMENT, n.to_bytes(32, "big"), "vat/1")
                    for n in range(number, number + size)
                ],
                issuer="org_bayline",
            )
            number += size
            ledger.integrate()
    with database.transaction() as session:
        ledger = LedgerService(SqlLedgerRepository(session), POLICY, clock)
        ledger.revoke((3).to_bytes(32, "big"), issuer="org_bayline")
        ledger.integrate()
        ledger.anchor(
            [Commitment(EntryKind.RECORD, (1).to_bytes(32, "big"), "pending/1")],
            issuer="org_bayline",
        )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fsck") / "ledger.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    build_log(database)
    database.dispose()
    return path


def copy_of(template: Path, directory: Path) -> Database:
    path = directory / "ledger.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}")


def check(database: Database) -> Any:
    with database.transaction() as session:
        return fsck(SqlLedgerRepository(session), POLICY.verifier)


# Every stored value fsck vouches for, as (table, key column, value column).
_TAMPERABLE = [
    (ledger_entries, "idx", "leaf"),
    (ledger_entries, "idx", "digest"),
    (ledger_entries, "idx", "kind"),
    (ledger_entries, "idx", "issuer"),
    (ledger_tiles, "n", "data"),
    (ledger_checkpoints, "size", "note"),
    (ledger_checkpoints, "size", "root_hash"),
    (ledger_state, "key", "value"),
]


def _changed(value: Any, position: int, delta: int) -> Any:
    if isinstance(value, int):
        return value + (delta if delta % 2 else -delta)
    if isinstance(value, str):
        i = position % len(value)
        # Another printable character, so that the row still reads back as text.
        char = chr((ord(value[i]) - 0x21 + delta) % 94 + 0x21)
        return value[:i] + char + value[i + 1 :]
    raw = bytearray(value)
    raw[position % len(raw)] ^= delta
    return bytes(raw)


class TestFsck:
    """fsck re-derives the log from its entries and names the first stored value that differs."""

    def test_a_healthy_log_passes(self, template: Path, tmp_path: Path) -> None:
        database = copy_of(template, tmp_path)
        report = check(database)
        database.dispose()
        assert report.tree_size == sum(BATCHES) + 1
        assert report.entries == report.tree_size + 1
        assert report.checkpoints == len(BATCHES) + 1
        assert report.tiles == 4  # tile/0/000, tile/0/001, tile/0/002.p/190, tile/1/000.p/2

    def test_a_log_signed_by_another_key_fails(self, template: Path, tmp_path: Path) -> None:
        database = copy_of(template, tmp_path)
        impostor = Ed25519Signer(LOG_SIGNER.name, SigningKey(b"\x08" * 32))
        with (
            database.transaction() as session,
            pytest.raises(
                LogCorrupt, match=r"checkpoint of size 1: .*no signature from a trusted key"
            ),
        ):
            fsck(SqlLedgerRepository(session), impostor.verifier())
        database.dispose()

    def test_a_changed_tile_is_named(self, template: Path, tmp_path: Path) -> None:
        database = copy_of(template, tmp_path)
        with database.transaction() as session:
            session.execute(
                update(ledger_tiles)
                .where(ledger_tiles.c.level == 0, ledger_tiles.c.n == 1)
                .values(data=bytes(8192))
            )
        with pytest.raises(LogCorrupt, match=r"tile/0/001: .* entries 256 to 511"):
            check(database)
        database.dispose()

    @settings(max_examples=100)
    @given(
        target=st.sampled_from(_TAMPERABLE),
        row=st.integers(min_value=0),
        position=st.integers(min_value=0),
        delta=st.integers(min_value=1, max_value=93),
    )
    def test_any_tampered_stored_byte_is_detected(
        self,
        template: Path,
        tmp_path_factory: pytest.TempPathFactory,
        target: tuple[Any, str, str],
        row: int,
        position: int,
        delta: int,
    ) -> None:
        table, key, column = target
        database = copy_of(template, tmp_path_factory.mktemp("tampered"))
        try:
            with database.transaction() as session:
                rows = session.execute(select(table.c[key], table.c[column])).all()
                key_value, value = rows[row % len(rows)]
                session.execute(
                    update(table)
                    .where(table.c[key] == key_value)
                    .values({column: _changed(value, position, delta)})
                )
        except IntegrityError:
            reject()
        with pytest.raises(LogCorrupt):
            check(database)
        database.dispose()
