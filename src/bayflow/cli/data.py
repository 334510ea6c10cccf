"""``bayflow data`` (fetch under a consent) and ``bayflow provider serve`` (answer requests)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from bayflow.api.provider import create_provider_app, fetch_hub_keys
from bayflow.api.server import uvicorn_options
from bayflow.cli._client import (
    DEFAULT_URL,
    KeyOption,
    UrlOption,
    key_file_path,
    open_client,
    print_json,
)
from bayflow.clock import utcnow
from bayflow.config import load_settings
from bayflow.errors import InvalidInput
from bayflow.exchange.provider import FileDataSource
from bayflow.identity.keyfile import EncryptionKey, KeyFile

data_group = typer.Typer(
    help="Fetch data under a consent; see who accessed it.", no_args_is_help=True
)
provider_group = typer.Typer(help="Run a reference data provider.", no_args_is_help=True)


def _ensure_encryption_key(path: Path) -> None:
    key_file = KeyFile.read(path)
    if key_file.encryption_key is None:
        replace(key_file, encryption_key=EncryptionKey.generate()).write(path, overwrite=True)


@data_group.command("fetch")
def fetch(
    consent: Annotated[str, typer.Argument(help="The consent id.")],
    product: Annotated[str, typer.Option(help="PROVIDER_ORG_ID/PRODUCT_ID.")],
    out: Annotated[Path, typer.Option(help="Where to write the decrypted payload.")],
    data_from: Annotated[str | None, typer.Option("--from", help="First date (ISO).")] = None,
    data_to: Annotated[str | None, typer.Option("--to", help="Last date (ISO).")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Fetch a product under a consent; the payload is decrypted here, never at the hub."""
    provider, slash, product_id = product.partition("/")
    if not slash:
        raise InvalidInput(f"product {product!r} is not PROVIDER_ORG_ID/PRODUCT_ID")
    path = key_file_path(key)
    _ensure_encryption_key(path)
    with open_client(url, path) as hub:
        fetched = hub.fetch_data(
            consent, provider, product_id, data_from=data_from, data_to=data_to
        )
        terms = hub.get(f"/consent/v1/consents/{consent}")["terms"]
    fetched_at = utcnow()
    out.write_bytes(fetched.plaintext)
    meta = {
        "consent": consent,
        "request": fetched.request_id,
        "provider": provider,
        "product": product_id,
        "ciphertext_sha256": fetched.ciphertext_sha256,
        "receipt": fetched.receipt,
        "fetched_at": fetched_at.isoformat(),
        "keep_until": (fetched_at + timedelta(days=int(terms["data_life_days"]))).isoformat(),
    }
    meta_path = _meta_path(out)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"request {fetched.request_id}: {len(fetched.plaintext)} bytes -> {out}")
    print(f"keep until {meta['keep_until']} (the consent's data life); receipt in {meta_path}")


def _meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".bayflow.json")


@data_group.command("purge")
def purge(
    files: Annotated[list[Path], typer.Argument(help="Fetched files (with their .bayflow.json).")],
    due_only: Annotated[
        bool, typer.Option("--due", help="Only files whose data life has ended.")
    ] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Delete fetched data and record a signed deletion receipt for each file."""
    now = utcnow()
    with open_client(url, key) as hub:
        for out in files:
            meta_path = _meta_path(out)
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"{meta_path}: not a fetch record") from exc
            if due_only and datetime.fromisoformat(meta["keep_until"]) > now:
                print(f"{out}: kept until {meta['keep_until']}")
                continue
            out.unlink(missing_ok=True)
            result = hub.record_deletion(
                meta["request"],
                consent_id=meta["consent"],
                ciphertext_sha256=meta["ciphertext_sha256"],
            )
            meta["deleted_at"] = result["deleted_at"]
            meta["deletion_receipt_digest"] = result["receipt_digest"]
            meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            print(f"{out}: deleted; receipt {result['receipt_digest'][:16]}… recorded")


@data_group.command("accesses")
def accesses(
    consent: Annotated[str, typer.Argument(help="The consent id.")],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Every request made under a consent (data owner, consumer and providers see it)."""
    with open_client(url, key) as hub:
        print_json(hub.get(f"/exchange/v1/consents/{consent}/accesses"))


@provider_group.command("serve")
def serve(
    data: Annotated[Path, typer.Option(help="Folder of data files (see the docs).")],
    key: Annotated[Path, typer.Option(help="The provider administrator's key file.")],
    hub: Annotated[
        str | None, typer.Option(help="The hub's address [default: key file's].")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
) -> None:
    """Answer consented requests routed by the hub from files in DATA."""
    if not data.is_dir():
        raise InvalidInput(f"{data} is not a folder")
    key_file = KeyFile.read(key)
    hub_url = (hub or load_settings().url or key_file.hub or DEFAULT_URL).rstrip("/")
    app = create_provider_app(
        data=FileDataSource(data),
        key_file=key_file,
        hub=hub_url,
        hub_keys=fetch_hub_keys(hub_url),
    )
    print(f"provider {key_file.organisation} on http://{host}:{port}/deliver; Ctrl-C stops it")
    uvicorn.run(app, host=host, port=port, **uvicorn_options())


def register(app: typer.Typer) -> None:
    app.add_typer(data_group, name="data")
    app.add_typer(provider_group, name="provider")
