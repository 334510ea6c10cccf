"""What every command that talks to a hub shares: ``--url``, ``--key`` and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.client import BayflowClient
from bayflow.config import load_settings
from bayflow.errors import ConfigurationError
from bayflow.identity.keyfile import KeyFile

__all__ = ["KeyOption", "UrlOption", "open_client", "print_json"]

DEFAULT_URL = "http://127.0.0.1:8000"

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The hub's address [env BAYFLOW_URL; default: the key file's hub]."),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="Key file to authenticate with [env BAYFLOW_KEY_FILE; default: the operator's].",
    ),
]


def key_file_path(key: Path | None) -> Path:
    settings = load_settings()
    path = key or settings.key_file
    if path is None:
        if settings.operator_key_file.exists():
            return settings.operator_key_file
        raise ConfigurationError("no key file: pass --key FILE or set BAYFLOW_KEY_FILE")
    return path


def open_client(url: str | None, key: Path | None) -> BayflowClient:
    key_file = KeyFile.read(key_file_path(key))
    settings = load_settings()
    return BayflowClient(url or settings.url or key_file.hub or DEFAULT_URL, key_file)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))
