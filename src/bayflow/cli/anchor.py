"""``bayflow anchor``, ``disclose``, ``status``, ``verify``: the data stays, the proof crosses.

``anchor`` computes a salted commitment on this machine (:mod:`bayflow.ledger.commitment`),
sends only the commitment to the hub, and writes two files beside the input: ``FILE.proof``,
the c2sp.org/tlog-proof of the entry, and ``FILE.salt``, the secret that opens the commitment.
``disclose`` turns a record committed field by field into a partial disclosure. ``status`` asks
the hub whether a commitment was revoked and saves its answer for ``verify --status``; ``revoke``
anchors the issuer's revocation of a commitment. ``verify``
checks a file, a record or a partial disclosure against its proof with no network at all, and
exits with the code of the first check that fails:

====  =========================================================================
17    the content (or a disclosed value) or the salt does not give the commitment
10    the inclusion proof does not put the entry in the checkpointed tree
12    the log's signature on the checkpoint does not verify
13    the checkpoint carries no signature by the given log key
14    the checkpoint is for another log, or too small for the entry's index
15    a given witness's cosignature does not verify
16    fewer given witnesses cosigned than ``--min-cosignatures``
18    the issuer revoked the commitment (from the proof's extension or ``--status``)
65    an input file is malformed
====  =========================================================================
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from bayflow.cli._client import DEFAULT_URL, KeyOption, UrlOption, open_client, print_json
from bayflow.cli._keys import read_log_key, read_witness_key, write_secret
from bayflow.client import BayflowClient
from bayflow.config import load_settings
from bayflow.errors import BayflowError, InvalidInput, NotFound
from bayflow.ledger.commitment import (
    CommitmentSecret,
    RecordDisclosure,
    commit_chunks,
    commit_record,
    commit_record_fields,
    disclose,
    new_salt,
    parse_record,
    verify_content_chunks,
)
from bayflow.ledger.cosignature import WitnessPolicy
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.errors import InclusionProofInvalid, LedgerError
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import Ed25519Verifier
from bayflow.ledger.proof import ProofBundle, verify_proof
from bayflow.ledger.revocation import RevocationProof

__all__ = ["anchor", "disclose_fields", "register", "revoke", "status", "verify"]

_CHUNK: Final = 1 << 20
_BYTE_KINDS: Final = tuple(
    kind.value
    for kind in EntryKind
    if kind not in {EntryKind.RECORD, EntryKind.RECORD_FIELDS, EntryKind.REVOCATION}
)
_DEFAULT_SCHEMA: Final = {False: "document/1", True: "record/1"}


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise NotFound(f"cannot read {what} {path}: {exc.strerror}") from exc


@dataclass(frozen=True, slots=True)
class _OpenFile:
    """A file read in chunks, with the length fixed when it was opened."""

    path: Path
    length: int

    @classmethod
    def of(cls, path: Path) -> _OpenFile:
        try:
            return cls(path, path.stat().st_size)
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror}") from exc

    def chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


# Anchoring.


class ProofPending(BayflowError):
    """The entry is in the log, but no published checkpoint covers it yet."""

    slug = "ledger-proof-pending"
    title = "Proof not yet available"
    exit_code = 75  # EX_TEMPFAIL: try again later.


def _only_answer(body: Any) -> dict[str, Any]:
    """The hub's item for the one commitment sent (``{"anchors": [item]}``)."""
    items = body.get("anchors") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise BayflowError("the hub's answer to the anchor request is not one entry")
    answer: dict[str, Any] = items[0]
    return answer


def _hub_log_key(hub: BayflowClient) -> Ed25519Verifier:
    return Ed25519Verifier.from_vkey(hub.request("GET", "/ledger/key", auth=False).text.strip())


def _checked_proof(hub: BayflowClient, entry: Entry, proof: str) -> ProofBundle:
    """The hub's proof for ``entry``, checked against the hub's log key.

    Only the log's own signature can be checked here (the verifier's witness policy is for
    ``verify``), but that is enough to catch a hub that logged another entry than the one
    computed here, e.g. under another issuer name, before files that could never verify are
    kept.
    """
    bundle = ProofBundle.from_text(proof)
    try:
        verify_proof(bundle, hash_leaf(entry.to_bytes()), _hub_log_key(hub), (), 0)
    except InclusionProofInvalid as exc:
        raise InclusionProofInvalid(
            f"the hub's proof is not for the entry computed here ({entry.kind.value}, "
            f"{entry.schema}, issuer {entry.issuer}): {exc.message}"
        ) from exc
    return bundle


def _anchor_commitment(hub: BayflowClient, target: Path, secret: CommitmentSecret) -> ProofBundle:
    """POST the commitment and return its checked proof.

    Raises:
        ProofPending: the hub logged the entry but no checkpoint covered it in time.
    """
    item = {"digest": secret.commitment.hex(), "schema": secret.schema, "kind": secret.kind.value}
    answer = _only_answer(hub.post("/ledger/v1/anchors", [item]))
    proof = answer.get("proof")
    if proof is None:
        raise ProofPending(
            f"{target} is log entry {answer.get('index')}, but no checkpoint covers it yet; "
            f"run 'bayflow status {target}' later to fetch its proof"
        )
    if not isinstance(proof, str):
        raise BayflowError("the hub's proof is not tlog-proof text")
    return _checked_proof(hub, secret.entry(), proof)


def _commit(
    target: Path, *, is_record: bool, fields: bool, kind: EntryKind, schema: str, issuer: str
) -> CommitmentSecret:
    if not is_record:
        opened = _OpenFile.of(target)
        salt = new_salt()
        commitment = commit_chunks(
            kind, salt, schema, issuer, opened.chunks(), length=opened.length
        )
        return CommitmentSecret(kind, schema, issuer, salt, commitment)
    record = parse_record(_read(target, "record"), f"record {target}")
    if fields:
        return commit_record_fields(record, schema, issuer)
    return commit_record(record, schema, issuer)


def anchor(
    file: Annotated[Path | None, typer.Argument(help="The file to anchor.")] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="A JSON record to anchor instead of a file.")
    ] = None,
    fields: Annotated[
        bool,
        typer.Option(
            "--fields", help="Commit the record field by field, so fields can be disclosed alone."
        ),
    ] = False,
    schema: Annotated[
        str | None,
        typer.Option(help="The content's schema name (default: document/1 for a file, record/1)."),
    ] = None,
    kind: Annotated[
        str, typer.Option(help=f"What a file is: {', '.join(_BYTE_KINDS)}.")
    ] = EntryKind.DOCUMENT.value,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Anchor a commitment to FILE (or a record) in the hub's ledger; the data stays here.

    Writes FILE.proof (the offline proof) and FILE.salt (the secret that opens the commitment:
    keep it, and share it only with whoever should verify).
    """
    # 0. Exactly one input; options that only make sense for one of them.
    # 1. Compute the commitment locally, so that only it leaves this machine.
    # 2. Keep the salt before anchoring: an anchored commitment without its salt is useless.
    # 3. Anchor; check the proof is for the entry computed here; keep the proof.
    # (0):
    if (file is None) == (record is None):
        raise InvalidInput("give either FILE or --record R.json")
    if fields and record is None:
        raise InvalidInput("--fields applies to --record only")
    if kind not in _BYTE_KINDS or (record is not None and kind != EntryKind.DOCUMENT.value):
        raise InvalidInput(f"--kind is one of {', '.join(_BYTE_KINDS)}, for a file only")
    target = file or record
    assert target is not None
    proof_path, salt_path = _sibling(target, ".proof"), _sibling(target, ".salt")
    for path in (proof_path, salt_path):
        if path.exists():
            raise InvalidInput(f"{path} exists: move it away to anchor {target.name} again")
    with open_client(url, key) as hub:
        if hub.key_file is None:
            raise InvalidInput("anchoring needs a key file")
        # (1):
        secret = _commit(
            target,
            is_record=record is not None,
            fields=fields,
            kind=EntryKind(kind),
            schema=schema or _DEFAULT_SCHEMA[record is not None],
            issuer=hub.key_file.organisation,
        )
        # (2):
        write_secret(salt_path, secret.to_bytes())
        # (3):
        try:
            bundle = _anchor_commitment(hub, target, secret)
        except ProofPending:
            # The commitment is in the log: its salt is the only way to ever open it.
            raise
        except BaseException:
            with suppress(OSError):
                salt_path.unlink()
            raise
    proof_path.write_bytes(bundle.to_bytes())
    print(f"anchored {target} as log entry {bundle.index}")
    print(f"commitment {secret.commitment.hex()} ({secret.kind.value}, {secret.schema})")
    print(f"proof: {proof_path}")
    print(f"salt:  {salt_path} (secret: it opens the commitment)")


# Disclosure.


def disclose_fields(
    record: Annotated[Path, typer.Argument(help="The record anchored with --record --fields.")],
    fields: Annotated[
        str, typer.Option("--fields", help="The fields to disclose, comma-separated.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the disclosure.")],
    salt: Annotated[
        Path | None, typer.Option("--salt", help="The record's salt file (default: RECORD.salt).")
    ] = None,
) -> None:
    """Write a disclosure of chosen fields of a record; the other fields stay hidden."""
    names = [name for name in fields.split(",") if name]
    if not names:
        raise InvalidInput("--fields names at least one field")
    secret = CommitmentSecret.from_bytes(_read(salt or _sibling(record, ".salt"), "salt file"))
    content = parse_record(_read(record, "record"), f"record {record}")
    disclosure = disclose(secret, content, names)
    out.write_bytes(disclosure.to_bytes())
    hidden = len(disclosure.digests) - len(disclosure.disclosed)
    print(f"disclosed {', '.join(sorted(names))} in {out}; {hidden} digests stay hidden")
    print(f"hand over {out} with the record's proof file")


# Revocation.


def revoke(
    file: Annotated[Path, typer.Argument(help="A file or record your organisation anchored.")],
    salt: Annotated[Path | None, typer.Option(help="Its salt file (default: FILE.salt).")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Anchor the revocation of FILE's commitment; verifiers with a later status see it."""
    entry = CommitmentSecret.from_bytes(_read(salt or _sibling(file, ".salt"), "salt file")).entry()
    with open_client(url, key) as hub:
        answer = hub.post("/ledger/v1/revocations", {"digest": entry.digest.hex()})
    if not isinstance(answer, dict):
        raise BayflowError("the hub's answer to the revocation is not one entry")
    print(f"revoked commitment {entry.digest.hex()}: log entry {answer.get('index')}")


# Status.


def _anchored_entry(file: Path, salt: Path | None) -> Entry:
    """The entry FILE was anchored as, from its salt file or from FILE as a disclosure."""
    if salt is not None:
        return CommitmentSecret.from_bytes(_read(salt, "salt file")).entry()
    return RecordDisclosure.from_bytes(_read(file, "disclosure")).entry()


def _matching_item(document: Any, entry: Entry) -> dict[str, Any] | None:
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise BayflowError("the hub's status document has no list of entries")
    wanted = base64.b64encode(entry.to_bytes()).decode("ascii")
    return next((item for item in entries if item.get("entry") == wanted), None)


def status(
    file: Annotated[Path, typer.Argument(help="An anchored file or record, or a disclosure.")],
    salt: Annotated[
        Path | None,
        typer.Option(help="Its salt file (default: FILE.salt if it exists; else a disclosure)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Save the status document here, for verify --status."),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Ask the hub about FILE's commitment: its log entry and any revocation.

    Writes FILE.proof when it is missing and the hub now has a proof (after an anchoring that
    answered before a checkpoint covered the entry). The status is public: no key is needed.
    """
    if salt is None and _sibling(file, ".salt").exists():
        salt = _sibling(file, ".salt")
    entry = _anchored_entry(file, salt)
    with BayflowClient(url or load_settings().url or DEFAULT_URL) as hub:
        document = hub.get(f"/ledger/v1/status/{entry.digest.hex()}", auth=False)
        if out is not None:
            out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        item = _matching_item(document, entry)
        if item is None:
            raise NotFound(
                f"the log has commitment {entry.digest.hex()}, but not as the entry computed "
                f"here ({entry.kind.value}, {entry.schema}, issuer {entry.issuer})"
            )
        proof_path = _sibling(file, ".proof")
        proof = item.get("proof")
        if salt is not None and not proof_path.exists() and isinstance(proof, str):
            proof_path.write_bytes(_checked_proof(hub, entry, proof).to_bytes())
            print(f"proof: {proof_path}")
    print(f"{file}: log entry {item.get('index')}, commitment {entry.digest.hex()}")
    revocation = document.get("revocation")
    if isinstance(revocation, dict):
        print(f"revoked by {entry.issuer}: log entry {revocation.get('index')}")
    else:
        print("not revoked")


# Offline verification.


@dataclass(frozen=True, slots=True)
class _Opened:
    """An entry whose commitment was recomputed from content, and what it revealed."""

    entry: Entry
    disclosed: dict[str, Any] | None


def _open_commitment(file: Path, salt: Path | None) -> _Opened:
    if salt is not None:
        secret = CommitmentSecret.from_bytes(_read(salt, "salt file"))
        opened = _OpenFile.of(file)
        verify_content_chunks(secret, opened.chunks(), length=opened.length)
        return _Opened(secret.entry(), None)
    data = _read(file, "disclosure")
    try:
        disclosure = RecordDisclosure.from_bytes(data)
    except LedgerError as exc:
        raise InvalidInput(
            f"{file} is not a disclosure ({exc.message}); pass --salt FILE.salt to verify a "
            "file or a whole record"
        ) from exc
    return _Opened(disclosure.entry(), disclosure.verify())


def _revocations(bundle: ProofBundle, status: Path | None, entry: Entry) -> list[RevocationProof]:
    found = []
    carried = RevocationProof.from_extra(bundle.extra)
    if carried is not None:
        found.append(carried)
    if status is not None:
        try:
            document = json.loads(_read(status, "status document"))
        except ValueError as exc:
            raise InvalidInput(f"{status} is not JSON") from exc
        listed = RevocationProof.from_status(document, entry.digest)
        if listed is not None:
            found.append(listed)
    return found


def verify(
    file: Annotated[Path, typer.Argument(help="The file, record or partial disclosure.")],
    proof: Annotated[Path, typer.Option("--proof", help="Its proof file (tlog-proof).")],
    log_key: Annotated[
        str, typer.Option("--log-key", help="The log's verifier key, or a file holding it.")
    ],
    salt: Annotated[
        Path | None,
        typer.Option("--salt", help="The salt file; omit it when FILE is a partial disclosure."),
    ] = None,
    witness_key: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-key", help="A trusted witness's verifier key or key file (repeatable)."
        ),
    ] = None,
    min_cosignatures: Annotated[
        int | None,
        typer.Option(
            "--min-cosignatures", min=0, help="How many witnesses must cosign (default: all given)."
        ),
    ] = None,
    origin: Annotated[
        str | None, typer.Option(help="The log's origin line (default: the log key's name).")
    ] = None,
    status: Annotated[
        Path | None,
        typer.Option(help="A saved GET /ledger/v1/status/{commitment} answer to check too."),
    ] = None,
) -> None:
    """Verify FILE against its proof offline: content, inclusion, log key, witnesses, revocation."""
    # 0. The trust policy: the log key, the witnesses and the quorum.
    # 1. Recompute the commitment from the content and salt, or from the disclosed fields.
    # 2. The entry's leaf hash is in a checkpoint the log signed and enough witnesses cosigned.
    # 3. No revocation of the commitment is proven by the proof's extension or --status.
    # (0):
    log = read_log_key(log_key)
    witnesses = [read_witness_key(value) for value in witness_key or []]
    quorum = len(witnesses) if min_cosignatures is None else min_cosignatures
    if quorum > len(witnesses):
        raise InvalidInput(
            f"--min-cosignatures {quorum} needs at least {quorum} --witness-key options"
        )
    bundle = ProofBundle.from_bytes(_read(proof, "proof"))
    # (1):
    opened = _open_commitment(file, salt)
    # (2):
    leaf = hash_leaf(opened.entry.to_bytes())
    checkpoint = verify_proof(bundle, leaf, log, witnesses, quorum, origin=origin)
    cosigned = WitnessPolicy(tuple(witnesses), 0).check(bundle.checkpoint)
    # (3):
    for revocation in _revocations(bundle, status, opened.entry):
        revocation.check(opened.entry, log, origin=origin)
    result: dict[str, Any] = {
        "verified": True,
        "kind": opened.entry.kind.value,
        "schema": opened.entry.schema,
        "issuer": opened.entry.issuer,
        "commitment": opened.entry.digest.hex(),
        "log": checkpoint.origin,
        "index": bundle.index,
        "tree_size": checkpoint.size,
        "cosigned_by": sorted(cosignature.name for cosignature in cosigned),
    }
    if opened.disclosed is not None:
        result["disclosed"] = opened.disclosed
    print_json(result)


def register(app: typer.Typer) -> None:
    app.command("anchor")(anchor)
    app.command("disclose")(disclose_fields)
    app.command("revoke")(revoke)
    app.command("status")(status)
    app.command("verify")(verify)
