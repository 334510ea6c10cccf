import base64

import pytest

from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.errors import (
    CommitmentRevoked,
    InclusionProofInvalid,
    MalformedCommitment,
    MalformedEntry,
)
from bayflow.ledger.proof import ProofBundle
from bayflow.ledger.revocation import REVOCATION_EXTRA, RevocationProof, attach_revocation
from tests.tinylog import TinyLog, log_signer

ISSUER = "org_pearl_river"
COMMITMENT = bytes(range(32))
ANCHORED = Entry(EntryKind.RECORD_FIELDS, COMMITMENT, "vat-summary/1", ISSUER)
REVOKING = Entry(EntryKind.REVOCATION, COMMITMENT, "vat-summary/1", ISSUER)


@pytest.fixture
def log() -> TinyLog:
    log = TinyLog()
    log.append(ANCHORED)
    log.append(b"another entry")
    return log


@pytest.fixture
def revocation(log: TinyLog) -> RevocationProof:
    return RevocationProof(REVOKING, log.proof(log.append(REVOKING)))


def _status(revocation: RevocationProof, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "entry": base64.b64encode(revocation.entry.to_bytes()).decode(),
        "proof": revocation.bundle.to_text(),
    }
    body.update(changes)
    return {"commitment": COMMITMENT.hex(), "revocation": body}


class TestRevocationExtension:
    """A revocation travels in a tlog-proof's extra line as a documented extension."""

    def test_round_trips_through_the_proof_file(
        self, log: TinyLog, revocation: RevocationProof
    ) -> None:
        bundle = attach_revocation(log.proof(0), revocation)
        parsed = ProofBundle.from_text(bundle.to_text())
        assert parsed.extra is not None
        assert parsed.extra.startswith(f"{REVOCATION_EXTRA}\nentry ".encode())
        assert RevocationProof.from_extra(parsed.extra) == revocation

    def test_other_extra_data_carries_no_revocation(self) -> None:
        assert RevocationProof.from_extra(None) is None
        assert RevocationProof.from_extra(b"a VRF proof, say") is None

    @pytest.mark.parametrize(
        "extra",
        [b"bayflow-revocation/1\nno entry line", b"bayflow-revocation/1\n\xff"],
        ids=["no-entry-line", "not-utf8"],
    )
    def test_malformed_extensions_are_refused(self, extra: bytes) -> None:
        with pytest.raises(MalformedCommitment):
            RevocationProof.from_extra(extra)

    def test_only_revocation_entries_are_revocations(self, log: TinyLog) -> None:
        with pytest.raises(MalformedCommitment, match="not a revocation"):
            RevocationProof(ANCHORED, log.proof(0))


class TestStatusDocument:
    """A saved status answer carries a revocation, or null."""

    def test_null_means_not_revoked(self) -> None:
        status = {"commitment": COMMITMENT.hex(), "revocation": None}
        assert RevocationProof.from_status(status, COMMITMENT) is None

    def test_a_revocation_is_read(self, revocation: RevocationProof) -> None:
        assert RevocationProof.from_status(_status(revocation), COMMITMENT) == revocation

    def test_a_status_about_another_commitment_is_refused(
        self, revocation: RevocationProof
    ) -> None:
        with pytest.raises(MalformedCommitment, match="about commitment"):
            RevocationProof.from_status(_status(revocation), bytes(32))

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ({"entry": 1}, MalformedCommitment),
            ({"proof": "not a proof"}, MalformedCommitment),
            ({"entry": "AQ=="}, MalformedEntry),
            ({"entry": "not base64"}, MalformedCommitment),
        ],
        ids=["entry-not-text", "bad-proof", "truncated-entry", "bad-base64"],
    )
    def test_malformed_revocations_are_refused(
        self, revocation: RevocationProof, change: dict[str, object], error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            RevocationProof.from_status(_status(revocation, **change), COMMITMENT)

    def test_a_document_without_a_revocation_member_is_refused(self) -> None:
        with pytest.raises(MalformedCommitment):
            RevocationProof.from_status({"commitment": COMMITMENT.hex()}, COMMITMENT)


class TestRevocationCheck:
    """A revocation counts only if the log proves it and it is the issuer's own."""

    def test_a_proven_revocation_reports_the_commitment_revoked(
        self, revocation: RevocationProof
    ) -> None:
        with pytest.raises(CommitmentRevoked, match=f"{ISSUER} revoked commitment"):
            revocation.check(ANCHORED, log_signer().verifier())

    def test_a_revocation_of_another_commitment_is_refused(
        self, revocation: RevocationProof
    ) -> None:
        other = Entry(EntryKind.DOCUMENT, bytes(32), "x/1", ISSUER)
        with pytest.raises(MalformedCommitment, match="another commitment"):
            revocation.check(other, log_signer().verifier())

    def test_a_revocation_by_another_issuer_is_refused(self, log: TinyLog) -> None:
        by_other = Entry(EntryKind.REVOCATION, COMMITMENT, "vat-summary/1", "org_other")
        revocation = RevocationProof(by_other, log.proof(log.append(by_other)))
        with pytest.raises(MalformedCommitment, match="not by the issuer"):
            revocation.check(ANCHORED, log_signer().verifier())

    def test_a_revocation_the_log_does_not_prove_is_refused(self, log: TinyLog) -> None:
        # The proof is for the anchored entry's index, not for the revocation.
        revocation = RevocationProof(REVOKING, log.proof(0))
        with pytest.raises(InclusionProofInvalid):
            revocation.check(ANCHORED, log_signer().verifier())
