"""The verification ledger over HTTP.

Read side, public and cacheable, as c2sp.org/tlog-tiles lays it out under ``/ledger``:

- ``GET /ledger/key`` — the log's verifier key, ``<name>+<hex key ID>+<base64>`` (signed-note);
- ``GET /ledger/checkpoint`` — the newest published checkpoint with its witness cosignatures,
  ``text/plain; charset=utf-8``, cached for a second at most;
- ``GET /ledger/tile/<L>/<N>[.p/<W>]`` and ``GET /ledger/tile/entries/<N>[.p/<W>]`` — hash
  tiles and entry bundles; full ones are immutable and cached for a year.

Write side (``/ledger/v1``), for members with the ``ledger`` scope; the issuer of every entry is
the caller's organisation, taken from the token:

- ``POST /ledger/v1/anchors[?wait=false]`` — a JSON list of 1 to 1,000
  ``{"digest": hex or base64url, "schema": "...", "kind": "document"}``;
- ``POST /ledger/v1/revocations[?wait=false]`` — ``{"digest": ...}``, by the commitment's issuer;
- ``GET /ledger/v1/status/{commitment}`` — every entry for a commitment, its revocation, proofs.

Anchoring answers ``{"anchors": [item, ...]}`` in request order, and revoking answers one item::

    {"index": 7, "kind": "document", "digest": "<hex>", "schema": "...", "issuer": "org_...",
     "anchored_at": "...", "created": true, "entry": "<base64 of the v1 entry bytes>",
     "proof": "<c2sp.org/tlog-proof text>" or null}

A resubmitted commitment gets its original item with ``"created": false``. By default the
answer waits (asynchronously) until a published — and, with witnesses, cosigned — checkpoint
covers every entry, and carries a proof each; with ``wait=false`` it comes at once, durable but
without proofs (status 200 either way). If no checkpoint comes within ``ledger_wait_s``, the
answer is 202 with ``"proof": null``: the entries are in the log, and their status has proofs
later. The status document is ``{"commitment": "<hex>", "entries": [item, ...],
"revocation": item or null, "revoked": bool, "checkpoint": "<note>" or null}``.
"""

from __future__ import annotations

import base64
import gzip
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import DatabaseDep
from bayflow.api.ledger import LedgerRuntime
from bayflow.identity.auth import Scope
from bayflow.ledger.entry import EntryKind
from bayflow.ledger.errors import MalformedTile
from bayflow.ledger.interfaces import StoredCheckpoint, StoredEntry
from bayflow.ledger.service import (
    MAX_BATCH,
    Anchored,
    Commitment,
    LedgerService,
    LogReader,
    Proven,
    parse_digest,
)
from bayflow.ledger.tiles import Tile
from bayflow.store import Database
from bayflow.store.ledger import SqlLedgerRepository

__all__ = ["router"]

router = APIRouter(prefix="/ledger", tags=["ledger"])

TEXT: Final = "text/plain; charset=utf-8"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
# tlog-tiles: the checkpoint SHOULD NOT be cached beyond a few seconds. A partial tile never
# changes either, but it may stop being served once its full tile exists.
CHECKPOINT_CACHE: Final = "public, max-age=1"
PARTIAL_CACHE: Final = "public, max-age=10"


class AnchorItem(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    digest: str = Field(description="The 32-byte commitment: 64 hex digits or base64url.")
    # "schema" would shadow a BaseModel attribute, hence the alias.
    schema_name: str = Field(alias="schema", description="The content's schema, e.g. vat/1.")
    kind: EntryKind = Field(default=EntryKind.DOCUMENT, description="What the digest commits to.")


class RevocationItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digest: str = Field(description="The commitment to revoke: 64 hex digits or base64url.")


def _runtime(request: Request) -> LedgerRuntime:
    runtime: LedgerRuntime = request.app.state.ledger
    return runtime


def _item(stored: StoredEntry, proof: str | None, *, created: bool | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "index": stored.index,
        "kind": stored.kind,
        "digest": stored.digest.hex(),
        "schema": stored.schema,
        "issuer": stored.issuer,
        "anchored_at": stored.anchored_at.isoformat(),
    }
    if created is not None:
        item["created"] = created
    item["entry"] = base64.b64encode(stored.leaf).decode("ascii")
    item["proof"] = proof
    return item


def _proven_item(proven: Proven, *, created: bool | None = None) -> dict[str, Any]:
    proof = None if proven.proof is None else proven.proof.to_text()
    return _item(proven.stored, proof, created=created)


# Read side.


@router.get("/key", summary="The log's verifier key", response_class=Response)
async def log_key(request: Request) -> Response:
    vkey = _runtime(request).policy.verifier.vkey
    return Response(f"{vkey}\n", media_type=TEXT)


def _published(database: Database) -> StoredCheckpoint | None:
    with database.reading() as session:
        return LogReader(SqlLedgerRepository(session)).published()


@router.get(
    "/checkpoint",
    summary="The newest published checkpoint, with witness cosignatures",
    response_class=Response,
)
async def checkpoint(database: DatabaseDep) -> Response:
    published = await run_in_threadpool(_published, database)
    if published is None:
        return Response(
            "no checkpoint is published yet\n",
            status_code=404,
            media_type=TEXT,
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        published.signed_note().to_text(),
        media_type=TEXT,
        headers={"Cache-Control": CHECKPOINT_CACHE},
    )


def _tile(database: Database, tile: Tile) -> bytes:
    with database.reading() as session:
        return LogReader(SqlLedgerRepository(session)).tile(tile)


@router.get(
    "/tile/{path:path}",
    summary="A hash tile or entry bundle (c2sp.org/tlog-tiles)",
    response_class=Response,
)
async def tile(path: str, request: Request, database: DatabaseDep) -> Response:
    try:
        parsed = Tile.from_path(f"tile/{path}")
    except MalformedTile:
        # Tile paths name static resources: a path that names none is simply not there.
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    data = await run_in_threadpool(_tile, database, parsed)
    headers = {"Cache-Control": PARTIAL_CACHE if parsed.is_partial else IMMUTABLE}
    if parsed.entries:
        # tlog-tiles: entry bundles SHOULD be compressed at the HTTP layer. Hash tiles are
        # random bytes, which compression cannot shrink.
        headers["Vary"] = "Accept-Encoding"
        if "gzip" in request.headers.get("accept-encoding", ""):
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
    return Response(data, media_type="application/octet-stream", headers=headers)


# Write side.


def _anchor(
    runtime: LedgerRuntime, database: Database, commitments: list[Commitment], issuer: str
) -> list[Anchored]:
    with database.transaction() as session:
        service = LedgerService(SqlLedgerRepository(session), runtime.policy, runtime.clock)
        return service.anchor(commitments, issuer=issuer)


def _revoke(runtime: LedgerRuntime, database: Database, digest: bytes, issuer: str) -> Anchored:
    with database.transaction() as session:
        service = LedgerService(SqlLedgerRepository(session), runtime.policy, runtime.clock)
        return service.revoke(digest, issuer=issuer)


def _prove(
    database: Database, entries: list[StoredEntry], checkpoint: StoredCheckpoint
) -> list[Proven]:
    with database.reading() as session:
        return LogReader(SqlLedgerRepository(session)).prove(entries, checkpoint)


async def _answer(
    request: Request, database: Database, anchored: list[Anchored], *, wait: bool
) -> tuple[int, list[dict[str, Any]]]:
    """The items for ``anchored``, with proofs once a published checkpoint covers them all."""
    runtime = _runtime(request)
    runtime.wake()
    if not wait:
        return 200, [_item(a.stored, None, created=a.created) for a in anchored]
    needed = max(a.stored.index for a in anchored) + 1
    published = await runtime.wait_published(needed)
    if published is None:
        return 202, [_item(a.stored, None, created=a.created) for a in anchored]
    proven = await run_in_threadpool(_prove, database, [a.stored for a in anchored], published)
    return 200, [
        _proven_item(item, created=a.created) for item, a in zip(proven, anchored, strict=True)
    ]


@router.post("/v1/anchors", summary="Anchor 1 to 1,000 commitments")
async def anchor(
    request: Request,
    principal: PrincipalDep,
    database: DatabaseDep,
    items: Annotated[list[AnchorItem], Body(min_length=1, max_length=MAX_BATCH)],
    wait: bool = True,
) -> JSONResponse:
    principal.require(Scope.LEDGER)
    commitments = [
        Commitment(item.kind, parse_digest(item.digest), item.schema_name) for item in items
    ]
    runtime = _runtime(request)
    anchored = await run_in_threadpool(
        _anchor, runtime, database, commitments, principal.organisation_id
    )
    status, answer = await _answer(request, database, anchored, wait=wait)
    return JSONResponse({"anchors": answer}, status_code=status)


@router.post("/v1/revocations", summary="Revoke a commitment your organisation anchored")
async def revoke(
    request: Request,
    principal: PrincipalDep,
    database: DatabaseDep,
    item: RevocationItem,
    wait: bool = True,
) -> JSONResponse:
    principal.require(Scope.LEDGER)
    digest = parse_digest(item.digest)
    runtime = _runtime(request)
    anchored = await run_in_threadpool(
        _revoke, runtime, database, digest, principal.organisation_id
    )
    status, answer = await _answer(request, database, [anchored], wait=wait)
    return JSONResponse(answer[0], status_code=status)


def _status(database: Database, digest: bytes) -> dict[str, Any]:
    with database.reading() as session:
        status = LogReader(SqlLedgerRepository(session)).status(digest)
    return {
        "commitment": status.digest.hex(),
        "entries": [_proven_item(item) for item in status.entries],
        "revocation": None if status.revocation is None else _proven_item(status.revocation),
        "revoked": status.revocation is not None,
        "checkpoint": None
        if status.checkpoint is None
        else status.checkpoint.signed_note().to_text(),
    }


@router.get("/v1/status/{commitment}", summary="A commitment's entries, revocation and proofs")
async def commitment_status(commitment: str, database: DatabaseDep) -> JSONResponse:
    digest = parse_digest(commitment)
    return JSONResponse(await run_in_threadpool(_status, database, digest))
