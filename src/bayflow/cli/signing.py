"""``bayflow sign`` and ``bayflow verify-signature``: digital signatures through Corp ID.

A PDF (recognised by its ``%PDF-`` header) gets a PAdES signature under a certificate the hub
issues for the occasion; anything else gets a detached JWS made with the signer's own key from
their key file. Verification reports who signed, for which organisation, in which role and
when, and with ``--action`` asks the hub whether the signers together satisfy a mandate.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bayflow.cli._client import DEFAULT_URL, KeyOption, UrlOption, open_client, print_json
from bayflow.cli.ca import fetch_ca_certificate
from bayflow.cli.org import _money
from bayflow.client import BayflowClient
from bayflow.clock import utcnow
from bayflow.config import load_settings
from bayflow.crypto.tsa import RemoteTimeStamper
from bayflow.errors import BayflowError, ConfigurationError, InvalidInput, NotFound
from bayflow.identity.errors import MandateNotSatisfied
from bayflow.identity.models import Person, Role
from bayflow.identity.pdf import PDFSignatureReport, inspect_pdf, raise_for_reports
from bayflow.identity.signing import (
    JWS_SCHEMA,
    PADES_SCHEMA,
    Anchorer,
    DetachedSignature,
    SignatureAnchor,
    anchor_signatures,
    sign_content,
    sign_pdf_with_certificate,
    signing_role,
    verify_content,
)
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.proof import ProofBundle

__all__ = ["register"]

PDF_MAGIC = b"%PDF-"
TIMESTAMP_QUERY = "application/timestamp-query"


class Level(StrEnum):
    B_B = "B-B"
    B_T = "B-T"


def _is_pdf(content: bytes) -> bool:
    # ISO 32000-2 §7.5.2 puts the header first; readers tolerate up to 1 KiB of junk before it.
    return PDF_MAGIC in content[:1024]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` in one step, so a failure never leaves half a signed document."""
    directory = path.resolve().parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _default_pdf_out(path: Path) -> Path:
    # A co-signer signs the signed file itself: their signature is one more revision of it.
    if path.name.endswith(".signed.pdf"):
        return path
    return path.with_name(f"{path.name.removesuffix('.pdf')}.signed.pdf")


def _anchorer(hub: BayflowClient) -> Anchorer:
    """Anchor through the hub's ``POST /ledger/v1/anchors``; a hub without it anchors nothing.

    The answer is a list under ``anchors`` with one item per fingerprint, carrying its log
    ``index`` (or a c2sp.org/tlog-proof bundle that names it). The signer does not wait for a
    checkpoint (``wait=false``): the entry is durable at once, and its proof is in the ledger's
    status document for the fingerprint as soon as a checkpoint covers it.
    """

    def anchor(anchors: Sequence[SignatureAnchor]) -> list[int | None]:
        try:
            body = hub.post(
                "/ledger/v1/anchors", [a.to_json() for a in anchors], params={"wait": "false"}
            )
        except NotFound:
            # A hub that does not run the verification ledger: the signature stands alone.
            return [None] * len(anchors)
        items = body.get("anchors") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise InvalidInput("the hub's answer to the anchor request is not a list")
        return [_ledger_index(item) for item in items]

    return anchor


def _ledger_index(item: Any) -> int | None:
    if isinstance(item, dict) and isinstance(item.get("index"), int):
        return int(item["index"])
    if isinstance(item, dict) and isinstance(item.get("proof"), str):
        return ProofBundle.from_text(item["proof"]).index
    return None


def _ledger_index_of(hub: BayflowClient, fingerprint: str) -> int | None:
    """Where the hub's ledger holds this signature fingerprint; ``None`` if it does not.

    A hub without the ledger answers 404 as for an unknown fingerprint: either way the
    signature is not anchored there, which is reported, never a reason to reject it.
    """
    try:
        body = hub.request(
            "GET", f"/ledger/v1/status/{fingerprint}", auth=hub.key_file is not None
        ).json()
    except BayflowError:
        return None
    entries = body.get("entries") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("kind") == EntryKind.SIGNATURE.value:
            index = _ledger_index(entry)
            if index is not None:
                return index
    return None


def _anchor_line(fingerprint: bytes, index: int | None) -> str:
    where = (
        f"anchored at ledger index {index}"
        if index is not None
        else "not anchored: no ledger on this hub"
    )
    return f"fingerprint sha256:{fingerprint.hex()} ({where})"


def _me(hub: BayflowClient) -> Person:
    assert hub.key_file is not None
    people = hub.get(f"/orgs/{hub.key_file.organisation}/people")
    record = next((p for p in people if p["id"] == hub.key_file.person), None)
    if record is None:
        raise NotFound(f"the hub has no person {hub.key_file.person}")
    return Person(
        id=record["id"],
        organisation_id=record["organisation_id"],
        name=record["name"],
        name_zh=record.get("name_zh"),
        roles=frozenset(Role(r) for r in record["roles"]),
        created_at=datetime.fromisoformat(record["created_at"]),
    )


def _sign_pdf(
    hub: BayflowClient,
    content: bytes,
    out: Path,
    *,
    level: Level,
    role: Role | None,
    reason: str | None,
    location: str | None,
) -> None:
    assert hub.key_file is not None
    organisation = hub.key_file.organisation
    issued: dict[str, Any] = {}

    def certify(public_key_pem: bytes) -> bytes:
        body = {"public_key_pem": public_key_pem.decode("ascii"), "role": role}
        issued.update(hub.post(f"/orgs/{organisation}/signing-certificates", body))
        return str(issued["certificate_pem"]).encode("ascii")

    def timestamp(query: bytes) -> bytes:
        headers = {"Content-Type": TIMESTAMP_QUERY}
        return hub.request("POST", "/tsa", auth=False, content=query, headers=headers).content

    signed = sign_pdf_with_certificate(
        content,
        certify,
        level=level.value,
        timestamper=RemoteTimeStamper(timestamp) if level is Level.B_T else None,
        reason=reason,
        location=location,
    )
    _write_atomically(out, signed.pdf)
    (index,) = anchor_signatures(
        [SignatureAnchor(signed.fingerprint, PADES_SCHEMA)], _anchorer(hub)
    )
    role_label = Role(issued["role"]).label
    print(f"signed: PAdES {level.value} signature {signed.field_name} as {role_label}")
    print(f"  certificate {issued['subject']}")
    print(f"  serial {issued['serial']}, valid until {issued['not_after']}")
    print(f"  {_anchor_line(signed.fingerprint, index)}")
    print(f"wrote {out}")


def _sign_bytes(hub: BayflowClient, content: bytes, out: Path, *, role: Role | None) -> None:
    assert hub.key_file is not None
    me = _me(hub)
    chosen = signing_role(me, role) if role is not None or me.roles else None
    organisation = hub.get(f"/orgs/{me.organisation_id}")
    jws = sign_content(
        hub.key_file.person_key.signing_key,
        content,
        issuer=organisation["did"],
        organisation_id=me.organisation_id,
        person_id=me.id,
        role=chosen,
        now=utcnow(),
        name=me.name,
    )
    _write_atomically(out, f"{jws}\n".encode("ascii"))
    signature = DetachedSignature.from_jws(jws, content)
    (index,) = anchor_signatures(
        [SignatureAnchor(signature.fingerprint, JWS_SCHEMA)], _anchorer(hub)
    )
    role_text = f" as {chosen.label}" if chosen else ""
    print(f"signed: detached JWS (Ed25519) by {me.name}{role_text}, key {signature.kid}")
    print(f"  for {organisation['legal_name_en']} ({organisation['did']})")
    print(f"  {_anchor_line(signature.fingerprint, index)}")
    print(f"wrote {out}")


def sign(
    file: Annotated[Path, typer.Argument(help="The document: a PDF, or any file.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Output [default: FILE.signed.pdf for a PDF, FILE.jws otherwise]."),
    ] = None,
    level: Annotated[
        Level, typer.Option(help="PAdES level: B-T adds the hub's RFC 3161 time-stamp.")
    ] = Level.B_T,
    role: Annotated[
        Role | None, typer.Option(help="Sign in this role [default: your highest].")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="PDF only: why you sign.")] = None,
    location: Annotated[str | None, typer.Option(help="PDF only: where you sign.")] = None,
    detached: Annotated[
        bool, typer.Option("--jws", help="Make a detached JWS even for a PDF.")
    ] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Sign FILE as yourself, for your organisation.

    A PDF gets a PAdES signature under a short-lived certificate from the hub's CA naming
    your organisation and role; signing FILE.signed.pdf again adds a further signature.
    Any other file gets a detached JWS with your key (FILE.jws).
    """
    content = _read(file)
    as_pdf = _is_pdf(content) and not detached
    with open_client(url, key) as hub:
        if as_pdf:
            _sign_pdf(
                hub,
                content,
                out or _default_pdf_out(file),
                level=level,
                role=role,
                reason=reason,
                location=location,
            )
            return
        target = out or file.with_name(f"{file.name}.jws")
        if out is None and target.exists():
            raise InvalidInput(
                f"{target} exists (someone's signature?): name this one with --out FILE.jws"
            )
        _sign_bytes(hub, content, target, role=role)


# Verification -----------------------------------------------------------------------------


@dataclass
class _Signer:
    """One signature, whatever its kind, as the report and the mandate check need it."""

    label: str
    organisation_id: str | None
    person_id: str | None
    name: str | None
    organisation: str | None
    role: str | None
    when: str
    checks: dict[str, bool | None]
    problems: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    ledger_index: int | None = None

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "signature": self.label,
            "valid": self.valid,
            "signer": self.name,
            "person_id": self.person_id,
            "organisation": self.organisation,
            "organisation_id": self.organisation_id,
            "role": self.role,
            "when": self.when,
            **self.checks,
            "problems": self.problems,
            "fingerprint": self.fingerprint,
            "ledger_index": self.ledger_index,
        }


def _verifying_client(url: str | None, key: Path | None, *, need_auth: bool) -> BayflowClient:
    try:
        return open_client(url, key)
    except ConfigurationError:
        # No key file: reading public keys and the CA certificate needs none.
        if need_auth:
            raise
        return BayflowClient(url or load_settings().url or DEFAULT_URL)


def _pdf_signers(reports: Sequence[PDFSignatureReport]) -> list[_Signer]:
    signers = []
    for report in reports:
        if report.timestamp_time is not None:
            when = f"{report.timestamp_time.isoformat()} (time-stamped)"
        elif report.signing_time is not None:
            when = f"{report.signing_time.isoformat()} (claimed by the signer)"
        else:
            when = "unknown"
        signers.append(
            _Signer(
                label=f"{report.field_name} (PAdES {report.level or 'unknown level'})",
                organisation_id=report.organisation_id,
                person_id=report.person_id,
                name=report.signer_name,
                organisation=report.organisation,
                role=report.role,
                when=when,
                checks={
                    "intact": report.intact,
                    "trusted": report.trusted,
                    "timestamped": report.timestamp_valid if report.timestamp_present else False,
                    "covers_whole_document": report.covers_whole_document,
                },
                problems=[p.message for p in report.problems],
                fingerprint=report.cms_sha256,
            )
        )
    return signers


def _jws_signer(
    hub: BayflowClient, path: Path, content: bytes
) -> tuple[_Signer, BayflowError | None]:
    text = _read(path).decode("ascii", "replace").strip()
    try:
        claimed = DetachedSignature.from_jws(text, content)
    except BayflowError as exc:
        signer = _Signer(path.name, None, None, None, None, None, "unknown", {"intact": False})
        signer.problems.append(exc.message)
        return signer, exc
    signer = _Signer(
        label=f"{path.name} (detached JWS)",
        organisation_id=claimed.organisation_id,
        person_id=claimed.person_id,
        name=claimed.name,
        organisation=claimed.issuer,
        role=claimed.role.label if claimed.role else None,
        when=f"{claimed.signed_at.isoformat()} (claimed by the signer)",
        checks={"intact": None, "key_in_force": None},
        fingerprint=claimed.fingerprint.hex(),
    )
    try:
        document = hub.request(
            "GET", f"/orgs/{claimed.organisation_id}/did.json", auth=False
        ).json()
        verified = verify_content(text, content, document)
    except BayflowError as exc:
        signer.checks["intact"] = False
        signer.problems.append(exc.message)
        return signer, exc
    signer.checks["intact"] = True
    signer.checks["key_in_force"] = verified.key_retired_at is None
    if verified.key_retired_at is not None:
        signer.when += f"; key retired since {verified.key_retired_at.isoformat()}"
    return signer, None


def _check_mandates(
    hub: BayflowClient, signers: Sequence[_Signer], action: str, amount: str | None
) -> list[dict[str, Any]]:
    by_organisation: dict[str, list[str]] = defaultdict(list)
    for signer in signers:
        if signer.valid and signer.organisation_id and signer.person_id:
            by_organisation[signer.organisation_id].append(signer.person_id)
    if not by_organisation:
        return [
            {
                "organisation_id": None,
                "allowed": False,
                "reasons": ["no valid signature names a Bayflow organisation and person"],
            }
        ]
    results = []
    for organisation_id, person_ids in by_organisation.items():
        try:
            answer = hub.post(
                f"/orgs/{organisation_id}/authority",
                {"signers": person_ids, "action": action, "amount": _money(amount)},
            )
        except NotFound as exc:
            raise NotFound(
                f"the hub does not show {organisation_id}'s mandates to you: only its members "
                "and the operator may check them (use such a key file with --key)"
            ) from exc
        results.append({"organisation_id": organisation_id, **answer})
    return results


def _print_report(
    file: Path, signers: Sequence[_Signer], mandates: Sequence[dict[str, Any]], action: str | None
) -> None:
    print(f"{file}: {len(signers)} signature(s)")
    for number, signer in enumerate(signers, 1):
        verdict = "valid" if signer.valid else "INVALID"
        print(f"  {number}. {signer.label}: {verdict}")
        who = signer.name or "(name not stated)"
        print(f"     signer       {who} <{signer.person_id or 'no Bayflow person id'}>")
        org = signer.organisation or "unknown"
        print(f"     organisation {org} <{signer.organisation_id or 'no Bayflow id'}>")
        print(f"     role         {signer.role or 'not stated'}")
        print(f"     when         {signer.when}")
        checks = ", ".join(
            f"{name.replace('_', ' ')}: {'yes' if value else 'no'}"
            for name, value in signer.checks.items()
            if value is not None
        )
        print(f"     checks       {checks}")
        if signer.fingerprint:
            anchored = (
                f"ledger index {signer.ledger_index}"
                if signer.ledger_index is not None
                else "not anchored in the hub's ledger"
            )
            print(f"     fingerprint  sha256:{signer.fingerprint} ({anchored})")
        for problem in signer.problems:
            print(f"     problem      {problem}")
    names = {s.organisation_id: s.organisation for s in signers if s.organisation_id}
    for result in mandates:
        organisation_id = result["organisation_id"]
        organisation = names.get(organisation_id) or organisation_id or "their organisation"
        if result["allowed"]:
            mandate = result["mandate"]
            print(
                f"mandate: {organisation} is bound for {action} under mandate {mandate['id']} "
                f"({mandate['description']})"
            )
        else:
            print(f"mandate: the signers may not bind {organisation} for {action}:")
            for reason in result["reasons"]:
                print(f"  - {reason}")


def _check_pdf(
    hub: BayflowClient, content: bytes, ca: Path | None
) -> tuple[list[_Signer], BayflowError | None]:
    roots = [_read(ca)] if ca is not None else [fetch_ca_certificate(hub.url)]
    reports = inspect_pdf(content, roots)
    try:
        raise_for_reports(reports)
    except BayflowError as exc:
        return _pdf_signers(reports), exc
    return _pdf_signers(reports), None


def _check_jws(
    hub: BayflowClient, content: bytes, paths: Sequence[Path]
) -> tuple[list[_Signer], BayflowError | None]:
    signers, first_error = [], None
    for path in paths:
        signer, error = _jws_signer(hub, path, content)
        signers.append(signer)
        first_error = first_error or error
    return signers, first_error


def verify_signature(
    file: Annotated[Path, typer.Argument(help="The signed document.")],
    jws: Annotated[
        list[Path] | None,
        typer.Option("--jws", help="A detached JWS over FILE (repeatable) [default: FILE.jws]."),
    ] = None,
    ca: Annotated[
        Path | None,
        typer.Option(help="PDF: the CA certificate to trust [default: fetched from the hub]."),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(help="Check the signers may bind their organisation for this action."),
    ] = None,
    amount: Annotated[
        str | None, typer.Option(help="The action's value for the mandate, e.g. 'CNY 100'.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Verify FILE's signatures and report who signed, for whom, in which role and when.

    Exits non-zero when a signature does not hold (its error says why) or, with --action,
    when the signers do not satisfy any of their organisation's mandates.
    """
    content = _read(file)
    if amount is not None and action is None:
        raise InvalidInput("--amount needs --action")
    default_jws = file.with_name(f"{file.name}.jws")
    as_pdf = _is_pdf(content) and not jws
    if not as_pdf and not jws:
        if not default_jws.exists():
            raise InvalidInput(f"{file} is not a PDF and {default_jws} does not exist: use --jws")
        jws = [default_jws]
    with _verifying_client(url, key, need_auth=action is not None) as hub:
        if as_pdf:
            signers, first_error = _check_pdf(hub, content, ca)
        else:
            signers, first_error = _check_jws(hub, content, jws or [])
        for signer in signers:
            if signer.fingerprint:
                signer.ledger_index = _ledger_index_of(hub, signer.fingerprint)
        mandates = _check_mandates(hub, signers, action, amount) if action else []
    if as_json:
        report = {"file": str(file), "signatures": [s.to_json() for s in signers]}
        print_json({**report, "mandates": mandates})
    else:
        _print_report(file, signers, mandates, action)
    if first_error is not None:
        raise first_error
    refused = [m for m in mandates if not m["allowed"]]
    if refused:
        reasons = [r for m in refused for r in m["reasons"]]
        raise MandateNotSatisfied(
            f"the signers may not bind their organisation for {action}: {reasons[-1]}",
            reasons=reasons,
        )


def register(app: typer.Typer) -> None:
    app.command("sign")(sign)
    app.command("verify-signature")(verify_signature)
