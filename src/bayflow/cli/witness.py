"""``bayflow witness``: run a C2SP tlog-witness that cosigns the hub's checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from bayflow.api.server import uvicorn_options
from bayflow.api.witness import WitnessStateFile, create_witness_app
from bayflow.cli._keys import read_log_key, read_witness_signer, write_secret
from bayflow.cli._state import state
from bayflow.ledger.cosignature import CosignatureSigner
from bayflow.ledger.witness import Witness
from bayflow.logs import configure_logging

witness_group = typer.Typer(
    help="A witness: cosigns a log's checkpoints, never a fork (c2sp.org/tlog-witness).",
    no_args_is_help=True,
)

KeyFileOption = Annotated[
    Path, typer.Option("--key-file", help="The witness's private key file (PRIVATE+KEY+…).")
]


@witness_group.command("keygen")
def keygen(
    key_file: KeyFileOption,
    name: Annotated[
        str, typer.Option(help="The witness's key name, a schema-less URL: witness.example/hk1.")
    ],
) -> None:
    """Create a witness key; print its verifier key for the hub's and verifiers' policies."""
    signer = CosignatureSigner.generate(name)
    write_secret(key_file, f"{signer.skey}\n".encode())
    print(signer.verifier().vkey)


@witness_group.command("vkey")
def vkey(key_file: KeyFileOption) -> None:
    """Print the verifier key of a witness key file."""
    print(read_witness_signer(key_file).verifier().vkey)


@witness_group.command("serve")
def serve(
    key_file: KeyFileOption,
    log_key: Annotated[
        list[str],
        typer.Option(help="A log's verifier key, or a file holding it (repeatable)."),
    ],
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--state", help="Where the witness keeps what it cosigned (default: KEY_FILE.state)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 7380,
) -> None:
    """Serve POST /add-checkpoint and GET /<origin hash>/checkpoint until Ctrl-C."""
    signer = read_witness_signer(key_file)
    logs = [read_log_key(value) for value in log_key]
    path = state_file or key_file.with_name(key_file.name + ".state")
    configure_logging(state.log_format, "debug" if state.debug else "info")
    with WitnessStateFile.open(path) as store:
        witness = Witness(signer, logs, state=store.load(), persist=store.save)
        print(f"Witness {signer.name} on http://{host}:{port} (state {path}); Ctrl-C stops it")
        print(f"Verifier key: {signer.verifier().vkey}")
        for origin in witness.origins:
            print(f"Following log: {origin}")
        uvicorn.run(
            create_witness_app(witness),
            host=host,
            port=port,
            **uvicorn_options(),
        )


def register(app: typer.Typer) -> None:
    app.add_typer(witness_group, name="witness")
