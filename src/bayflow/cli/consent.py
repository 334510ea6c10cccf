"""``bayflow consent`` and ``bayflow product``: consents and the data products they name."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli._client import KeyOption, UrlOption, open_client, print_json
from bayflow.cli._keys import read_log_key, read_witness_key
from bayflow.clock import utcnow
from bayflow.consent.lifecycle import ConsentAction
from bayflow.consent.models import ConsentTerms, FetchType, Frequency, FrequencyUnit, ProductScope
from bayflow.consent.service import EVENT_SCHEMA
from bayflow.errors import BayflowError, InvalidInput
from bayflow.exchange.requests import DELETION_SCHEMA, RECEIPT_SCHEMA
from bayflow.identity.models import Jurisdiction
from bayflow.ids import new_id
from bayflow.ledger.audit import NotYetProven, verify_anchored
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.errors import InclusionProofInvalid

consent_group = typer.Typer(help="Consents: request, approve, revoke, list.", no_args_is_help=True)
product_group = typer.Typer(help="Data products: publish and list.", no_args_is_help=True)

_DURATION = re.compile(r"(\d+)([dwmy])")
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def _days(text: str, what: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"{what} {text!r} is not like 90d, 6m or 1y")
    return timedelta(days=int(match.group(1)) * _DAYS[match.group(2)])


def _frequency(text: str) -> Frequency:
    count, _, unit = text.partition("/")
    try:
        return Frequency(FrequencyUnit(unit), int(count))
    except ValueError as exc:
        raise InvalidInput(f"frequency {text!r} is not like 1/month") from exc


def _product(text: str) -> ProductScope:
    provider, slash, product = text.partition("/")
    if not slash:
        raise InvalidInput(f"product {text!r} is not PROVIDER_ORG_ID/PRODUCT_ID")
    return ProductScope(provider, product)


def _summary(view: dict[str, Any]) -> str:
    terms = view["terms"]
    products = ", ".join(f"{p['provider']}/{p['product']}" for p in terms["products"])
    return (
        f"{view['id']} v{view['version']} {view['state']}: {terms['consumer']} <- "
        f"{terms['data_owner']} [{products}] for {terms['purpose']['code']}, "
        f"expires {terms['expires_at']}"
    )


@consent_group.command("request")
def request(
    owner: Annotated[str, typer.Option(help="The data owner's organisation id.")],
    product: Annotated[list[str], typer.Option(help="PROVIDER_ORG_ID/PRODUCT_ID (repeatable).")],
    purpose_code: Annotated[str, typer.Option(help="e.g. credit-assessment.")],
    purpose: Annotated[str, typer.Option(help="The purpose in words.")],
    data_from: Annotated[str, typer.Option("--from", help="First date of the data (ISO).")],
    data_to: Annotated[str, typer.Option("--to", help="Last date of the data (ISO).")],
    origin: Annotated[Jurisdiction, typer.Option(help="Where the data is (HK, MO, CN).")],
    destination: Annotated[Jurisdiction, typer.Option(help="Where it goes (HK, MO, CN).")],
    frequency: Annotated[
        str | None, typer.Option(help="Periodic fetches, e.g. 1/month; omit for one fetch.")
    ] = None,
    data_life: Annotated[str, typer.Option(help="How long you keep the data: 90d.")] = "90d",
    expires_in: Annotated[str, typer.Option(help="Consent lifetime: 6m.")] = "6m",
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Ask a data owner for consent (as the consumer); you sign the request."""
    try:
        first, last = date.fromisoformat(data_from), date.fromisoformat(data_to)
    except ValueError as exc:
        raise InvalidInput("--from and --to are ISO dates (2024-11-01)") from exc
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        now = utcnow().replace(microsecond=0)
        terms = ConsentTerms(
            id=new_id("con"),
            version=1,
            data_owner=owner,
            consumer=hub.key_file.organisation,
            products=tuple(_product(p) for p in product),
            purpose_code=purpose_code,
            purpose_text=purpose,
            data_from=first,
            data_to=last,
            fetch_type=FetchType.PERIODIC if frequency else FetchType.ONCE,
            frequency=_frequency(frequency) if frequency else None,
            data_life=_days(data_life, "--data-life"),
            expires_at=now + _days(expires_in, "--expires-in"),
            origin=origin,
            destination=destination,
            created_at=now,
        )
        view = hub.request_consent(terms)
    print(_summary(view))


@consent_group.command("amend")
def amend(
    consent: Annotated[str, typer.Argument(help="The consent id.")],
    product: Annotated[
        list[str] | None, typer.Option(help="Replace the products (repeatable).")
    ] = None,
    data_from: Annotated[str | None, typer.Option("--from", help="New first date (ISO).")] = None,
    data_to: Annotated[str | None, typer.Option("--to", help="New last date (ISO).")] = None,
    frequency: Annotated[str | None, typer.Option(help="New limit, e.g. 2/month.")] = None,
    data_life: Annotated[str | None, typer.Option(help="New data life, e.g. 30d.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="New lifetime from now: 3m.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Request a new version of a consent (the consumer); the owner must approve it again."""
    with open_client(url, key) as hub:
        current = ConsentTerms.from_json(hub.get(f"/consent/v1/consents/{consent}")["terms"])
        now = utcnow().replace(microsecond=0)
        try:
            first = date.fromisoformat(data_from) if data_from else current.data_from
            last = date.fromisoformat(data_to) if data_to else current.data_to
        except ValueError as exc:
            raise InvalidInput("--from and --to are ISO dates (2024-11-01)") from exc
        limit = _frequency(frequency) if frequency else current.frequency
        terms = replace(
            current,
            version=current.version + 1,
            previous_digest=current.digest(),
            products=tuple(_product(p) for p in product) if product else current.products,
            data_from=first,
            data_to=last,
            fetch_type=FetchType.PERIODIC if limit else FetchType.ONCE,
            frequency=limit,
            data_life=_days(data_life, "--data-life") if data_life else current.data_life,
            expires_at=now + _days(expires_in, "--expires-in")
            if expires_in
            else current.expires_at,
            created_at=now,
        )
        view = hub.request_consent(terms)
    print(_summary(view))


def _act(action: ConsentAction, consent: str, url: str | None, key: Path | None) -> None:
    with open_client(url, key) as hub:
        view = hub.act_on_consent(consent, action)
    print(_summary(view))


@consent_group.command("approve")
def approve(consent: str, url: UrlOption = None, key: KeyOption = None) -> None:
    """Approve a consent for your organisation (needs a mandate); you sign it."""
    _act(ConsentAction.APPROVE, consent, url, key)


@consent_group.command("reject")
def reject(consent: str, url: UrlOption = None, key: KeyOption = None) -> None:
    """Reject a requested consent."""
    _act(ConsentAction.REJECT, consent, url, key)


@consent_group.command("pause")
def pause(consent: str, url: UrlOption = None, key: KeyOption = None) -> None:
    """Pause an active consent: no fetches until resumed."""
    _act(ConsentAction.PAUSE, consent, url, key)


@consent_group.command("resume")
def resume(consent: str, url: UrlOption = None, key: KeyOption = None) -> None:
    """Resume a paused consent."""
    _act(ConsentAction.RESUME, consent, url, key)


@consent_group.command("revoke")
def revoke(consent: str, url: UrlOption = None, key: KeyOption = None) -> None:
    """Revoke a consent: the next fetch under it is refused."""
    _act(ConsentAction.REVOKE, consent, url, key)


@consent_group.command("list")
def list_consents(
    as_json: Annotated[bool, typer.Option("--json", help="Full JSON.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Every consent your organisation is party to, with its state now."""
    with open_client(url, key) as hub:
        views = hub.get("/consent/v1/consents")
    if as_json:
        print_json(views)
        return
    for view in views:
        print(_summary(view))


@consent_group.command("show")
def show(consent: str, url: UrlOption = None, key: KeyOption = None) -> None:
    """One consent: terms, state and every signed event."""
    with open_client(url, key) as hub:
        print_json(hub.get(f"/consent/v1/consents/{consent}"))


_Check = tuple[str, EntryKind, str, str, str]


def _audit_checks(view: dict[str, Any], accesses: list[dict[str, Any]]) -> list[_Check]:
    """What the hub should have anchored for a consent: its events and every receipt."""
    terms = view["terms"]
    checks: list[_Check] = [
        (f"event {e['seq']} {e['action']}", EntryKind.CONSENT_EVENT, e["digest"],
         EVENT_SCHEMA, terms["data_owner"])
        for e in view["events"]
    ]  # fmt: skip
    for access in accesses:
        if access["receipt_digest"]:
            checks.append(
                (f"receipt {access['id']}", EntryKind.ACCESS_RECEIPT,
                 access["receipt_digest"], RECEIPT_SCHEMA, access["provider"])
            )  # fmt: skip
        if access.get("deletion_receipt"):
            digest = hashlib.sha256(access["deletion_receipt"].encode("ascii")).hexdigest()
            checks.append(
                (f"deletion {access['id']}", EntryKind.DELETION_RECEIPT, digest,
                 DELETION_SCHEMA, access["consumer"])
            )  # fmt: skip
    return checks


@consent_group.command("audit")
def audit(
    consent: Annotated[str, typer.Argument(help="The consent id.")],
    log_key: Annotated[str, typer.Option(help="The ledger's verifier key, or a file holding it.")],
    witness_key: Annotated[
        list[str] | None, typer.Option(help="A witness's verifier key or file (repeatable).")
    ] = None,
    min_cosignatures: Annotated[
        int | None, typer.Option(help="Witness cosignatures required [default: all given].")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for recent entries.")] = 10.0,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Check every signed event and every receipt of a consent against the ledger.

    Each proof is verified here, against the log key and witness keys you give: the hub's word
    is not taken for any of it.
    """
    log_verifier = read_log_key(log_key)
    witnesses = [read_witness_key(k) for k in witness_key or []]
    with open_client(url, key) as hub:
        versions = [hub.get(f"/consent/v1/consents/{consent}")]
        accesses = hub.get(f"/exchange/v1/consents/{consent}/accesses")
        checks = _audit_checks(versions[0], accesses)
        failures = 0
        for label, kind, digest_hex, schema, issuer in checks:
            # An entry anchored a moment ago waits for the next checkpoint (about a second).
            deadline = time.monotonic() + wait
            while True:
                status = hub.request("GET", f"/ledger/v1/status/{digest_hex}", auth=False).json()
                try:
                    index = verify_anchored(
                        status,
                        kind=kind,
                        digest=bytes.fromhex(digest_hex),
                        schema=schema,
                        issuer=issuer,
                        log_verifier=log_verifier,
                        witnesses=witnesses,
                        min_cosignatures=min_cosignatures,
                    )
                except NotYetProven:
                    if time.monotonic() < deadline:
                        time.sleep(0.25)
                        continue
                    failures += 1
                    print(f"WAIT  {label}: not in a published checkpoint after {wait:g} s")
                except BayflowError as exc:
                    failures += 1
                    print(f"FAIL  {label}: {exc.message}")
                else:
                    print(f"ok    {label}: ledger entry {index}")
                break
    if failures:
        raise typer.Exit(InclusionProofInvalid.exit_code)


@product_group.command("publish")
def publish(
    spec: Annotated[Path, typer.Argument(help="JSON file describing the product.")],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Publish a data product of your organisation (administrators)."""
    try:
        body = json.loads(spec.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{spec}: not a readable JSON file") from exc
    with open_client(url, key) as hub:
        product = hub.post("/exchange/v1/products", body)
    print(f"published {product['provider']}/{product['id']}: {product['title_en']}")


@product_group.command("list")
def list_products(
    provider: Annotated[str | None, typer.Option(help="Only this provider's.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Published data products."""
    with open_client(url, key) as hub:
        params = {"provider": provider} if provider else None
        print_json(hub.get("/exchange/v1/products", params=params))


def register(app: typer.Typer) -> None:
    app.add_typer(consent_group, name="consent")
    app.add_typer(product_group, name="product")
