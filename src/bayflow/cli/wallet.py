"""``bayflow wallet``: your organisation's credentials and documents (licences, permits)."""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bayflow.cli._client import KeyOption, UrlOption, open_client, print_json
from bayflow.errors import ConfigurationError, InvalidInput, VerificationFailed
from bayflow.identity.wallet import MAX_DOCUMENT_BYTES, DocumentKind

__all__ = ["register"]

wallet_group = typer.Typer(
    help="Your organisation's wallet: credentials and documents.", no_args_is_help=True
)


@wallet_group.command("list")
def list_wallet(url: UrlOption = None, key: KeyOption = None) -> None:
    """Every credential and document in your organisation's wallet."""
    with open_client(url, key) as hub:
        print_json(hub.get("/wallet"))


@wallet_group.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="The document: a PDF, an image, any file.")],
    kind: Annotated[DocumentKind, typer.Option(help="licence, permit, certificate or other.")],
    name: Annotated[str | None, typer.Option(help="Default: the file's name.")] = None,
    issuer: Annotated[str | None, typer.Option(help="Who issued the document.")] = None,
    reference: Annotated[str | None, typer.Option(help="Its number or reference.")] = None,
    expires: Annotated[str | None, typer.Option(help="Its expiry date, YYYY-MM-DD.")] = None,
    content_type: Annotated[
        str | None, typer.Option(help="Its media type; default: guessed from the name.")
    ] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Store a document in the wallet; the hub keeps it with its SHA-256 digest."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {file}: {exc.strerror}") from exc
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"{file} is larger than the wallet's {MAX_DOCUMENT_BYTES} bytes")
    if expires is not None:
        try:
            date.fromisoformat(expires)
        except ValueError as exc:
            raise InvalidInput(f"--expires {expires!r} is not a date like 2027-12-31") from exc
    media_type = content_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    params = {
        "kind": kind.value,
        "name": name or file.name,
        "issuer": issuer,
        "reference": reference,
        "expires_on": expires,
    }
    with open_client(url, key) as hub:
        document = hub.request(
            "POST",
            "/wallet/documents",
            content=content,
            params={k: v for k, v in params.items() if v is not None},
            headers={"Content-Type": media_type},
        ).json()
    print_json(document)


@wallet_group.command("download")
def download(
    document_id: Annotated[str, typer.Argument(help="The document's id.")],
    out: Annotated[Path, typer.Option(help="Where to write it.")],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Fetch a document, checking it against the digest recorded at upload."""
    with open_client(url, key) as hub:
        record = hub.get(f"/wallet/documents/{document_id}")
        content = hub.request("GET", f"/wallet/documents/{document_id}/content").content
    if hashlib.sha256(content).hexdigest() != record["sha256"]:
        raise VerificationFailed("the downloaded bytes do not match the recorded SHA-256")
    out.write_bytes(content)
    print(f"wrote {record['name']} ({record['size']} bytes, sha-256 {record['sha256']}) to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(wallet_group, name="wallet")
