"""``bayflow webhook``: where the hub sends your organisation's notifications."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bayflow.cli._client import KeyOption, UrlOption, open_client, print_json
from bayflow.exchange.notifications import EventType

webhook_group = typer.Typer(
    help="Webhooks: signed notifications of consent events and data ready (administrators).",
    no_args_is_help=True,
)


def _summary(webhook: dict[str, Any]) -> str:
    events = ", ".join(webhook["events"]) or "every event"
    return f"{webhook['id']} {webhook['url']} ({events})"


@webhook_group.command("add")
def add(
    target: Annotated[str, typer.Argument(metavar="URL", help="Where to POST notifications.")],
    event: Annotated[
        list[EventType] | None,
        typer.Option(help="Only this event type (repeatable); default every type."),
    ] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Subscribe a URL to your organisation's notifications."""
    body = {"url": target, "events": [e.value for e in event or ()]}
    with open_client(url, key) as hub:
        webhook = hub.post("/webhooks", body)
    print(f"added {_summary(webhook)}")
    print(f"deliveries are signed by the keys at {hub.url.rstrip('/')}/webhooks/jwks.json")


@webhook_group.command("list")
def list_webhooks(
    as_json: Annotated[bool, typer.Option("--json", help="Full JSON.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Your organisation's webhooks."""
    with open_client(url, key) as hub:
        webhooks = hub.get("/webhooks")
    if as_json:
        print_json(webhooks)
        return
    for webhook in webhooks:
        print(_summary(webhook))


@webhook_group.command("remove")
def remove(
    webhook: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id (whk_…).")],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Remove a webhook; messages not yet delivered to it are given up."""
    with open_client(url, key) as hub:
        hub.request("DELETE", f"/webhooks/{webhook}")
    print(f"removed {webhook}")


@webhook_group.command("deliveries")
def deliveries(
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 20,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Recent messages to your organisation and how their delivery went."""
    with open_client(url, key) as hub:
        print_json(hub.get("/webhooks/deliveries", params={"limit": limit}))


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_group, name="webhook")
