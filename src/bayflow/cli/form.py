"""``bayflow form``: pre-filled forms — ask an organisation for profile fields, or answer.

The requester (a bank) runs ``form request`` and later ``form fetch``; a person of the asked
organisation whose mandate covers ``profile:share`` runs ``form approve``, which gets a
credential bound to their own key, makes the presentation of the chosen fields here, and
submits it. The requester checks what it received with ``bayflow credential verify``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli._client import KeyOption, UrlOption, open_client, print_json
from bayflow.cli.credential import comma_list, holder_key_for, write_or_print
from bayflow.clock import utcnow
from bayflow.crypto.jose import PrivateJWK
from bayflow.errors import Conflict, InvalidInput
from bayflow.identity.credentials import present
from bayflow.identity.errors import ClaimNotDisclosable
from bayflow.identity.forms import PROFILE_FIELDS

__all__ = ["register"]

form_group = typer.Typer(
    help="Pre-filled forms: ask an organisation for profile fields, or answer a request.",
    no_args_is_help=True,
)


class _Role(StrEnum):
    requester = "requester"
    subject = "subject"


FieldsOption = Annotated[
    list[str] | None,
    typer.Option(help=f"Comma-separated or repeated; any of {', '.join(sorted(PROFILE_FIELDS))}."),
]


@form_group.command("request")
def request(
    purpose: Annotated[str, typer.Option(help="Why, as the applicant will read it.")],
    fields: FieldsOption = None,
    to: Annotated[str | None, typer.Option(help="The organisation's id.")] = None,
    uscc: Annotated[str | None, typer.Option(help="...or its USCC.")] = None,
    brn: Annotated[str | None, typer.Option(help="...or its HK BRN.")] = None,
    mo_reg: Annotated[str | None, typer.Option(help="...or its Macao number.")] = None,
    audience: Annotated[
        str | None, typer.Option(help="How you name yourself to verify; default: your did:web.")
    ] = None,
    nonce: Annotated[str | None, typer.Option(help="Default: 128 random bits.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Ask an organisation to share named profile fields with you."""
    chosen = comma_list(fields)
    if not chosen:
        raise InvalidInput("name the fields to ask for with --fields")
    lookup = {"cn_uscc": uscc, "hk_brn": brn, "mo_registration": mo_reg}
    given = {k: v for k, v in lookup.items() if v}
    if (to is None) == (not given) or len(given) > 1:
        raise InvalidInput("name the organisation with one of --to, --uscc, --brn or --mo-reg")
    with open_client(url, key) as hub:
        subject = to or hub.get("/directory", params=given)["id"]
        made = hub.post(
            "/forms/requests",
            {
                "subject_org": subject,
                "fields": chosen,
                "purpose": purpose,
                "audience": audience,
                "nonce": nonce,
            },
        )
    print_json(made)


@form_group.command("list")
def list_requests(
    role: Annotated[
        _Role | None, typer.Option(help="requester (you asked) or subject (you were asked).")
    ] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Requests you made or received, newest first."""
    with open_client(url, key) as hub:
        found = hub.get("/forms/requests", params={"role": role.value} if role else None)
    print_json([{k: v for k, v in r.items() if k != "presentation"} for r in found])


@form_group.command("show")
def show(
    request_id: Annotated[str, typer.Argument()],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """One request and, once answered, its answer."""
    with open_client(url, key) as hub:
        print_json(hub.get(f"/forms/requests/{request_id}"))


def _disclosable(
    sd_jwt: str, fields: list[str], form: dict[str, Any], holder: PrivateJWK
) -> list[str]:
    """The requested fields this credential can disclose (an organisation may have no LEI)."""
    kept: list[str] = []
    for name in fields:
        try:
            present(sd_jwt, [name], holder, audience=form["audience"], nonce="probe", now=utcnow())
        except ClaimNotDisclosable:
            continue
        kept.append(name)
    return kept


@form_group.command("approve")
def approve(
    request_id: Annotated[str, typer.Argument()],
    fields: FieldsOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Share the chosen fields (default: every asked field your profile has).

    Needs a mandate covering profile:share. The presentation is made and signed here, with
    your own key.
    """
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        form = hub.get(f"/forms/requests/{request_id}")
        if form["state"] != "pending":
            raise Conflict(f"the form request is {form['state']}")
        credential = hub.post(f"/forms/requests/{request_id}/credential")
        sd_jwt = credential["sd_jwt"]
        holder = holder_key_for(sd_jwt, hub.key_file)
        chosen = comma_list(fields) or _disclosable(sd_jwt, form["fields"], form, holder)
        if not chosen:
            raise InvalidInput("your profile has none of the fields asked for")
        presentation = present(
            sd_jwt, chosen, holder, audience=form["audience"], nonce=form["nonce"], now=utcnow()
        )
        answered = hub.post(
            f"/forms/requests/{request_id}/approve",
            {"fields": chosen, "presentation": presentation},
        )
    print(
        f"approved {answered['id']}: shared {', '.join(answered['shared_fields'])} "
        f"with {answered['audience']}"
    )


@form_group.command("decline")
def decline(
    request_id: Annotated[str, typer.Argument()],
    reason: Annotated[str | None, typer.Option(help="Why, for the requester.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Refuse a request (needs a mandate covering profile:share)."""
    with open_client(url, key) as hub:
        answered = hub.post(f"/forms/requests/{request_id}/decline", {"reason": reason})
    print(f"declined {answered['id']}")


@form_group.command("fetch")
def fetch(
    request_id: Annotated[str, typer.Argument()],
    out: Annotated[Path | None, typer.Option(help="Write the presentation here.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """The presentation of the shared fields, once approved.

    Check it with ``bayflow credential verify``; its key binding was signed at approval, so
    give ``--max-age`` to cover the time since (``form show`` has ``decided_at``).
    """
    with open_client(url, key) as hub:
        form = hub.get(f"/forms/requests/{request_id}")
    if form["presentation"] is None:
        raise Conflict(f"the form request is {form['state']}: nothing to fetch yet")
    write_or_print(form["presentation"], out, "the presentation")


def register(app: typer.Typer) -> None:
    app.add_typer(form_group, name="form")
