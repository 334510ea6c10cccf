"""``bayflow ca export``: the hub's CA certificate, the trust root for its PAdES signatures."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from bayflow.cli._client import UrlOption
from bayflow.client import BayflowClient
from bayflow.clock import utcnow
from bayflow.config import load_settings
from bayflow.crypto.pki import CA_CERTIFICATE_FILE, export_ca_certificate
from bayflow.errors import ConfigurationError, InvalidInput
from bayflow.hub import ca_directory

__all__ = ["ca_summary", "fetch_ca_certificate", "register"]

ca_group = typer.Typer(help="The hub's organisational certificate authority.", no_args_is_help=True)


def fetch_ca_certificate(url: str) -> bytes:
    """The CA certificate a hub publishes at ``/ca.pem``, checked to be a CA certificate."""
    with BayflowClient(url) as hub:
        certificate = hub.request("GET", "/ca.pem", auth=False).content
    ca_summary(certificate)
    return certificate


def ca_summary(certificate_pem: bytes) -> str:
    """``subject, SHA-256 fingerprint`` of a PEM CA certificate, for comparing out of band."""
    try:
        _type, _headers, der = pem.unarmor(certificate_pem)
        certificate = asn1_x509.Certificate.load(der)
        subject = certificate.subject.human_friendly
        is_ca = certificate.ca
    except (ValueError, TypeError) as exc:
        raise InvalidInput("not a PEM certificate") from exc
    if not is_ca:
        raise InvalidInput(f"the certificate of {subject} is not a CA certificate")
    fingerprint = hashlib.sha256(der).hexdigest().upper()
    pairs = ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2))
    return f"{subject}\nSHA-256 fingerprint {pairs}"


@ca_group.command("export")
def export(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Write the CA certificate (PEM): from this machine's hub data, or a hub's with --url.

    Relying parties install it to validate PDF signatures made through the hub, e.g.
    `bayflow verify-signature --ca FILE`. Compare the fingerprint printed with one the hub's
    operator publishes before trusting a certificate fetched over the network.
    """
    if url is not None:
        certificate = fetch_ca_certificate(url)
    else:
        settings = load_settings()
        directory = ca_directory(settings)
        if not (directory / CA_CERTIFICATE_FILE).is_file():
            raise ConfigurationError(
                f"no CA in {directory}: start the hub once (bayflow serve), "
                "or fetch a hub's with --url"
            )
        certificate = export_ca_certificate(directory, now=utcnow())
    summary = ca_summary(certificate)
    if out is None:
        sys.stdout.write(certificate.decode("ascii"))
        print(summary, file=sys.stderr)
        return
    out.write_bytes(certificate)
    print(f"wrote {out}: {summary}")


def register(app: typer.Typer) -> None:
    app.add_typer(ca_group, name="ca")
