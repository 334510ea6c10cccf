"""``bayflow consent`` and ``bayflow product``: consents and the data products they name."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli._client import KeyOption, UrlOption, open_client, print_json
from bayflow.clock import utcnow
from bayflow.consent.lifecycle import ConsentAction
from bayflow.consent.models import ConsentTerms, FetchType, Frequency, FrequencyUnit, ProductScope
from bayflow.errors import InvalidInput
from bayflow.identity.models import Jurisdiction
from bayflow.ids import new_id

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
