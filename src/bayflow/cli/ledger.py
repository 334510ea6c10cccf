"""``bayflow ledger``: the hub's verification ledger — its key, a static export, fsck, a monitor.

``key`` prints the log's verifier key (from this hub's data directory, or from ``--url``).
``export DIR`` writes the published checkpoint, every tile and every entry bundle as files with
the HTTP API's paths (c2sp.org/tlog-tiles), so any static host or object store can serve the
log. ``fsck`` re-derives every tile and checkpoint root from the stored entries. ``monitor``
follows a log over HTTP (or an exported directory) and exits non-zero on any inconsistency.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from bayflow.cli._client import UrlOption, print_json
from bayflow.cli._keys import read_log_key, read_witness_key
from bayflow.client import BayflowClient
from bayflow.config import load_settings
from bayflow.errors import InvalidInput, NotFound
from bayflow.hub import load_log_policy
from bayflow.ledger.fsck import fsck
from bayflow.ledger.monitor import Fetch, LogMonitor
from bayflow.ledger.note import Note
from bayflow.ledger.service import LogReader
from bayflow.ledger.tiles import Tile, tiles_for_size
from bayflow.store import Database, require_current
from bayflow.store.ledger import SqlLedgerRepository

__all__ = ["register"]

group = typer.Typer(
    help="The verification ledger: its key, a static export, fsck and a monitor.",
    no_args_is_help=True,
)


def _database() -> Database:
    database = Database(load_settings().effective_database_url)
    require_current(database)
    return database


@group.command("key")
def key(url: UrlOption = None) -> None:
    """Print the log's verifier key: <origin>+<key ID>+<base64 key>."""
    if url is None:
        print(load_log_policy(load_settings()).verifier.vkey)
        return
    with BayflowClient(url) as hub:
        print(hub.request("GET", "/ledger/key", auth=False).text.strip())


def _write(path: Path, data: bytes) -> None:
    # Readers of the directory must never see half a file: write aside, then rename.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


@group.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write the log's files.")],
) -> None:
    """Write the published checkpoint, its tiles and entry bundles under DIR.

    Full tiles already in DIR are skipped (they never change), so exporting again only adds
    what is new. The checkpoint is written last: a reader of DIR never sees a checkpoint whose
    tiles are missing.
    """
    database = _database()
    written = skipped = 0
    try:
        # A read-only snapshot: the hub keeps anchoring while the files are written.
        with database.reading() as session:
            reader = LogReader(SqlLedgerRepository(session))
            checkpoint = reader.published()
            if checkpoint is None:
                raise NotFound("the log has no published checkpoint to export")
            size = checkpoint.size
            bundles = [
                Tile(0, tile.n, tile.width, entries=True)
                for tile in tiles_for_size(size)
                if tile.level == 0
            ]
            for tile in [*tiles_for_size(size), *bundles]:
                path = directory / tile.path
                if not tile.is_partial and path.exists():
                    skipped += 1
                    continue
                _write(path, reader.tile(tile))
                written += 1
            note = checkpoint.signed_note().to_text()
        _write(directory / "key", f"{load_log_policy(load_settings()).verifier.vkey}\n".encode())
        _write(directory / "checkpoint", note.encode())
    finally:
        database.dispose()
    print_json(
        {"directory": str(directory), "tree_size": size, "written": written, "skipped": skipped}
    )


@group.command("fsck")
def check() -> None:
    """Re-derive every tile and root from the stored entries; check every checkpoint.

    Exits 19 naming the first stored tile, checkpoint or entry that does not match.
    """
    settings = load_settings()
    policy = load_log_policy(settings)
    database = _database()
    try:
        # One snapshot, without the write lock: a running hub is not held up while fsck reads.
        with database.reading() as session:
            report = fsck(SqlLedgerRepository(session), policy.verifier, policy.witnesses)
    finally:
        database.dispose()
    print_json(
        {
            "ok": True,
            "tree_size": report.tree_size,
            "root_hash": report.root_hash.hex(),
            "entries": report.entries,
            "tiles": report.tiles,
            "checkpoints": report.checkpoints,
        }
    )


def _fetcher(url: str, client: BayflowClient | None) -> Fetch:
    if client is None:
        root = Path(url)

        def read_file(path: str) -> bytes:
            try:
                return (root / path).read_bytes()
            except FileNotFoundError as exc:
                raise NotFound(f"{root / path} does not exist") from exc

        return read_file

    def fetch(path: str) -> bytes:
        return client.request("GET", path, auth=False).content

    return fetch


@group.command("monitor")
def monitor(
    url: Annotated[
        str,
        typer.Argument(
            help="The log's prefix, e.g. http://127.0.0.1:8000/ledger, or an exported directory."
        ),
    ],
    log_key: Annotated[
        str, typer.Option("--log-key", help="The log's verifier key, or a file holding it.")
    ],
    witness_key: Annotated[
        list[str] | None,
        typer.Option("--witness-key", help="A witness's verifier key or key file (repeatable)."),
    ] = None,
    min_cosignatures: Annotated[
        int, typer.Option("--min-cosignatures", min=0, help="Witnesses that must cosign.")
    ] = 0,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between two looks at the checkpoint.")
    ] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Check once and exit.")] = False,
    state: Annotated[
        Path | None,
        typer.Option(help="A file keeping the last verified checkpoint between runs."),
    ] = None,
) -> None:
    """Follow a log: verify each checkpoint's signature and its consistency with the last.

    Prints one JSON line per new checkpoint. On a bad signature, an unexpected key, a fork or
    a rollback it prints why and exits non-zero (the code of the failed check).
    """
    verifier = read_log_key(log_key)
    witnesses = [read_witness_key(value) for value in witness_key or []]
    if min_cosignatures > len(witnesses):
        raise InvalidInput("--min-cosignatures needs as many --witness-key options")
    last = Note.from_bytes(state.read_bytes()) if state is not None and state.exists() else None
    is_url = url.startswith(("http://", "https://"))
    if not is_url and not Path(url).is_dir():
        raise InvalidInput(f"{url} is neither an http(s) URL nor a directory")
    client = BayflowClient(url.rstrip("/") + "/") if is_url else None
    try:
        follower = LogMonitor(
            _fetcher(url, client),
            verifier,
            witnesses=witnesses,
            quorum=min_cosignatures,
            last=last,
        )
        while True:
            checkpoint, new = follower.check()
            if new:
                print(
                    json.dumps(
                        {
                            "origin": checkpoint.origin,
                            "tree_size": checkpoint.size,
                            "root_hash": checkpoint.root_hash.hex(),
                        }
                    ),
                    flush=True,
                )
                if state is not None and follower.last is not None:
                    _write(state, follower.last.to_bytes())
            if once:
                return
            time.sleep(interval)
    finally:
        if client is not None:
            client.close()


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="ledger")
