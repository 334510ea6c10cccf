"""``bayflow org``, ``bayflow person``, ``bayflow mandate``, ``bayflow key``: Corp ID."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli._client import KeyOption, UrlOption, key_file_path, open_client, print_json
from bayflow.crypto.jwt import b64url_encode
from bayflow.errors import InvalidInput
from bayflow.identity.keyfile import KeyFile, KeyPair
from bayflow.identity.models import City, Jurisdiction, Role
from bayflow.identity.service import registry_identifiers

org_group = typer.Typer(help="Organisations (Corp ID).", no_args_is_help=True)
person_group = typer.Typer(
    help="People of your organisation and their roles.", no_args_is_help=True
)
mandate_group = typer.Typer(
    help="Signing mandates: who may bind your organisation.", no_args_is_help=True
)
key_group = typer.Typer(help="Keys: rotate yours or your organisation's.", no_args_is_help=True)


def _money(text: str | None) -> dict[str, Any] | None:
    """``"HKD 1000000"`` or ``"HKD1,000,000"`` as the API's money object."""
    if text is None:
        return None
    compact = text.replace(",", "").replace(" ", "")
    currency, amount = compact[:3].upper(), compact[3:]
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise InvalidInput(f"amount {text!r} is not like 'HKD 1000000'") from exc
    if not currency.isalpha() or value <= 0:
        raise InvalidInput(f"amount {text!r} is not like 'HKD 1000000'")
    return {"currency": currency, "amount": str(value)}


@org_group.command("register")
def register_organisation(
    name: Annotated[str, typer.Option(help="Legal name in English.")],
    jurisdiction: Annotated[Jurisdiction, typer.Option(help="HK, MO or CN.")],
    city: Annotated[str, typer.Option(help="One of the 11 GBA cities, or 'outside GBA'.")],
    key_out: Annotated[Path, typer.Option(help="Where to write the administrator's key file.")],
    name_zh: Annotated[str | None, typer.Option(help="Legal name in Chinese.")] = None,
    brn: Annotated[str | None, typer.Option(help="HK Business Registration Number.")] = None,
    uscc: Annotated[str | None, typer.Option(help="Mainland Unified Social Credit Code.")] = None,
    mo_reg: Annotated[str | None, typer.Option(help="Macao registration number.")] = None,
    lei: Annotated[str | None, typer.Option(help="Legal Entity Identifier (ISO 17442).")] = None,
    admin_name: Annotated[str | None, typer.Option(help="The administrator's name.")] = None,
    admin_role: Annotated[
        list[Role] | None, typer.Option(help="Further roles of the administrator (repeatable).")
    ] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Admit an organisation (operator) and write its administrator's key file.

    The keys are made here: only the public halves go to the hub.
    """
    # Check locally first: a typo should not cost a round trip, and the message is the same.
    registry_identifiers(jurisdiction, hk_brn=brn, cn_uscc=uscc, mo_registration=mo_reg, lei=lei)
    City.parse(city)
    if key_out.exists():
        raise InvalidInput(f"{key_out} exists: refusing to overwrite a key file")
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    with open_client(url, key) as hub:
        result = hub.post(
            "/orgs",
            {
                "legal_name_en": name,
                "legal_name_zh": name_zh,
                "jurisdiction": jurisdiction.value,
                "city": city,
                "identifiers": {
                    "hk_brn": brn,
                    "cn_uscc": uscc,
                    "mo_registration": mo_reg,
                    "lei": lei,
                },
                "administrator": {
                    "name": admin_name or f"{name} administrator",
                    "roles": [r.value for r in admin_role or []],
                    "public_key": b64url_encode(admin.public_key),
                },
                "organisation_public_key": b64url_encode(org_key.public_key),
            },
        )
        hub_url = hub.url
    KeyFile(
        hub=hub_url,
        organisation=result["organisation"]["id"],
        person=result["administrator"]["id"],
        person_key=admin,
        organisation_key=org_key,
    ).write(key_out)
    org = result["organisation"]
    print(f"registered {org['id']} {org['legal_name_en']} ({org['jurisdiction']}, {org['city']})")
    print(f"did: {org['did']}")
    print(f"administrator {result['administrator']['id']}: key file {key_out}")


@org_group.command("list")
def list_orgs(url: UrlOption = None, key: KeyOption = None) -> None:
    """Organisations you can see (the operator sees all)."""
    with open_client(url, key) as hub:
        print_json(hub.get("/orgs"))


@org_group.command("show")
def show(
    organisation: Annotated[str | None, typer.Argument(help="Default: your own.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """One organisation, its people and mandates."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        org_id = organisation or hub.key_file.organisation
        print_json(
            {
                "organisation": hub.get(f"/orgs/{org_id}"),
                "people": hub.get(f"/orgs/{org_id}/people"),
                "mandates": hub.get(f"/orgs/{org_id}/mandates"),
            }
        )


@org_group.command("find")
def find(
    brn: Annotated[str | None, typer.Option()] = None,
    uscc: Annotated[str | None, typer.Option()] = None,
    mo_reg: Annotated[str | None, typer.Option()] = None,
    lei: Annotated[str | None, typer.Option()] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Look an organisation up by a registry number."""
    params = {"hk_brn": brn, "cn_uscc": uscc, "mo_registration": mo_reg, "lei": lei}
    given = {k: v for k, v in params.items() if v}
    if not given:
        raise InvalidInput("give one of --brn, --uscc, --mo-reg or --lei")
    with open_client(url, key) as hub:
        print_json(hub.get("/directory", params=given))


@org_group.command("did")
def did(
    organisation: Annotated[str | None, typer.Argument(help="Default: your own.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """The organisation's did:web document."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        org_id = organisation or hub.key_file.organisation
        print_json(hub.request("GET", f"/orgs/{org_id}/did.json", auth=False).json())


@org_group.command("whoami")
def whoami(url: UrlOption = None, key: KeyOption = None) -> None:
    """Who your key file says you are, as the hub knows you."""
    with open_client(url, key) as hub:
        print_json(hub.whoami())


@person_group.command("add")
def add_person(
    name: Annotated[str, typer.Option(help="Full name.")],
    key_out: Annotated[Path, typer.Option(help="Where to write the person's key file.")],
    role: Annotated[list[Role] | None, typer.Option(help="A role (repeatable).")] = None,
    name_zh: Annotated[str | None, typer.Option(help="Name in Chinese.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Add a person to your organisation (administrators) and write their key file."""
    if key_out.exists():
        raise InvalidInput(f"{key_out} exists: refusing to overwrite a key file")
    pair = KeyPair.generate()
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        org_id = hub.key_file.organisation
        person = hub.post(
            f"/orgs/{org_id}/people",
            {
                "name": name,
                "name_zh": name_zh,
                "roles": [r.value for r in role or []],
                "public_key": b64url_encode(pair.public_key),
            },
        )
        KeyFile(hub=hub.url, organisation=org_id, person=person["id"], person_key=pair).write(
            key_out
        )
    print(f"added {person['id']} {person['name']} ({', '.join(person['roles']) or 'no role'})")
    print(f"key file {key_out}")


@person_group.command("list")
def list_people(url: UrlOption = None, key: KeyOption = None) -> None:
    """People of your organisation."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        print_json(hub.get(f"/orgs/{hub.key_file.organisation}/people"))


@person_group.command("roles")
def set_roles(
    person: Annotated[str, typer.Argument(help="The person's id.")],
    role: Annotated[list[Role], typer.Option(help="A role (repeatable); the full new set.")],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Replace a person's roles (administrators)."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        print_json(
            hub.put(
                f"/orgs/{hub.key_file.organisation}/people/{person}/roles",
                {"roles": [r.value for r in role]},
            )
        )


@mandate_group.command("add")
def add_mandate(
    description: Annotated[str, typer.Option(help="As the board resolution words it.")],
    min_signers: Annotated[int, typer.Option(help="How many must sign together.")] = 1,
    role: Annotated[Role | None, typer.Option(help="Signers must hold this role.")] = None,
    person: Annotated[
        list[str] | None, typer.Option(help="Only these people (repeatable).")
    ] = None,
    action: Annotated[
        list[str] | None, typer.Option(help="Only these actions, e.g. consent:approve.")
    ] = None,
    limit: Annotated[str | None, typer.Option(help="Monetary limit, e.g. 'HKD 1000000'.")] = None,
    valid_from: Annotated[str | None, typer.Option("--from", help="ISO 8601 start.")] = None,
    valid_until: Annotated[str | None, typer.Option("--until", help="ISO 8601 end.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Record a signing mandate (administrators)."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        print_json(
            hub.post(
                f"/orgs/{hub.key_file.organisation}/mandates",
                {
                    "description": description,
                    "min_signers": min_signers,
                    "role": role.value if role else None,
                    "persons": person or [],
                    "actions": action or [],
                    "limit": _money(limit),
                    "valid_from": valid_from,
                    "valid_until": valid_until,
                },
            )
        )


@mandate_group.command("list")
def list_mandates(url: UrlOption = None, key: KeyOption = None) -> None:
    """Your organisation's mandates."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        print_json(hub.get(f"/orgs/{hub.key_file.organisation}/mandates"))


@mandate_group.command("check")
def check(
    signer: Annotated[list[str], typer.Option(help="A signer's person id (repeatable).")],
    action: Annotated[str, typer.Option(help="e.g. consent:approve, loan:sign.")],
    amount: Annotated[
        str | None, typer.Option(help="The action's value, e.g. 'CNY 3000000'.")
    ] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """May these signers bind your organisation for this action now? Exit 1 if not."""
    with open_client(url, key) as hub:
        assert hub.key_file is not None
        result = hub.post(
            f"/orgs/{hub.key_file.organisation}/authority",
            {"signers": signer, "action": action, "amount": _money(amount)},
        )
    if result["allowed"]:
        mandate = result["mandate"]
        print(f"allowed under mandate {mandate['id']} ({mandate['description']})")
        return
    print("not allowed:")
    for reason in result["reasons"]:
        print(f"  - {reason}")
    raise typer.Exit(1)


@key_group.command("rotate")
def rotate(
    organisation_key: Annotated[
        bool, typer.Option("--organisation", help="Rotate the organisation's key, not yours.")
    ] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Make a new key, register it, retire the old one, and update the key file."""
    path = key_file_path(key)
    current = KeyFile.read(path)
    if organisation_key and current.organisation_key is None:
        raise InvalidInput("this key file holds no organisation key")
    pair = KeyPair.generate()
    with open_client(url, path) as hub:
        body = {
            "owner": "organisation" if organisation_key else "person",
            "owner_id": None if organisation_key else current.person,
            "public_key": b64url_encode(pair.public_key),
        }
        new = hub.post(f"/orgs/{current.organisation}/keys", body)
    updated = KeyFile(
        hub=current.hub,
        organisation=current.organisation,
        person=current.person,
        person_key=current.person_key if organisation_key else pair,
        organisation_key=pair if organisation_key else current.organisation_key,
    )
    updated.write(path, overwrite=True)
    print(f"new key {new['kid']}; the previous one is retired but still verifies old signatures")


def register(app: typer.Typer) -> None:
    app.add_typer(org_group, name="org")
    app.add_typer(person_group, name="person")
    app.add_typer(mandate_group, name="mandate")
    app.add_typer(key_group, name="key")
