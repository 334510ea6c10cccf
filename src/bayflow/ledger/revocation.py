"""Offline evidence that a commitment was revoked (issue 4, point 9, the verifier's half).

A revocation is a ledger entry of kind ``revocation`` whose digest is the revoked commitment,
anchored by the same issuer (see :mod:`bayflow.ledger.entry`). Evidence of one is that entry
plus a c2sp.org/tlog-proof of its inclusion, and it reaches an offline verifier in one of two
ways:

- **In the proof bundle**, as a documented Bayflow extension of the tlog-proof ``extra`` line,
  whose data is opaque to other tools (tlog-proof, "Format"). The extra data is::

      bayflow-revocation/1
      entry <base64 of the revocation entry's v1 bytes>
      <the revocation's own tlog-proof, verbatim>

  A bundle whose extra data does not start with that first line is treated as carrying no
  revocation: the spec makes extra data application-specific and unauthenticated.

- **In a status document** (``--status FILE``), the JSON the hub answers to
  ``GET /ledger/v1/status/{commitment}``; its ``revocation`` member is ``null`` or an item
  with the same two parts, ``{"entry": "<base64 entry bytes>", "proof": "<tlog-proof text>",
  ...}`` (other members, such as ``index`` or ``revoked``, are the hub's unauthenticated
  summary and are not read). A revocation whose ``proof`` is still ``null`` is refused rather
  than ignored: the verifier is told to fetch the status again once a checkpoint covers it.

Nothing in either is trusted as such. :meth:`RevocationProof.check` verifies the revocation's
own inclusion proof against the log key and requires its entry to name the commitment and the
issuer being verified. It does not require witness cosignatures: a revocation is a statement
against the issuer's interest that the log can only show by having logged it, and the
cosignatures of its checkpoint may not exist yet when a verifier fetches the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NoReturn, Self

from bayflow.ledger._text import decode_base64, encode_base64
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.errors import CommitmentRevoked, MalformedCommitment, MalformedProof
from bayflow.ledger.merkle import hash_leaf
from bayflow.ledger.note import NoteVerifier
from bayflow.ledger.proof import ProofBundle, verify_proof

__all__ = ["REVOCATION_EXTRA", "RevocationProof", "attach_revocation"]

REVOCATION_EXTRA: Final = "bayflow-revocation/1"
_HEADER: Final = f"{REVOCATION_EXTRA}\n".encode()


def _decode_entry(text: str) -> Entry:
    return Entry.from_bytes(decode_base64(text, "a revocation entry", MalformedCommitment))


@dataclass(frozen=True, slots=True)
class RevocationProof:
    """A ``revocation`` entry and the proof bundle of its inclusion in the log."""

    entry: Entry
    bundle: ProofBundle

    def __post_init__(self) -> None:
        if self.entry.kind is not EntryKind.REVOCATION:
            raise MalformedCommitment(f"a {self.entry.kind.value} entry is not a revocation")

    def to_extra(self) -> bytes:
        entry = encode_base64(self.entry.to_bytes())
        return _HEADER + f"entry {entry}\n".encode() + self.bundle.to_bytes()

    @classmethod
    def from_extra(cls, extra: bytes | None) -> Self | None:
        """The revocation carried in a bundle's extra data, or ``None`` if it carries none."""
        if extra is None or not extra.startswith(_HEADER):
            return None
        try:
            text = extra[len(_HEADER) :].decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCommitment("revocation extra data must be UTF-8") from None
        line, newline, proof = text.partition("\n")
        if not newline or not line.startswith("entry "):
            raise MalformedCommitment("revocation extra data needs an 'entry' line")
        return cls(_decode_entry(line[6:]), ProofBundle.from_text(proof))

    @classmethod
    def from_status(cls, status: Any, commitment: bytes) -> Self | None:
        """The revocation in a status document about ``commitment``, or ``None`` if it has none.

        Raises:
            MalformedCommitment: the document is not a status object, or is about another
                commitment.
        """
        if not isinstance(status, dict) or "revocation" not in status:
            raise MalformedCommitment("a status document is an object with a revocation member")
        about = status.get("commitment")
        if about is not None and about != commitment.hex():
            raise MalformedCommitment(f"the status document is about commitment {about}")
        revocation = status["revocation"]
        if revocation is None:
            return None
        if not isinstance(revocation, dict):
            raise MalformedCommitment("a status document's revocation is an object or null")
        entry, proof = revocation.get("entry"), revocation.get("proof")
        if isinstance(entry, str) and proof is None:
            raise MalformedCommitment(
                "the commitment has a revocation that no checkpoint covers yet; "
                "fetch the status again later"
            )
        if not isinstance(entry, str) or not isinstance(proof, str):
            raise MalformedCommitment("a revocation has an 'entry' and a 'proof' string")
        try:
            bundle = ProofBundle.from_text(proof)
        except MalformedProof as exc:
            raise MalformedCommitment(f"the revocation's proof: {exc.message}") from exc
        return cls(_decode_entry(entry), bundle)

    def check(
        self, revoked: Entry, log_verifier: NoteVerifier, *, origin: str | None = None
    ) -> NoReturn:
        """Raise :class:`CommitmentRevoked` if this proves that ``revoked`` was revoked.

        Raises:
            CommitmentRevoked: the revocation is in the log (the expected outcome).
            MalformedCommitment: the revocation names another commitment or another issuer.
            LedgerError: the revocation's own proof does not verify (its own error class).
        """
        if self.entry.digest != revoked.digest:
            raise MalformedCommitment("the revocation is for another commitment")
        if self.entry.issuer != revoked.issuer:
            # Only the issuer may revoke what it anchored; anything else proves nothing.
            raise MalformedCommitment(
                f"the revocation is by {self.entry.issuer}, not by the issuer {revoked.issuer}"
            )
        leaf = hash_leaf(self.entry.to_bytes())
        checkpoint = verify_proof(self.bundle, leaf, log_verifier, (), 0, origin=origin)
        raise CommitmentRevoked(
            f"{revoked.issuer} revoked commitment {revoked.digest.hex()} "
            f"(log entry {self.bundle.index}, tree size {checkpoint.size})"
        )


def attach_revocation(bundle: ProofBundle, revocation: RevocationProof) -> ProofBundle:
    """``bundle`` carrying ``revocation`` in its extra data (replacing any extra data)."""
    return ProofBundle(
        bundle.index, bundle.inclusion_proof, bundle.checkpoint, revocation.to_extra()
    )
