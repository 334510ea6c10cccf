"""``bayflow version``."""

from __future__ import annotations

import typer

from bayflow import __version__


def register(app: typer.Typer) -> None:
    @app.command("version")
    def version() -> None:
        """Print the installed Bayflow version."""
        print(f"bayflow {__version__}")
