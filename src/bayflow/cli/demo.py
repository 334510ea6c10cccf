"""``bayflow demo loan``: the reference scenario, end to end, on loopback.

Starts a hub and two data providers as their own processes with a temporary database, then
walks ../shared/SCENARIO.md: a Shenzhen company's working-capital loan at a Hong Kong bank.
Every step is printed; the command exits non-zero at the first step that does not go as the
story says. Whatever the story says is checked offline (a ledger entry, a disclosure) is
checked by a command run with every network connection refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import rfc8785
import typer

from bayflow.client import BayflowClient
from bayflow.compliance.identifiers import organisation_code_check_character, uscc_check_character
from bayflow.compliance.models import DECISION_SCHEMA
from bayflow.compliance.service import HUB_ISSUER
from bayflow.consent.service import EVENT_SCHEMA
from bayflow.crypto.jose import CompactJWS
from bayflow.crypto.jwt import b64url_encode
from bayflow.errors import BayflowError
from bayflow.exchange.requests import RECEIPT_SCHEMA
from bayflow.identity.keyfile import EncryptionKey, KeyFile, KeyPair
from bayflow.ledger.audit import NotYetProven, verify_anchored
from bayflow.ledger.cosignature import CosignatureVerifier
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.note import Ed25519Verifier

# Runs `python -m bayflow` with outbound network refused: an audit hook fails every connection
# and name look-up, so a command that succeeds this way made no network call.
_OFFLINE = """
import runpy, sys

REFUSED = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
           "socket.sendmsg"}

def refuse(event, args):
    if event in REFUSED:
        raise OSError(f"offline: {event} refused")

sys.addaudithook(refuse)
runpy.run_module("bayflow", run_name="__main__", alter_sys=True)
"""

# The fields of the annual VAT summary Bayline discloses to the bank; the others stay hidden.
_DISCLOSED = ("period", "total_sales_cny", "total_tax_cny")

demo_group = typer.Typer(help="Run the reference scenario end to end.", no_args_is_help=True)


class DemoFailed(BayflowError):
    slug = "demo-failed"
    title = "Demo step failed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _process(args: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments.
            [sys.executable, "-m", "bayflow", *args], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise DemoFailed(f"{args[0]} exited early; see {log}")
            try:
                httpx.get(health, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise DemoFailed(f"{args[0]} did not start; see {log}") from None
                time.sleep(0.1)
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


class _Story:
    def __init__(self) -> None:
        self.step = 0

    def __call__(self, title: str, action: Callable[[], str]) -> None:
        self.step += 1
        print(f"{self.step:2d}. {title}", flush=True)
        try:
            detail = action()
        except BayflowError as exc:
            raise DemoFailed(f"step {self.step} ({title}) failed: {exc.message}") from exc
        for line in detail.splitlines():
            print(f"    {line}", flush=True)


def _einvoices() -> list[dict[str, Any]]:
    rows = []
    for months_ago in range(24):
        year, month = divmod(2026 * 12 + 9 - months_ago, 12)
        rows.append(
            {
                "period": f"{year}-{month + 1:02d}",
                "invoices": 40 + months_ago % 7,
                "total_sales_cny": 1_200_000 + 15_000 * (months_ago % 5),
                "total_tax_cny": 156_000 + 1_950 * (months_ago % 5),
            }
        )
    return rows


def _vat_summary() -> dict[str, Any]:
    """Bayline's 2025 annual VAT summary as Pearl River issues it: the 2025 months of the
    e-invoices, with fields the bank has no need to see."""
    months = [row for row in _einvoices() if row["period"].startswith("2025-")]
    return {
        "seller_uscc": "91440300MA5G7K2P0C",
        "seller_name": "深圳前海湾线物流有限公司",
        "period": "2025-01-01/2025-12-31",
        "invoices_issued": sum(row["invoices"] for row in months),
        "total_sales_cny": sum(row["total_sales_cny"] for row in months),
        "total_tax_cny": sum(row["total_tax_cny"] for row in months),
        "largest_customer_uscc": _sole_proprietor_uscc(0),
        "red_letter_invoices": 3,
        "issued_by": "91440400MA5H3Q8R0D",
    }


def _sole_proprietor_uscc(number: int) -> str:
    """A valid USCC of an individual business (92…) registered in Shenzhen, numbered."""
    org = f"{number:08d}"
    body = "92440300" + org + organisation_code_check_character(org)
    return body + uscc_check_character(body)


def _bills() -> str:
    lines = ["period,kwh,amount_hkd,premises"]
    for months_ago in range(12):
        year, month = divmod(2026 * 12 + 9 - months_ago, 12)
        kwh, amount = 18_000 + 250 * months_ago, 25_000 + 300 * months_ago
        lines.append(f"{year}-{month + 1:02d},{kwh},{amount},Kwai Chung warehouse")
    return "\n".join(lines) + "\n"


def _register(operator: BayflowClient, home: Path, name: str, **fields: Any) -> KeyFile:
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    result = operator.post(
        "/orgs",
        {
            "legal_name_en": name,
            "legal_name_zh": fields["zh"],
            "jurisdiction": fields["jurisdiction"],
            "city": fields["city"],
            "identifiers": fields["identifiers"],
            "administrator": {
                "name": f"{name} administrator",
                "public_key": b64url_encode(admin.public_key),
            },
            "organisation_public_key": b64url_encode(org_key.public_key),
        },
    )
    key_file = KeyFile(
        operator.url,
        result["organisation"]["id"],
        result["administrator"]["id"],
        admin,
        org_key,
        EncryptionKey.generate(),
    )
    key_file.write(home / f"{fields['slug']}.key")
    return key_file


@demo_group.command("loan")
def loan(
    keep: Annotated[bool, typer.Option(help="Keep the temporary folder for inspection.")] = False,
) -> None:
    """A Shenzhen SME's loan at a Hong Kong bank, with consent, fetches and revocation."""
    with ExitStack() as stack:
        home = (
            Path(tempfile.mkdtemp(prefix="bayflow-demo-"))
            if keep
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bayflow-demo-")))
        )
        _run(stack, home)
        if keep:
            print(f"files kept in {home}")


def _run(stack: ExitStack, home: Path) -> None:  # noqa: C901, PLR0915 - one story, in order.
    story = _Story()
    hub_port = _free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYFLOW_")}
    env |= {
        "BAYFLOW_DATA_DIR": str(home / "hub"),
        "BAYFLOW_PUBLIC_URL": hub_url,
        "BAYFLOW_LOG_LEVEL": "warning",
    }
    parties: dict[str, KeyFile] = {}
    people: dict[str, KeyFile] = {}
    ctx: dict[str, Any] = {}

    witnesses = {
        "hk": ("witness.hk.bayflow.example/1", _free_port()),
        "sz": ("witness.sz.bayflow.example/1", _free_port()),
    }

    def start_hub() -> str:
        vkeys = []
        for slug, (name, _) in witnesses.items():
            made = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments.
                [sys.executable, "-m", "bayflow", "witness", "keygen",
                 "--key-file", str(home / f"witness-{slug}.key"), "--name", name],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            vkeys.append(made.stdout.strip())
        env["BAYFLOW_WITNESS_URLS"] = ",".join(
            f"http://127.0.0.1:{port}" for _, port in witnesses.values()
        )
        env["BAYFLOW_WITNESS_KEYS"] = ",".join(vkeys)
        ctx["witness_keys"] = vkeys
        upgrade = [sys.executable, "-m", "bayflow", "db", "upgrade"]
        subprocess.run(upgrade, env=env, check=True, capture_output=True)  # noqa: S603
        serve = ["serve", "--port", str(hub_port)]
        stack.enter_context(_process(serve, env, f"{hub_url}/healthz", home / "hub.log"))
        log_key = httpx.get(f"{hub_url}/ledger/key", timeout=10).text.strip()
        ctx["log_key"] = log_key
        lines = [f"hub on {hub_url}, database in {home / 'hub'}", f"ledger key {log_key}"]
        for slug, (name, port) in witnesses.items():
            stack.enter_context(
                _process(
                    ["witness", "serve", "--key-file", str(home / f"witness-{slug}.key"),
                     "--log-key", log_key, "--port", str(port)],
                    env, f"http://127.0.0.1:{port}/", home / f"witness-{slug}.log",
                )
            )  # fmt: skip
            lines.append(f"witness {name} on port {port}")
        return "\n".join(lines)

    def in_ledger(kind: EntryKind, digest: bytes, schema: str, issuer: str) -> int:
        """Verify offline that the ledger holds this entry, cosigned by both witnesses."""
        deadline = time.monotonic() + 30
        while True:
            status = httpx.get(f"{hub_url}/ledger/v1/status/{digest.hex()}", timeout=10).json()
            try:
                return verify_anchored(
                    status,
                    kind=kind,
                    digest=digest,
                    schema=schema,
                    issuer=issuer,
                    log_verifier=Ed25519Verifier.from_vkey(ctx["log_key"]),
                    witnesses=[CosignatureVerifier.from_vkey(k) for k in ctx["witness_keys"]],
                )
            except NotYetProven:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    story("Start the hub, with a Hong Kong and a Shenzhen witness", start_hub)
    operator = stack.enter_context(
        BayflowClient(hub_url, KeyFile.read(home / "hub" / "operator.key"))
    )

    def admit() -> str:
        specs = [
            (
                "bayline",
                "Qianhai Bayline Logistics Co., Ltd.",
                "深圳前海湾线物流有限公司",
                "CN",
                "Shenzhen",
                {"cn_uscc": "91440300MA5G7K2P0C"},
            ),
            (
                "lionrock",
                "Lion Rock Bank Limited",
                "獅子山銀行有限公司",
                "HK",
                "Hong Kong",
                {"hk_brn": "12345678"},
            ),
            (
                "pearlriver",
                "Pearl River e-Invoice Services Co., Ltd.",
                "珠江电子发票服务有限公司",
                "CN",
                "Zhuhai",
                {"cn_uscc": "91440400MA5H3Q8R0D"},
            ),
            (
                "victoria",
                "Victoria Harbour Utilities Limited",
                "維港公用事業有限公司",
                "HK",
                "Hong Kong",
                {"hk_brn": "87654321"},
            ),
        ]
        lines = []
        for slug, name, zh, jurisdiction, city, identifiers in specs:
            parties[slug] = _register(
                operator,
                home,
                name,
                slug=slug,
                zh=zh,
                jurisdiction=jurisdiction,
                city=city,
                identifiers=identifiers,
            )
            lines.append(f"{parties[slug].organisation}  {name} ({jurisdiction}, {city})")
        return "\n".join(lines)

    story("The operator admits the four organisations (Corp ID)", admit)

    def staff() -> str:
        with BayflowClient(hub_url, parties["bayline"]) as bayline:
            for slug, name, roles in (
                ("chen", "Chen Wei", ["director"]),
                ("li", "Li Na", ["delegate"]),
            ):
                pair = KeyPair.generate()
                person = bayline.post(
                    f"/orgs/{parties['bayline'].organisation}/people",
                    {"name": name, "roles": roles, "public_key": b64url_encode(pair.public_key)},
                )
                people[slug] = KeyFile(hub_url, parties["bayline"].organisation, person["id"], pair)
            bayline.post(
                f"/orgs/{parties['bayline'].organisation}/mandates",
                {
                    "description": "one director alone up to RMB 2,000,000",
                    "role": "director",
                    "min_signers": 1,
                    "limit": {"currency": "CNY", "amount": "2000000"},
                },
            )
        with BayflowClient(hub_url, parties["lionrock"]) as bank:
            pair = KeyPair.generate()
            person = bank.post(
                f"/orgs/{parties['lionrock'].organisation}/people",
                {"name": "Wong Ka Ming", "roles": [], "public_key": b64url_encode(pair.public_key)},
            )
            people["wong"] = KeyFile(
                hub_url,
                parties["lionrock"].organisation,
                person["id"],
                pair,
                encryption_key=EncryptionKey.generate(),
            )
        return (
            "Bayline: Chen Wei (director, may sign alone up to RMB 2,000,000), Li Na (delegate)\n"
            "Lion Rock Bank: Wong Ka Ming (credit officer)"
        )

    story("Bayline records its director's mandate and its delegate", staff)

    def providers() -> str:
        lines = []
        for slug, product, title, zh, held_in, city, pi, fmt, content in (
            (
                "pearlriver",
                "vat-einvoices",
                "VAT e-invoices",
                "增值税电子发票",
                "CN",
                "Zhuhai",
                True,
                "json",
                json.dumps(_einvoices()),
            ),
            (
                "victoria",
                "electricity-bills",
                "Electricity bills",
                "電費單",
                "HK",
                "Hong Kong",
                False,
                "csv",
                _bills(),
            ),
        ):
            port = _free_port()
            data = home / slug / product
            data.mkdir(parents=True)
            (data / f"91440300MA5G7K2P0C.{fmt}").write_text(content, encoding="utf-8")
            with BayflowClient(hub_url, parties[slug]) as provider:
                provider.post(
                    "/exchange/v1/products",
                    {
                        "id": product,
                        "title_en": title,
                        "title_zh": zh,
                        "json_schema": {"type": "object"},
                        "personal_information": pi,
                        "held_in": held_in,
                        "held_in_city": city,
                        "endpoint": f"http://127.0.0.1:{port}/deliver",
                    },
                )
            stack.enter_context(
                _process(
                    [
                        "provider",
                        "serve",
                        "--data",
                        str(home / slug),
                        "--key",
                        str(home / f"{slug}.key"),
                        "--hub",
                        hub_url,
                        "--port",
                        str(port),
                    ],
                    env,
                    f"http://127.0.0.1:{port}/healthz",
                    home / f"{slug}.log",
                )
            )
            lines.append(f"{title} from {parties[slug].organisation} on port {port}")
        return "\n".join(lines)

    story("The two data providers publish their products and start serving", providers)

    for slug, key_file in people.items():
        key_file.write(home / f"{slug}.key")
    cli_env = env | {"BAYFLOW_URL": hub_url}

    def cli(*args: str, key: str | None, expect: int = 0, offline: bool = False) -> str:
        """Run a `bayflow` command as its user would, with their key file (if it takes one).

        ``offline`` refuses the command every network connection and name look-up.
        """
        runner = ("-c", _OFFLINE) if offline else ("-m", "bayflow")
        command = [sys.executable, *runner, *args]
        if key is not None:
            command += ["--key", str(home / f"{key}.key")]
        done = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments.
            command, env=cli_env, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != expect:
            shown = " ".join(args[:2])
            raise DemoFailed(
                f"`bayflow {shown}` exited {done.returncode}, expected {expect}: "
                f"{(done.stderr or done.stdout).strip()}"
            )
        return (done.stdout + done.stderr).strip()

    def request() -> str:
        out = cli(
            "consent", "request",
            "--owner", parties["bayline"].organisation,
            "--product", f"{parties['pearlriver'].organisation}/vat-einvoices",
            "--product", f"{parties['victoria'].organisation}/electricity-bills",
            "--purpose-code", "credit-assessment",
            "--purpose", "credit assessment for a working-capital loan",
            "--from", "2024-11-01", "--to", "2026-10-31",
            "--origin", "CN", "--destination", "HK",
            "--frequency", "1/month", "--data-life", "90d", "--expires-in", "6m",
            key="wong",
        )  # fmt: skip
        ctx["consent"] = out.split()[0]
        return f"$ bayflow consent request …\n{out}"

    story("Lion Rock Bank asks Bayline for consent", request)

    def li_tries() -> str:
        out = cli("consent", "approve", ctx["consent"], key="li", expect=77)
        return f"$ bayflow consent approve (as Li Na)\nrefused, as it should be: {out}"

    story("Li Na (delegate) tries to approve", li_tries)

    def chen_approves() -> str:
        return "$ bayflow consent approve (as Chen Wei)\n" + cli(
            "consent", "approve", ctx["consent"], key="chen"
        )

    story("Chen Wei (director) approves by signing", chen_approves)

    def volumes() -> str:
        customers = home / "pearlriver-customers-2026.txt"
        customers.write_text(
            "".join(f"{_sole_proprietor_uscc(n)}\n" for n in range(4_000)), encoding="utf-8"
        )
        reported = json.loads(
            cli("compliance", "volumes", "report", str(customers), key="pearlriver")
        )
        if reported["nonsensitive"] != 4_000:
            raise DemoFailed(f"the hub counts {reported['nonsensitive']} individuals, not 4,000")
        return (
            f"$ bayflow compliance volumes report {customers.name}  (as Pearl River)\n"
            f"{reported['nonsensitive']} individuals in {reported['year']} (sole-proprietor "
            "customers, 92… USCCs), sent as keyed pseudonyms: the identifiers stayed with "
            "Pearl River"
        )

    story("Pearl River reports this year's customers to its volumes, as pseudonyms only", volumes)

    def compliance() -> str:
        transfer = home / "transfer.json"
        transfer.write_text(
            json.dumps(
                {
                    "schema": "bayflow-transfer/1",
                    "exporter": {
                        "organisation": parties["pearlriver"].organisation,
                        "jurisdiction": "CN",
                        "city": "Zhuhai",
                        "is_ciio": False,
                    },
                    "recipient": {
                        "organisation": parties["lionrock"].organisation,
                        "jurisdiction": "HK",
                        "city": "Hong Kong",
                    },
                    "data": {"personal_information": True, "sensitive_categories": []},
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        out = cli("compliance", "check", str(transfer), "--url", hub_url, key="wong")
        found = re.search(r"decision (\S+) stored by the hub; its SHA-256 ([0-9a-f]{64})", out)
        if found is None:
            raise DemoFailed(f"the hub's decision names no anchored digest:\n{out}")
        decision_id, digest = found[1], bytes.fromhex(found[2])
        with BayflowClient(hub_url, people["wong"]) as bank:
            decision = bank.get(f"/compliance/v1/decisions/{decision_id}")["decision"]
        routes = {route["route"] for route in decision["routes"]}
        if hashlib.sha256(rfc8785.dumps(decision)).digest() != digest:
            raise DemoFailed("the stored decision does not hash to the digest anchored")
        if decision["verdict"] != "exempt" or "gba_standard_contract_hk" not in routes:
            raise DemoFailed(f"expected exempt with the GBA Standard Contract, got {routes}")
        index = in_ledger(
            EntryKind.DECISION, digest, DECISION_SCHEMA, parties["lionrock"].organisation
        )
        return (
            "$ bayflow compliance check transfer.json --url …  (as Lion Rock Bank)\n"
            f"{out}\n"
            f"the decision hashes to its digest, which is entry {index} of the ledger, checked "
            "offline against a checkpoint cosigned by both witnesses\n"
            "exempt: the bank files nothing; the exchange's gate decides every fetch the same way"
        )

    story("Compliance: Zhuhai → Hong Kong, 4,000 individuals, no sensitive data", compliance)

    def fetch() -> str:
        lines = []
        bank = home / "bank"
        bank.mkdir()
        for slug, product in (("pearlriver", "vat-einvoices"), ("victoria", "electricity-bills")):
            out = bank / f"{product}.json"
            lines.append(f"$ bayflow data fetch --product …/{product}")
            lines.append(
                cli(
                    "data", "fetch", ctx["consent"],
                    "--product", f"{parties[slug].organisation}/{product}",
                    "--from", "2024-11-01", "--to", "2026-10-31", "--out", str(out),
                    key="wong",
                )
            )  # fmt: skip
            records = json.loads(out.read_bytes())["records"]
            meta = json.loads(out.with_name(out.name + ".bayflow.json").read_text("utf-8"))
            receipt = CompactJWS.parse(meta["receipt"])
            key = operator.provider_key(parties[slug].organisation, receipt.kid or "")
            receipt.verify(key)
            index = in_ledger(
                EntryKind.ACCESS_RECEIPT,
                hashlib.sha256(meta["receipt"].encode("ascii")).digest(),
                RECEIPT_SCHEMA,
                parties[slug].organisation,
            )
            ctx.setdefault("fetched", []).append(out)
            lines.append(
                f"{len(records)} records decrypted by the bank; the provider's receipt verifies, "
                f"and is entry {index} of the ledger, checked offline against a checkpoint "
                "cosigned by both witnesses"
            )
        return "\n".join(lines)

    story("The bank fetches both products: sealed to its key, relayed as ciphertext", fetch)

    def journal() -> str:
        out = cli("data", "accesses", ctx["consent"], key="bayline")
        accesses = json.loads(out)
        listed = cli("consent", "list", key="bayline")
        events = json.loads(cli("consent", "show", ctx["consent"], key="bayline"))["events"]
        indexes = [
            in_ledger(
                EntryKind.CONSENT_EVENT,
                bytes.fromhex(e["digest"]),
                EVENT_SCHEMA,
                parties["bayline"].organisation,
            )
            for e in events
        ]
        listed += f"\nevery consent event is in the ledger: entries {indexes}"
        lines = []
        for access in accesses:
            line = f"{access['created_at']} {access['product']}: {access['status']}"
            if access["decision_digest"]:
                entry = in_ledger(
                    EntryKind.DECISION,
                    bytes.fromhex(access["decision_digest"]),
                    DECISION_SCHEMA,
                    HUB_ISSUER,
                )
                line += (
                    f", under {access['decision_basis']}; the gate's decision "
                    f"{access['decision_id']} is ledger entry {entry}"
                )
            elif access["product"] == "vat-einvoices":
                raise DemoFailed("a cross-boundary access names no decision of the gate")
            else:
                line += ", inside Hong Kong with no personal information: no route to decide"
            lines.append(line)
        return (
            "$ bayflow consent list\n" + listed + "\n$ bayflow data accesses\n" + "\n".join(lines)
        )

    story("Bayline reads its consents and every access made under them", journal)

    def summary() -> str:
        issued, held = home / "pearlriver-issued", home / "bayline-held"
        issued.mkdir()
        held.mkdir()
        record = issued / "summary.json"
        record.write_text(json.dumps(_vat_summary(), ensure_ascii=False, indent=2), "utf-8")
        anchored = cli(
            "anchor", "--record", str(record), "--fields", "--schema", "vat-annual-summary/1",
            key="pearlriver",
        )  # fmt: skip
        for name in ("summary.json", "summary.json.salt", "summary.json.proof"):
            shutil.copy(issued / name, held / name)
        return (
            "$ bayflow anchor --record summary.json --fields  (as Pearl River)\n"
            f"{anchored}\n"
            "Pearl River hands Bayline summary.json, its salt file and its proof; "
            "the hub holds one commitment and never saw a field"
        )

    story("Pearl River anchors Bayline's 2025 annual VAT summary, field by field", summary)

    def disclose() -> str:
        held, bank = home / "bayline-held", home / "bank"
        out = cli(
            "disclose", str(held / "summary.json"), "--fields", ",".join(_DISCLOSED),
            "--out", str(held / "summary.disclosed.json"),
            key=None,
        )  # fmt: skip
        shutil.copy(held / "summary.disclosed.json", bank / "summary.disclosed.json")
        shutil.copy(held / "summary.json.proof", bank / "summary.json.proof")
        return (
            f"$ bayflow disclose summary.json --fields {','.join(_DISCLOSED)}  (as Bayline)\n"
            f"{out}\n"
            "Bayline hands the bank summary.disclosed.json and summary.json.proof"
        )

    story("Bayline discloses three fields of it to the bank", disclose)

    def verify_disclosure() -> str:
        bank = home / "bank"
        disclosed, proof = bank / "summary.disclosed.json", bank / "summary.json.proof"
        trust = ["--log-key", ctx["log_key"]]
        trust += [arg for k in ctx["witness_keys"] for arg in ("--witness-key", k)]
        out = cli("verify", str(disclosed), "--proof", str(proof), *trust, key=None, offline=True)
        result = json.loads(out)
        hidden = {k: v for k, v in _vat_summary().items() if k not in _DISCLOSED}
        # Neither a hidden field's name nor a hidden text value is anywhere in the bank's files.
        markers = [*hidden, *(v for v in hidden.values() if isinstance(v, str))]
        received = b"".join(p.read_bytes() for p in bank.glob("summary*"))
        if (
            sorted(result.get("disclosed", {})) != sorted(_DISCLOSED)
            or len(result["cosigned_by"]) != len(ctx["witness_keys"])
            or any(marker.encode() in received for marker in markers)
        ):
            raise DemoFailed(f"the disclosure did not verify as the story says: {out}")
        tampered = json.loads(disclosed.read_text("utf-8"))
        for item in tampered["disclosed"]:
            if item[1] == "total_sales_cny":
                item[2] *= 2
        forged = bank / "summary.tampered.json"
        forged.write_text(json.dumps(tampered, ensure_ascii=False, indent=2), "utf-8")
        refused = cli(
            "verify", str(forged), "--proof", str(proof), *trust, key=None, expect=17, offline=True
        )
        return (
            "$ bayflow verify summary.disclosed.json --proof summary.json.proof --log-key … "
            "--witness-key … --witness-key …  (as the bank, with the network refused)\n"
            f"{out}\n"
            f"the other {len(hidden)} fields never reached the bank\n"
            f"with total_sales_cny doubled, verify exits 17, as it should: {refused}"
        )

    story("The bank verifies the disclosure offline; a tampered value fails", verify_disclosure)

    def revoke() -> str:
        return "$ bayflow consent revoke\n" + cli("consent", "revoke", ctx["consent"], key="chen")

    story("Bayline revokes the consent after the loan is approved", revoke)

    def refused() -> str:
        out = cli(
            "data", "fetch", ctx["consent"],
            "--product", f"{parties['pearlriver'].organisation}/vat-einvoices",
            "--out", str(home / "bank" / "again.json"),
            key="wong", expect=77,
        )  # fmt: skip
        return f"refused, as it should be: {out}"

    story("The bank's next fetch is refused", refused)

    def purge() -> str:
        out = cli("data", "purge", *(str(p) for p in ctx["fetched"]), key="wong")
        accesses = json.loads(cli("data", "accesses", ctx["consent"], key="bayline"))
        delivered = [a for a in accesses if a["status"] == "delivered"]
        seen = sum(1 for a in delivered if a["deleted_at"])
        if seen != len(delivered) or any(p.exists() for p in ctx["fetched"]):
            raise DemoFailed("a purge left data behind, or Bayline cannot see its receipt")
        return f"$ bayflow data purge …\n{out}\nBayline sees {seen} of {len(delivered)} purged"

    story("At the end of data life the bank purges the data; Bayline sees the receipts", purge)

    def audit() -> str:
        witness_args = [arg for k in ctx["witness_keys"] for arg in ("--witness-key", k)]
        out = cli(
            "consent", "audit", ctx["consent"], "--log-key", ctx["log_key"], "--wait", "30",
            *witness_args,
            key="bayline",
        )  # fmt: skip
        return f"$ bayflow consent audit --log-key … --witness-key … --witness-key …\n{out}"

    story("Bayline checks every event and receipt against the ledger, offline", audit)
    print("The story ends as SCENARIO.md tells it.")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_group, name="demo")
