"""``bayflow compliance``: transfer decisions, GBA Standard Contracts, year-to-date volumes.

``check FILE`` decides a transfer described in JSON (schema ``bayflow-transfer/1``) with the
rules table shipped in this package, offline; with ``--url`` it asks the hub instead, which adds
the exporter's stored volumes and stores and anchors the decision (the command prints its id and
the digest anchored). ``contract`` registers GBA Standard Contracts, records filings and lists
reminders. ``volumes report`` pseudonymises identifiers on this machine with the organisation's
volume key and sends only the pseudonyms. Decisions are automated readings of a cited rules
table: not legal advice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli._client import KeyOption, UrlOption, open_client, print_json
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.models import LEGAL_NOTICE, TransferDescription, YearVolumes, gba_year
from bayflow.compliance.rules import load_packaged_rules, load_rules
from bayflow.compliance.volumes import pseudonymise
from bayflow.errors import InvalidInput, NotFound

__all__ = ["register"]

compliance_group = typer.Typer(
    help="Cross-boundary compliance: decide transfers, GBA Standard Contracts, volumes.",
    no_args_is_help=True,
)
contract_group = typer.Typer(help="GBA Standard Contracts and their filings.", no_args_is_help=True)
volumes_group = typer.Typer(help="Year-to-date volumes, by keyed pseudonym.", no_args_is_help=True)
compliance_group.add_typer(contract_group, name="contract")
compliance_group.add_typer(volumes_group, name="volumes")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the full JSON.")]


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFound(f"cannot read {what} {path}: {exc.strerror}") from exc


def _print_decision(decision: dict[str, Any]) -> None:
    transfer = decision["transfer"]
    volumes = decision["volumes"]
    exporter, recipient = transfer["exporter"], transfer["recipient"]
    print(
        f"{exporter['jurisdiction']} {exporter['city']} -> {recipient['jurisdiction']} "
        f"{recipient['city']}: {decision['verdict']} (rules {decision['rules_version']})"
    )
    print(
        f"volumes {volumes['year']}: {volumes['nonsensitive']} individuals, "
        f"{volumes['sensitive']} with sensitive PI"
    )
    for number, route in enumerate(decision["routes"], start=1):
        print(
            f"{number}. {route['route']} [{route['confidence']}] via {', '.join(route['rules'])}: "
            f"{route['label']}"
        )
        for citation in route["citations"]:
            print(f"   source: {citation}")
        for obligation in route["obligations"]:
            print(
                f"   - {obligation['text']} ({obligation['citation']}; "
                f"{obligation['rule']} [{obligation['confidence']}])"
            )
    for note in decision.get("notes", []):
        print(f"note: {note}")
    print(LEGAL_NOTICE)


@compliance_group.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The transfer description (JSON).")],
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="A rules table to use offline instead of the packaged one."),
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Decide which routes a transfer needs; offline, or through the hub with --url."""
    transfer = TransferDescription.from_json(_read_text(file, "transfer description"))
    if url is not None:
        if rules is not None:
            raise InvalidInput("--rules is for offline checks; the hub uses its own table")
        with open_client(url, key) as hub:
            answer = hub.post("/compliance/v1/decisions", transfer.to_json())
        decision = answer["decision"]
    else:
        table = load_rules(str(rules)) if rules is not None else load_packaged_rules()
        now = datetime.now(UTC)
        stored = YearVolumes(exporter=transfer.exporter.organisation, year=gba_year(now))
        decision = RulesEngine(table).decide(transfer, stored, now=now).to_json()
    if as_json:
        print_json(decision)
        return
    _print_decision(decision)
    if url is not None:
        print(
            f"decision {decision['id']} stored by the hub; its SHA-256 {answer['digest']} "
            "is anchored in the hub's ledger"
        )


def _print_contract(contract: dict[str, Any]) -> None:
    print(
        f"{contract['id']} {contract['route']} effective {contract['effective_on']}"
        f"{' (terminated)' if contract['terminated_on'] else ''}"
    )
    for role in ("exporter", "recipient"):
        party = contract[role]
        filed = f"filed {party['filed_on']} ref {party['filing_ref']}" if party["filed_on"] else ""
        uncertain = " (deadline uncertain)" if party["deadline_uncertain"] else ""
        print(
            f"  {role} {party['organisation']} files with {party['filing_body']} by "
            f"{party['deadline']}{uncertain}: {filed or party.get('state', 'pending')}"
        )


@contract_group.command("add")
def contract_add(
    exporter: Annotated[str, typer.Option(help="The exporting party's organisation id.")],
    recipient: Annotated[str, typer.Option(help="The receiving party's organisation id.")],
    effective_on: Annotated[
        str, typer.Option("--effective-on", help="The date it takes effect, YYYY-MM-DD.")
    ],
    product: Annotated[
        list[str] | None,
        typer.Option(help="A recipient product holding data received under it (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Register a GBA Standard Contract your organisation is a party to."""
    body = {
        "exporter": exporter,
        "recipient": recipient,
        "effective_on": _date(effective_on).isoformat(),
        "restricted_products": list(product or ()),
    }
    with open_client(url, key) as hub:
        contract = hub.post("/compliance/v1/contracts", body)
    if as_json:
        print_json(contract)
        return
    _print_contract(contract)


@contract_group.command("list")
def contract_list(
    reminders: Annotated[
        bool, typer.Option("--reminders", help="Only filings due soon or overdue.")
    ] = False,
    within_days: Annotated[int, typer.Option(help="Reminder window in days.")] = 3,
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Your organisation's GBA Standard Contracts, or its filing reminders."""
    with open_client(url, key) as hub:
        if reminders:
            found = hub.get(
                "/compliance/v1/contracts/reminders", params={"within_days": within_days}
            )
        else:
            found = hub.get("/compliance/v1/contracts")
    if as_json:
        print_json(found)
        return
    if reminders:
        for item in found:
            print(
                f"{item['state']}: {item['contract']} - {item['organisation']} files with "
                f"{item['filing_body']} by {item['deadline']}"
            )
        if not found:
            print("no filings due")
        return
    for contract in found:
        _print_contract(contract)


@contract_group.command("file")
def contract_file(
    contract_id: Annotated[str, typer.Argument(metavar="ID", help="The contract (gsc_...).")],
    ref: Annotated[str, typer.Option("--ref", help="The filing body's reference.")],
    on: Annotated[
        str | None, typer.Option("--on", help="The filing date, YYYY-MM-DD (default today).")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Record that your organisation filed a contract."""
    body: dict[str, Any] = {"filing_ref": ref}
    if on is not None:
        body["filed_on"] = _date(on).isoformat()
    with open_client(url, key) as hub:
        contract = hub.post(f"/compliance/v1/contracts/{contract_id}/filing", body)
    if as_json:
        print_json(contract)
        return
    _print_contract(contract)


@volumes_group.command("show")
def volumes_show(
    year: Annotated[int | None, typer.Option(help="Default: this year (UTC+8).")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Your organisation's year-to-date volumes as an exporter."""
    params = {"year": year} if year else {}
    with open_client(url, key) as hub:
        print_json(hub.get("/compliance/v1/volumes", params=params))


@volumes_group.command("report")
def volumes_report(
    file: Annotated[Path, typer.Argument(help="Identifiers, one per line.")],
    sensitive: Annotated[
        bool, typer.Option("--sensitive", help="These individuals' sensitive PI is exported.")
    ] = False,
    year: Annotated[int | None, typer.Option(help="Default: this year (UTC+8).")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Pseudonymise identifiers here with your volume key; send only the pseudonyms."""
    identifiers = [line.strip() for line in _read_text(file, "identifiers").splitlines()]
    identifiers = [i for i in identifiers if i]
    params = {"year": year} if year else {}
    with open_client(url, key) as hub:
        issued = hub.get("/compliance/v1/volumes/key", params=params)
        volume_key = bytes.fromhex(issued["key"])
        pseudonyms = sorted({pseudonymise(volume_key, i) for i in identifiers})
        body = {
            "year": issued["year"],
            "nonsensitive": [] if sensitive else pseudonyms,
            "sensitive": pseudonyms if sensitive else [],
        }
        print_json(hub.post("/compliance/v1/volumes", body))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def register(app: typer.Typer) -> None:
    app.add_typer(compliance_group, name="compliance")
