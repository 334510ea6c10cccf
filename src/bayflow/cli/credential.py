"""``bayflow credential``: registry credentials (SD-JWT VC) — issue, present, verify, revoke.

Presenting and verifying happen on the caller's machine. ``present`` signs the key binding
with the key from the key file that the credential is bound to (the organisation key for a
business registration credential, the person's key for a signatory's), so the private key
never leaves the machine. ``verify`` needs no account and, given files, no network: the
issuer's metadata (``bayflow credential issuer --out FILE``) and, for revocation, a status
list (``bayflow credential status-list ID --out FILE``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from bayflow.cli._client import (
    DEFAULT_URL,
    KeyOption,
    UrlOption,
    key_file_path,
    open_client,
    print_json,
)
from bayflow.client import BayflowClient
from bayflow.clock import utcnow
from bayflow.config import load_settings
from bayflow.crypto.errors import CryptoError, UnknownKey
from bayflow.crypto.jose import (
    CompactJWS,
    JWKSet,
    KeyResolver,
    PrivateJWK,
    PublicJWK,
    loads_json_object,
)
from bayflow.errors import ConfigurationError, InvalidInput
from bayflow.identity.credentials import VerifiedCredential, verify_presentation
from bayflow.identity.credentials import present as make_presentation
from bayflow.identity.errors import MalformedCredential
from bayflow.identity.keyfile import KeyFile
from bayflow.identity.status_list import StatusChecker, StatusListChecker
from bayflow.identity.wallet import CredentialType

__all__ = [
    "comma_list",
    "fetch_text",
    "holder_key_for",
    "read_source",
    "register",
    "write_or_print",
]

credential_group = typer.Typer(
    help="Registry credentials (SD-JWT VC): issue, present, verify, revoke.",
    no_args_is_help=True,
)

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_ISSUER_METADATA_PATH = "/.well-known/jwt-vc-issuer"


# Helpers shared with ``bayflow form`` -------------------------------------------------------


def comma_list(values: list[str] | None) -> list[str]:
    """``--x a,b --x c`` → ``["a", "b", "c"]``."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch_text(url: str) -> str:
    """GET a public document (issuer metadata, a status list) from a hub."""
    parts = urlsplit(url)
    with BayflowClient(f"{parts.scheme}://{parts.netloc}") as client:
        return client.request("GET", url, auth=False).text


def read_source(source: str, what: str) -> str:
    """The text at ``source``: a URL, ``-`` for standard input, or a file."""
    if _is_url(source):
        return fetch_text(source)
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} from {source}: {exc.strerror}") from exc


def write_or_print(text: str, out: Path | None, what: str) -> None:
    if out is None:
        print(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {what} to {out}", file=sys.stderr)


def _holder_jwk(sd_jwt: str) -> PublicJWK:
    try:
        payload = CompactJWS.parse(sd_jwt.split("~", 1)[0]).claims()
        return PublicJWK.from_dict(payload["cnf"]["jwk"])
    except (CryptoError, KeyError, TypeError) as exc:
        raise MalformedCredential("this is not an SD-JWT VC bound to a holder key") from exc


def holder_key_for(sd_jwt: str, key_file: KeyFile) -> PrivateJWK:
    """The key in ``key_file`` that the credential's ``cnf`` names."""
    wanted = _holder_jwk(sd_jwt).thumbprint
    for pair in (key_file.organisation_key, key_file.person_key):
        if pair is None:
            continue
        candidate = PrivateJWK.from_signing_key(pair.signing_key)
        if candidate.public.thumbprint == wanted:
            return candidate
    raise InvalidInput(
        f"the credential is bound to key {wanted}, which this key file does not hold "
        "(a business registration credential is presented by an administrator)"
    )


def _duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"{text!r} is not a duration such as 300s, 5m, 2h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _public_client(url: str | None) -> BayflowClient:
    settings = load_settings()
    return BayflowClient(url or settings.url or DEFAULT_URL)


# Trust: the issuer's keys and the status list -------------------------------------------------


def _issuer_resolver(source: str, expected: str | None) -> KeyResolver:
    """A key resolver for the issuer described at ``source``.

    ``source`` holds SD-JWT VC issuer metadata (``{"issuer", "jwks"}``), which names the
    issuer, or a bare JWK Set, which trusts its keys for ``expected`` (or, without one, for
    whatever issuer the presentation names: the key is the trust anchor). A hub's bare address
    means its metadata.
    """
    if _is_url(source) and urlsplit(source).path in {"", "/"}:
        source = source.rstrip("/") + _ISSUER_METADATA_PATH
    try:
        document = loads_json_object(read_source(source, "issuer keys"), what="issuer keys")
        if "jwks" in document:
            named = document.get("issuer")
            if not isinstance(named, str):
                raise InvalidInput("issuer metadata without an issuer string")
            if expected is not None and expected != named:
                raise InvalidInput(f"the metadata is for {named}, not {expected}")
            expected, jwks = named, JWKSet.from_dict(document["jwks"])
        else:
            jwks = JWKSet.from_dict(document)
    except CryptoError as exc:
        raise InvalidInput(f"{source}: {exc.message}") from exc
    trusted = expected

    def resolve(issuer: str | None, kid: str | None) -> PublicJWK:
        if trusted is not None and issuer != trusted:
            raise UnknownKey(f"issuer {issuer!r} is not the trusted {trusted!r}")
        return jwks.get(kid)

    return resolve


def _status_checker(source: str, keys: KeyResolver) -> StatusChecker:
    if source == "auto":
        fetch: Callable[[str], str] = fetch_text
    else:
        text = read_source(source, "status list").strip()

        def fetch(_uri: str) -> str:
            return text

    return StatusListChecker(fetch, keys)


def _report(verified: VerifiedCredential, *, status_checked: bool) -> dict[str, Any]:
    status: dict[str, Any] | None = None
    if verified.status is not None:
        status = {
            "uri": verified.status.uri,
            "idx": verified.status.idx,
            "checked": status_checked,
            "state": "valid" if status_checked else "not checked",
        }
    return {
        "valid": True,
        "issuer": verified.issuer,
        "vct": verified.vct,
        "subject": verified.subject,
        "holder_kid": verified.holder.kid,
        "disclosed": sorted(verified.disclosed),
        "claims": verified.claims,
        "audience": verified.audience,
        "nonce": verified.nonce,
        "presented_at": verified.presented_at.isoformat(),
        "expires_at": verified.expires_at.isoformat() if verified.expires_at else None,
        "status": status,
    }


# Commands -------------------------------------------------------------------------------------


def _summary(credential: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in credential.items() if k != "sd_jwt"}


@credential_group.command("issue")
def issue(
    credential_type: Annotated[
        CredentialType,
        typer.Option("--type", help="business-registration or authorised-signatory."),
    ],
    person: Annotated[
        str | None, typer.Option(help="The signatory, for an authorised-signatory credential.")
    ] = None,
    mandate: Annotated[str | None, typer.Option(help="The mandate to attest.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the SD-JWT to this file.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Have the hub issue a registry credential into your organisation's wallet.

    Administrators issue both types; a signatory may ask for their own credential.
    """
    with open_client(url, key) as hub:
        issued = hub.post(
            "/wallet/credentials",
            {"type": credential_type.value, "person_id": person, "mandate_id": mandate},
        )
    if out is not None:
        write_or_print(issued["sd_jwt"], out, "the SD-JWT")
    print_json(_summary(issued))


@credential_group.command("list")
def list_credentials(url: UrlOption = None, key: KeyOption = None) -> None:
    """Your organisation's credentials and their status."""
    with open_client(url, key) as hub:
        print_json(hub.get("/wallet")["credentials"])


@credential_group.command("show")
def show(
    credential_id: Annotated[str, typer.Argument(help="The credential's id.")],
    out: Annotated[Path | None, typer.Option(help="Write the SD-JWT to this file.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """One credential; with --out, its SD-JWT (every disclosure: keep it private)."""
    with open_client(url, key) as hub:
        credential = hub.get(f"/wallet/credentials/{credential_id}")
    if out is not None:
        write_or_print(credential["sd_jwt"], out, "the SD-JWT")
    print_json(_summary(credential))


@credential_group.command("present")
def present(
    credential: Annotated[
        str, typer.Argument(help="A credential id in your wallet, or a file holding its SD-JWT.")
    ],
    audience: Annotated[str, typer.Option(help="The verifier, as it names itself.")],
    nonce: Annotated[str, typer.Option(help="The verifier's nonce for this presentation.")],
    disclose: Annotated[
        list[str] | None,
        typer.Option(help="Claims to disclose, comma-separated or repeated: legal_name,city."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the presentation here.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Disclose only the chosen claims, bound to the verifier's audience and nonce.

    The key binding is signed here with the holder key from your key file.
    """
    path = Path(credential)
    if path.is_file():
        sd_jwt = path.read_text(encoding="utf-8").strip()
        key_file = KeyFile.read(key_file_path(key))
    else:
        with open_client(url, key) as hub:
            assert hub.key_file is not None
            sd_jwt = hub.get(f"/wallet/credentials/{credential}")["sd_jwt"]
            key_file = hub.key_file
    presentation = make_presentation(
        sd_jwt,
        comma_list(disclose),
        holder_key_for(sd_jwt, key_file),
        audience=audience,
        nonce=nonce,
        now=utcnow(),
    )
    write_or_print(presentation, out, "the presentation")


@credential_group.command("verify")
def verify(
    presentation: Annotated[str, typer.Argument(help="A file holding the presentation, or -.")],
    issuer_jwks: Annotated[
        str,
        typer.Option(
            help="Issuer metadata or a JWK Set: a file (offline) or a URL (a hub's address "
            "means its /.well-known/jwt-vc-issuer)."
        ),
    ],
    audience: Annotated[str, typer.Option(help="Who you are: the presentation's aud.")],
    nonce: Annotated[str, typer.Option(help="The nonce you gave the holder.")],
    status: Annotated[
        str | None,
        typer.Option(
            help="Check revocation against a status list: a file, a URL, or 'auto' to fetch "
            "the list the credential names. Without it, status is not checked."
        ),
    ] = None,
    issuer: Annotated[
        str | None, typer.Option(help="The issuer to expect (for a bare JWK Set).")
    ] = None,
    vct: Annotated[str | None, typer.Option(help="The credential type to expect.")] = None,
    max_age: Annotated[
        str, typer.Option(help="Oldest key binding accepted: 300s, 5m, 2h, 7d.")
    ] = "5m",
) -> None:
    """Verify a presentation: issuer signature, disclosures, key binding, and status.

    Prints what it proves; exits non-zero, saying why, if it does not verify.
    """
    text = read_source(presentation, "presentation").strip()
    keys = _issuer_resolver(issuer_jwks, issuer)
    checker = _status_checker(status, keys) if status is not None else None
    verified = verify_presentation(
        text,
        keys,
        audience=audience,
        nonce=nonce,
        now=utcnow(),
        status_checker=checker,
        max_kb_age=_duration(max_age),
        vct=vct,
    )
    print_json(_report(verified, status_checked=checker is not None))


def _set_state(
    action: str, credential_id: str, reason: str | None, url: str | None, key: Path | None
) -> None:
    with open_client(url, key) as hub:
        result = hub.post(f"/wallet/credentials/{credential_id}/{action}", {"reason": reason})
    print(
        f"{result['id']} is {result['state']} (status list {result['status_list']['uri']}, "
        f"entry {result['status_list']['idx']})"
    )


ReasonOption = Annotated[str | None, typer.Option(help="Why, for the record.")]


@credential_group.command("revoke")
def revoke(
    credential_id: Annotated[str, typer.Argument()],
    reason: ReasonOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Revoke a credential for good (administrators, or the operator)."""
    _set_state("revoke", credential_id, reason, url, key)


@credential_group.command("suspend")
def suspend(
    credential_id: Annotated[str, typer.Argument()],
    reason: ReasonOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Suspend a credential until it is reinstated."""
    _set_state("suspend", credential_id, reason, url, key)


@credential_group.command("reinstate")
def reinstate(
    credential_id: Annotated[str, typer.Argument()],
    reason: ReasonOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Lift a suspension."""
    _set_state("reinstate", credential_id, reason, url, key)


@credential_group.command("issuer")
def issuer_metadata(
    out: Annotated[Path | None, typer.Option(help="Write the metadata here.")] = None,
    url: UrlOption = None,
) -> None:
    """The hub's credential issuer metadata and keys, for offline verification."""
    with _public_client(url) as hub:
        text = hub.request("GET", _ISSUER_METADATA_PATH, auth=False).text
    write_or_print(text, out, "the issuer metadata")


@credential_group.command("status-list")
def status_list(
    status_list_id: Annotated[str, typer.Argument(help="The list's number or its URL.")],
    out: Annotated[Path | None, typer.Option(help="Write the token here.")] = None,
    url: UrlOption = None,
) -> None:
    """Fetch a signed status list (statuslist+jwt), for offline revocation checks."""
    if _is_url(status_list_id):
        text = fetch_text(status_list_id)
    else:
        with _public_client(url) as hub:
            text = hub.request("GET", f"/status-lists/{status_list_id}", auth=False).text
    write_or_print(text, out, "the status list")


def register(app: typer.Typer) -> None:
    app.add_typer(credential_group, name="credential")
