"""A transparency-log witness, as specified by c2sp.org/tlog-witness (``add-checkpoint``).

A witness remembers, for each log it follows, the latest checkpoint it cosigned. Offered a new
checkpoint with a consistency proof from that one, it checks the log's signature and the proof
and only then cosigns (c2sp.org/tlog-cosignature, Ed25519 ``cosignature/v1``). It therefore
never cosigns two views of one log that cannot both be true: a fork (same size, another root,
or a proof that fails) or a rollback (a smaller tree) is refused. Clients verifying a proof
offline trust a checkpoint once enough independent witnesses have cosigned it.

This module is the protocol's logic with no I/O: :class:`Witness` takes the request body and
returns the cosignature lines or raises. Persistence is a callback, run under the witness's
lock before an answer is returned, because the spec requires the new state to be durable
before the cosignature leaves and the check-and-update to be atomic (tlog-witness,
"add-checkpoint", the race of requests A and B). The HTTP server is
:mod:`bayflow.api.witness`.

Refusals map to the spec's HTTP status codes:

=========================================  =====  ==============================================
error                                      HTTP   when
=========================================  =====  ==============================================
:class:`~.errors.MalformedWitnessRequest`  400    the body is not ``old``/proof/blank/checkpoint,
                                                  or the old size exceeds the checkpoint's size
:class:`UnknownLog`                        404    the witness does not follow the origin
:class:`~.errors.UntrustedNote`,           403    no trusted log signature, or a trusted key's
:class:`~.errors.NoteSignatureInvalid`            signature fails
:class:`OldSizeMismatch`                   409    ``old`` is not the size the witness last cosigned
:class:`~.errors.ConsistencyProofInvalid`  422    the proof fails, a proof is sent with ``old 0``,
                                                  equal sizes with other roots, or a size-0 tree
                                                  without the empty root
=========================================  =====  ==============================================

:class:`UnknownLog` and :class:`OldSizeMismatch` live here rather than in
:mod:`bayflow.ledger.errors`: they are answers of this protocol (not found, conflict), not
verdicts about a proof, and that module's classes are exactly the parse errors and the
verification failures with their ``bayflow verify`` exit codes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Self

from bayflow.errors import Conflict, NotFound
from bayflow.ledger._text import decode_base64, decode_decimal, encode_base64
from bayflow.ledger.checkpoint import Checkpoint
from bayflow.ledger.cosignature import CosignatureSigner
from bayflow.ledger.errors import (
    ConsistencyProofInvalid,
    LedgerError,
    MalformedCheckpoint,
    MalformedNote,
    MalformedWitnessRequest,
)
from bayflow.ledger.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from bayflow.ledger.note import Note, NoteSignature, NoteVerifier

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_MEDIA_TYPE",
    "STATE_TYPE",
    "AddCheckpointRequest",
    "OldSizeMismatch",
    "UnknownLog",
    "Witness",
    "WitnessState",
    "origin_hash",
    "parse_cosignatures",
]

MAX_PROOF_LINES: Final = 63
"""A client MUST NOT send more consistency proof lines than this (tlog-witness)."""

SIZE_MEDIA_TYPE: Final = "text/x.tlog.size"
"""The ``Content-Type`` of a 409 answer, whose body is the witness's size and a newline."""

STATE_TYPE: Final = "bayflow-witness-state/1"


class UnknownLog(LedgerError, NotFound):
    """The witness follows no log with this origin (HTTP 404)."""

    slug = "ledger-witness-unknown-log"
    title = "Unknown log"


class OldSizeMismatch(LedgerError, Conflict):
    """``old`` is not the size of the latest checkpoint cosigned for the origin (HTTP 409).

    ``size`` is that latest size (0 if none), which the answer carries so the log can retry
    with a proof from it.
    """

    slug = "ledger-witness-old-size-mismatch"
    title = "Old size does not match the witness's"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


def origin_hash(origin: str) -> str:
    """Lowercase hex SHA-256 of the origin, the path segment of the monitoring endpoint."""
    return hashlib.sha256(origin.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AddCheckpointRequest:
    """The body of ``POST <prefix>/add-checkpoint``: old size, consistency proof, checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: Note

    def __post_init__(self) -> None:
        if not 0 <= self.old_size < 1 << 64:
            raise MalformedWitnessRequest("the old size is a 64-bit unsigned integer")
        if len(self.proof) > MAX_PROOF_LINES:
            raise MalformedWitnessRequest(f"at most {MAX_PROOF_LINES} consistency proof lines")
        if any(len(node) != HASH_SIZE for node in self.proof):
            raise MalformedWitnessRequest("consistency proof lines are 32-byte hashes")

    @classmethod
    def from_bytes(cls, body: bytes) -> Self:
        """Parse strictly: ``old N``, proof lines, an empty line, then a signed checkpoint."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedWitnessRequest("the request body must be UTF-8") from None
        # The old size and proof lines are never empty, so the first empty line ends them.
        head, separator, note = text.partition("\n\n")
        if not separator:
            raise MalformedWitnessRequest("an empty line must separate the proof and checkpoint")
        old_line, *proof_lines = head.split("\n")
        if not old_line.startswith("old "):
            raise MalformedWitnessRequest("the first line is 'old <size>'")
        old_size = decode_decimal(old_line[4:], "old size", MalformedWitnessRequest)
        if len(proof_lines) > MAX_PROOF_LINES:
            raise MalformedWitnessRequest(f"at most {MAX_PROOF_LINES} consistency proof lines")
        proof = tuple(
            decode_base64(line, "consistency proof line", MalformedWitnessRequest)
            for line in proof_lines
        )
        try:
            checkpoint = Note.from_text(note)
        except MalformedNote as exc:
            raise MalformedWitnessRequest(f"the checkpoint is malformed: {exc.message}") from exc
        return cls(old_size, proof, checkpoint)

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old_size}", *(encode_base64(node) for node in self.proof)]
        return ("".join(f"{line}\n" for line in lines) + "\n" + self.checkpoint.to_text()).encode()


def parse_cosignatures(body: bytes) -> tuple[NoteSignature, ...]:
    """Parse a 200 answer: one or more note signature lines, each ending in a newline.

    The caller still verifies them against the witness keys it trusts, e.g. by adding them to
    its checkpoint note and calling :meth:`Note.verify` (tlog-witness, "add-checkpoint").
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("a witness answer must be UTF-8") from None
    if not text.endswith("\n") or text == "\n":
        raise MalformedNote("a witness answer is signature lines, each ending in a newline")
    return tuple(NoteSignature.from_line(line) for line in text[:-1].split("\n"))


def _origin_of(note: Note) -> str:
    return note.text.partition("\n")[0]


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The latest checkpoint cosigned per origin, each with the log and witness signatures.

    The file form is ``{"type": "bayflow-witness-state/1", "checkpoints": ["<note>", ...]}``:
    the notes are kept whole, so the monitoring endpoint can serve them as they were cosigned,
    and sizes and roots are read back from them rather than stored twice.
    """

    checkpoints: Mapping[str, Note]

    def __post_init__(self) -> None:
        for origin, note in self.checkpoints.items():
            if _origin_of(note) != origin:
                raise MalformedCheckpoint(f"the state of {origin!r} holds another log's checkpoint")
            Checkpoint.from_text(note.text)

    @classmethod
    def empty(cls) -> Self:
        return cls({})

    def latest(self, origin: str) -> Checkpoint | None:
        note = self.checkpoints.get(origin)
        return None if note is None else Checkpoint.from_text(note.text)

    def with_checkpoint(self, note: Note) -> WitnessState:
        return WitnessState({**self.checkpoints, _origin_of(note): note})

    def to_json(self) -> dict[str, Any]:
        notes = [self.checkpoints[origin].to_text() for origin in sorted(self.checkpoints)]
        return {"type": STATE_TYPE, "checkpoints": notes}

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if (
            not isinstance(data, dict)
            or data.get("type") != STATE_TYPE
            or set(data)
            != {
                "type",
                "checkpoints",
            }
        ):
            raise MalformedCheckpoint(f"not a witness state (expected type {STATE_TYPE})")
        notes = data["checkpoints"]
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise MalformedCheckpoint("a witness state's checkpoints are a list of notes")
        parsed = [Note.from_text(note) for note in notes]
        checkpoints = {_origin_of(note): note for note in parsed}
        if len(checkpoints) != len(parsed):
            raise MalformedCheckpoint("a witness state holds two checkpoints for one log")
        return cls(checkpoints)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            return cls.from_json(json.loads(data))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedCheckpoint(f"the witness state is not JSON: {exc}") from exc


class Witness:
    """Verifies and cosigns checkpoints of the logs whose keys it is given.

    ``logs`` are the trusted log keys; each key's name is the origin it signs for, as
    tlog-checkpoint says it SHOULD be. ``persist`` receives the whole new state and must make
    it durable before returning; if it raises, nothing is cosigned and the state in memory is
    unchanged.
    """

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Iterable[NoteVerifier],
        *,
        state: WitnessState | None = None,
        persist: Callable[[WitnessState], None] | None = None,
    ) -> None:
        self._signer = signer
        self._logs: dict[str, list[NoteVerifier]] = {}
        for key in logs:
            self._logs.setdefault(key.name, []).append(key)
        if not self._logs:
            raise ValueError("a witness needs at least one log key")
        self._state = state or WitnessState.empty()
        self._persist = persist
        self._lock = threading.Lock()

    @property
    def signer(self) -> CosignatureSigner:
        return self._signer

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(sorted(self._logs))

    @property
    def state(self) -> WitnessState:
        return self._state

    def checkpoint(self, origin_hex: str) -> Note | None:
        """The latest cosigned checkpoint of the log whose :func:`origin_hash` is given."""
        state = self._state
        for origin, note in state.checkpoints.items():
            if origin_hash(origin) == origin_hex:
                return note
        return None

    def add_checkpoint(
        self, request: AddCheckpointRequest | bytes, now: datetime
    ) -> tuple[NoteSignature, ...]:
        """Check ``request`` and cosign its checkpoint at ``now``; return the cosignature lines.

        Raises the errors in the module's table; nothing is cosigned or stored when it raises.
        """
        if isinstance(request, bytes):
            request = AddCheckpointRequest.from_bytes(request)
        note = request.checkpoint
        # The checks of tlog-witness, "add-checkpoint", in the order its status codes imply:
        # 1. The origin is one this witness follows (404).
        # 2. A trusted log key signed the note and no trusted signature fails (403).
        # 3. The note is a checkpoint, no smaller than the old size (400).
        # 4. Atomically with (6): the old size is the latest cosigned size (409).
        # 5. The checkpoint is consistent with the latest cosigned one (422).
        # 6. Cosign, persist, and only then answer.
        origin = _origin_of(note)
        # (1):
        keys = self._logs.get(origin)
        if keys is None:
            raise UnknownLog(f"this witness does not follow the log {origin!r}")
        # (2):
        log_signatures = note.verify(keys)
        # (3):
        try:
            checkpoint = Checkpoint.from_text(note.text)
        except MalformedCheckpoint as exc:
            raise MalformedWitnessRequest(exc.message) from exc
        if request.old_size > checkpoint.size:
            raise MalformedWitnessRequest(
                f"old size {request.old_size} exceeds the checkpoint size {checkpoint.size}"
            )
        with self._lock:
            latest = self._state.latest(origin)
            # (4):
            latest_size = 0 if latest is None else latest.size
            if request.old_size != latest_size:
                raise OldSizeMismatch(
                    f"the latest checkpoint cosigned for {origin!r} has size {latest_size}",
                    size=latest_size,
                )
            # (5):
            _check_consistency(request.proof, latest, checkpoint)
            # (6):
            message = note.text.encode()
            cosignature = NoteSignature(
                self._signer.name, self._signer.key_id, self._signer.sign_at(message, now)
            )
            kept = Note(note.text, (*log_signatures, cosignature))
            new_state = self._state.with_checkpoint(kept)
            if self._persist is not None:
                self._persist(new_state)
            self._state = new_state
        return (cosignature,)


def _check_consistency(
    proof: Sequence[bytes], latest: Checkpoint | None, checkpoint: Checkpoint
) -> None:
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        raise ConsistencyProofInvalid("a checkpoint of size 0 must have the empty tree's root")
    if latest is None or latest.size == 0:
        # The empty tree is consistent with every tree, so there is nothing to prove.
        if proof:
            raise ConsistencyProofInvalid("a proof from size 0 must be empty")
        return
    # Equal sizes need equal roots and an empty proof: that is the fork the witness exists for.
    verify_consistency(latest.size, checkpoint.size, proof, latest.root_hash, checkpoint.root_hash)
