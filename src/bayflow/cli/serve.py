"""``bayflow serve``: run the hub."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from bayflow.api.server import uvicorn_options
from bayflow.cli._state import state
from bayflow.config import load_settings
from bayflow.hub import bootstrap
from bayflow.logs import get_logger
from bayflow.store import Database, current_revision, head_revision

_log = get_logger("bayflow.cli")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
        workers: Annotated[
            int | None, typer.Option(min=1, max=64, help="Worker processes.")
        ] = None,
    ) -> None:
        """Run the hub's HTTP API until Ctrl-C."""
        overrides = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
        settings = load_settings(**overrides)
        # Worker processes build their own app from the environment: hand them what was
        # decided here.
        os.environ["BAYFLOW_LOG_FORMAT"] = state.log_format
        # The address names the hub (its token issuer, its did:web documents) unless a public
        # URL is set; workers must see the one chosen on this command line.
        os.environ["BAYFLOW_HOST"] = settings.host
        os.environ["BAYFLOW_PORT"] = str(settings.port)
        os.environ["BAYFLOW_LOG_LEVEL"] = "debug" if state.debug else settings.log_level

        database = Database(settings.effective_database_url)
        try:
            current = current_revision(database)
            if current == head_revision():
                # First start: the hub's key and its operator (written to operator.key).
                bootstrap(settings, database)
        finally:
            database.dispose()
        if current != head_revision():
            # Serve anyway: /readyz answers 503 until the migrations are applied, which is
            # what an orchestrator doing a rolling upgrade expects.
            _log.warning(
                "database migrations are not current; /readyz will report not ready",
                current=current,
                head=head_revision(),
            )

        address = f"http://{settings.host}:{settings.port}"
        print(f"Bayflow hub on {address} (database {database.display_url}); Ctrl-C stops it")
        if settings.operator_key_file.exists():
            print(f"Operator key file: {settings.operator_key_file}")
        uvicorn.run(
            "bayflow.api.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            **uvicorn_options(),
        )
