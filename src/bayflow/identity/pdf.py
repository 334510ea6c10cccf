"""PAdES signatures on PDF documents, made and checked with pyHanko.

Signatures follow the PAdES baseline profile, ETSI EN 319 142-1:

- **B-B** (§6.2): a CAdES detached signature (SubFilter ``ETSI.CAdES.detached``) with the ESS
  ``signing-certificate-v2`` attribute binding the signer's certificate, and the claimed
  signing time in the signature dictionary's ``/M`` entry.
- **B-T** (§6.3): B-B plus a signature time-stamp (RFC 3161) over the signature value, from the
  hub's own time-stamp authority (:mod:`bayflow.crypto.tsa`), which proves the signature existed
  at that time.

The certificate comes from the hub's organisational CA (:mod:`bayflow.crypto.pki`) and names the
organisation and the signer's role (EN 319 412-1 ``organizationIdentifier``, X.520 ``title``),
so a reader shows who signed and for whom. Several people sign one document in sequence, each
signature an incremental update (ISO 32000-2 §7.5.6) that leaves earlier signatures intact.

Verification runs pyHanko's validator against the trust roots the caller names, never the
operating system's, and turns its status into a :class:`PDFSignatureReport` per signature:
who, for which organisation, in which role, when, whether the bytes are intact, whether the
chain is trusted, how much of the file the signature covers and, when it fails, each reason.
:func:`inspect_pdf` only reports; :func:`verify_pdf` raises the most serious failure.

The signer's certificate is checked at the validation time, except when it has expired since
and a trusted signature time-stamp proves the signature existed earlier: then it is checked at
the time-stamp's time, as EN 319 102-1 §5.6.2.1 does with a proof of existence. The hub's
signing certificates are short-lived, so without this every B-T signature would turn untrusted
soon after it was made. A B-B signature has no such proof and stays untrusted once its
certificate expires.

The synchronous functions run their own event loop; inside a running loop (an async web
handler) use the ``async_`` twins.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any, Final, Literal

from asn1crypto import algos, cms, pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from bayflow.clock import utcnow
from bayflow.crypto.pki import ORGANISATION_URN_PREFIX, PERSON_URN_PREFIX, CertifiedKey
from bayflow.crypto.tsa import LocalTimeStamper
from bayflow.errors import InvalidInput
from bayflow.identity.errors import (
    InvalidPDF,
    PDFModifiedAfterSigning,
    PDFNotSigned,
    PDFSignatureBroken,
    PDFSignatureInvalid,
    PDFSignerUntrusted,
    PDFTimestampInvalid,
)

__all__ = [
    "PAdESLevel",
    "PDFSignatureProblem",
    "PDFSignatureReport",
    "ProblemCode",
    "async_inspect_pdf",
    "async_sign_pdf",
    "inspect_pdf",
    "raise_for_reports",
    "sign_pdf",
    "signature_fingerprints",
    "verify_pdf",
]

PAdESLevel = Literal["B-B", "B-T"]
_LEVELS: Final = ("B-B", "B-T")
_PADES_SUBFILTER: Final = "/ETSI.CAdES.detached"
_DIGEST: Final = "sha256"
# A DER ECDSA P-256 signature is at most 72 bytes; size estimates reserve room for that much.
_MAX_ECDSA_P256_SIGNATURE: Final = 72
# Room for everything in a CMS signature or a time-stamp token besides certificates: signed
# attributes, signer info, algorithm identifiers, the signature. Each takes under 1 KiB.
_CMS_OVERHEAD: Final = 2048


class ProblemCode(enum.StrEnum):
    """Why a signature fails, most serious first; the order picks the error raised."""

    MALFORMED = "malformed"
    NOT_INTACT = "not-intact"
    SIGNATURE_INVALID = "signature-invalid"
    PARTIAL_COVERAGE = "partial-coverage"
    MODIFIED_AFTER_SIGNING = "modified-after-signing"
    REVOKED = "revoked"
    UNTRUSTED = "untrusted"
    TIMESTAMP_INVALID = "timestamp-invalid"


_ERROR_FOR_PROBLEM: Final[dict[ProblemCode, type[PDFSignatureInvalid]]] = {
    ProblemCode.MALFORMED: PDFSignatureBroken,
    ProblemCode.NOT_INTACT: PDFSignatureBroken,
    ProblemCode.SIGNATURE_INVALID: PDFSignatureBroken,
    ProblemCode.PARTIAL_COVERAGE: PDFSignatureBroken,
    ProblemCode.MODIFIED_AFTER_SIGNING: PDFModifiedAfterSigning,
    ProblemCode.REVOKED: PDFSignerUntrusted,
    ProblemCode.UNTRUSTED: PDFSignerUntrusted,
    ProblemCode.TIMESTAMP_INVALID: PDFTimestampInvalid,
}
_PROBLEM_ORDER: Final = list(ProblemCode)


@dataclass(frozen=True, slots=True)
class PDFSignatureProblem:
    code: ProblemCode
    message: str


@dataclass(frozen=True, slots=True)
class PDFSignatureReport:
    """What one signature in a PDF says and whether it holds.

    Subject fields are read from the signer's certificate and are ``None`` when it lacks the
    attribute (a certificate from another CA) or when the signature could not be parsed.
    ``signing_time`` is what the signer claimed; only ``timestamp_time`` is proven, and only
    when ``timestamp_valid``. ``timestamp_valid`` is ``None`` when there is no time-stamp.
    ``covers_whole_document`` is false for every signature but the last when several people
    signed: ``modification_level`` then says what the later revisions did (``form-filling``
    covers adding further signatures). ``organisation_id`` and ``person_id`` are the Bayflow
    records the certificate's subject alternative name points to, ``None`` without them.
    ``cms_sha256`` is the hex SHA-256 of the DER CMS ``ContentInfo`` (without the padding of
    ``/Contents``): the fingerprint under which the signature is anchored in the ledger.
    ``chain_validated_at`` is the time the certificate chain was checked at: the validation
    time, or the time-stamp's when the certificate has expired since (see the module notes).
    """

    field_name: str
    level: PAdESLevel | None
    signer_name: str | None
    organisation: str | None
    organisation_identifier: str | None
    role: str | None
    country: str | None
    certificate_serial: str | None
    certificate_issuer: str | None
    signing_time: datetime | None
    timestamp_present: bool
    timestamp_valid: bool | None
    timestamp_time: datetime | None
    intact: bool
    trusted: bool
    coverage: str
    covers_whole_document: bool
    modification_level: str | None
    problems: tuple[PDFSignatureProblem, ...]
    organisation_id: str | None = None
    person_id: str | None = None
    cms_sha256: str | None = None
    chain_validated_at: datetime | None = None

    @property
    def valid(self) -> bool:
        """Whether nothing is wrong with this signature."""
        return not self.problems

    def describe(self) -> str:
        who = self.signer_name or "an unknown signer"
        if self.role and self.organisation:
            who = f"{who} ({self.role}, {self.organisation})"
        if self.valid:
            return f"{self.field_name}: valid signature by {who}"
        reasons = "; ".join(p.message for p in self.problems)
        return f"{self.field_name}: signature by {who} is invalid: {reasons}"


class _CertifiedKeySigner(Signer):
    """A pyHanko signer whose private key stays inside :class:`CertifiedKey`."""

    def __init__(self, certified_key: CertifiedKey, extra_certificates: Sequence[bytes]) -> None:
        chain = [*certified_key.chain_der, *extra_certificates]
        super().__init__(
            signing_cert=asn1_x509.Certificate.load(certified_key.certificate_der),
            # pyHanko leaves from_certs unannotated.
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [_load_certificate(c) for c in chain]
            ),
            # RFC 5753 §2.1.1: with ECDSA the CMS signatureAlgorithm names the digest too.
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": f"{_DIGEST}_ecdsa"}),
        )
        self._key = certified_key.key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != _DIGEST:
            raise SigningError(f"P-256 keys sign with SHA-256 only, not {digest_algorithm}")
        if dry_run:
            # pyHanko sizes the signature container from a dry run; no need to spend a signature.
            return bytes(_MAX_ECDSA_P256_SIGNATURE)
        return self._key.sign(data)


class _TimedPdfSigner(PdfSigner):
    """A PdfSigner whose claimed signing time is a parameter rather than the wall clock."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._now
        return session


async def async_sign_pdf(
    pdf_bytes: bytes,
    signer: CertifiedKey,
    ca_chain: Sequence[bytes] = (),
    *,
    level: PAdESLevel = "B-B",
    timestamper: TimeStamper | None = None,
    reason: str | None = None,
    location: str | None = None,
    field_name: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """Add a PAdES signature by ``signer`` to ``pdf_bytes`` as an incremental update.

    ``ca_chain`` adds certificates (DER or PEM) to embed beyond ``signer.chain``. ``level="B-T"``
    needs ``timestamper`` (the hub's :class:`~bayflow.crypto.tsa.LocalTimeStamper`, or any
    RFC 3161 client); with ``"B-B"`` a timestamper is not used. ``field_name`` defaults to the
    next free ``SignatureN``; naming a field that is already signed is refused. ``now`` is the
    claimed signing time (``/M``), the wall clock by default.
    """
    if level not in _LEVELS:
        raise InvalidInput(f"PAdES level must be one of {', '.join(_LEVELS)}, not {level!r}")
    if level == "B-T" and timestamper is None:
        raise InvalidInput("a B-T signature needs a time-stamp authority")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("the signing time must be timezone-aware")
    writer = _open_for_signing(pdf_bytes)
    taken = {name for name, _value, _ref in enumerate_sig_fields(writer)}
    if field_name is None:
        field_name = _next_field_name(taken)
    subject = asn1_x509.Certificate.load(signer.certificate_der).subject.native
    metadata = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=_DIGEST,
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=subject.get("common_name"),
    )
    pdf_signer = _TimedPdfSigner(
        metadata,
        _CertifiedKeySigner(signer, ca_chain),
        timestamper=timestamper if level == "B-T" else None,
        now=now,
    )
    try:
        output = await pdf_signer.async_sign_pdf(
            writer, bytes_reserved=_reservation(signer, ca_chain, level, timestamper)
        )
    except SigningError as exc:
        # Raised for an already-signed field, a locked document and similar refusals.
        raise InvalidPDF(f"the PDF cannot be signed: {exc}") from exc
    signed: bytes = output.getvalue()
    return signed


def sign_pdf(
    pdf_bytes: bytes,
    signer: CertifiedKey,
    ca_chain: Sequence[bytes] = (),
    *,
    level: PAdESLevel = "B-B",
    timestamper: TimeStamper | None = None,
    reason: str | None = None,
    location: str | None = None,
    field_name: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """:func:`async_sign_pdf`, for callers without an event loop."""
    return asyncio.run(
        async_sign_pdf(
            pdf_bytes,
            signer,
            ca_chain,
            level=level,
            timestamper=timestamper,
            reason=reason,
            location=location,
            field_name=field_name,
            now=now,
        )
    )


async def async_inspect_pdf(
    pdf_bytes: bytes,
    trust_roots: Sequence[bytes],
    *,
    now: datetime | None = None,
) -> list[PDFSignatureReport]:
    """Report on every signature in ``pdf_bytes``, in signing order; never raises for them.

    ``trust_roots`` are the CA certificates (DER or PEM) to trust, e.g. the hub's exported CA;
    the operating system's store is never consulted. ``now`` is the validation time.
    Revocation is not checked online: the hub's certificates are short-lived instead.
    """
    reader = _open_for_reading(pdf_bytes)
    context = ValidationContext(
        trust_roots=[_load_certificate(root) for root in trust_roots],
        moment=now,
        allow_fetching=False,
    )
    reports = []
    try:
        for embedded in reader.embedded_regular_signatures:
            try:
                status = await async_validate_pdf_signature(embedded, context)
                checked_at = now
                proven = _proof_of_existence(status)
                if proven is not None:
                    status = await _validate_at(embedded, trust_roots, proven)
                    checked_at = proven
            except (SignatureValidationError, ValueError) as exc:
                reports.append(_malformed_report(embedded, exc))
            else:
                reports.append(_report(embedded, status, checked_at or utcnow()))
    finally:
        # Releases any HTTP session pyHanko opened; it leaves aclose unannotated.
        await context.aclose()  # type: ignore[no-untyped-call]
    return reports


def _proof_of_existence(status: PdfSignatureStatus) -> datetime | None:
    """The time-stamp's time, if it proves the signature predates its certificate's expiry."""
    timestamp = status.timestamp_validity
    if status.trusted or not (status.intact and status.valid) or timestamp is None:
        return None
    if not (timestamp.intact and timestamp.valid and timestamp.trusted):
        return None
    indication = getattr(status.trust_problem_indic, "name", None)
    if indication != "OUT_OF_BOUNDS_NO_POE":
        # Revoked, unknown root, wrong key usage: a time-stamp cures none of these.
        return None
    proven: datetime = timestamp.timestamp
    return proven


async def _validate_at(
    embedded: Any, trust_roots: Sequence[bytes], moment: datetime
) -> PdfSignatureStatus:
    context = ValidationContext(
        trust_roots=[_load_certificate(root) for root in trust_roots],
        moment=moment,
        allow_fetching=False,
    )
    try:
        status: PdfSignatureStatus = await async_validate_pdf_signature(embedded, context)
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]
    return status


def inspect_pdf(
    pdf_bytes: bytes,
    trust_roots: Sequence[bytes],
    *,
    now: datetime | None = None,
) -> list[PDFSignatureReport]:
    """:func:`async_inspect_pdf`, for callers without an event loop."""
    return asyncio.run(async_inspect_pdf(pdf_bytes, trust_roots, now=now))


def verify_pdf(
    pdf_bytes: bytes,
    trust_roots: Sequence[bytes],
    *,
    now: datetime | None = None,
) -> list[PDFSignatureReport]:
    """Check every signature in ``pdf_bytes``; return the reports if all hold.

    Raises :class:`PDFNotSigned` for a document without signatures and otherwise the
    :class:`PDFSignatureInvalid` subclass for the most serious problem found (a broken
    signature outranks a later modification, which outranks an untrusted signer, which
    outranks a bad time-stamp). The exception carries every report.
    """
    reports = inspect_pdf(pdf_bytes, trust_roots, now=now)
    raise_for_reports(reports)
    return reports


def signature_fingerprints(pdf_bytes: bytes) -> list[tuple[str, str | None]]:
    """Each signature's field name and CMS fingerprint, in signing order, without validating.

    The fingerprint is :attr:`PDFSignatureReport.cms_sha256`; ``None`` for a signature whose
    CMS object does not parse.
    """
    reader = _open_for_reading(pdf_bytes)
    return [
        (str(embedded.field_name), _cms_sha256(embedded))
        for embedded in reader.embedded_regular_signatures
    ]


def raise_for_reports(reports: Sequence[PDFSignatureReport]) -> None:
    """Raise the error :func:`verify_pdf` raises for these reports, or return if all hold."""
    if not reports:
        raise PDFNotSigned("the PDF carries no signature")
    failing = [(report, problem) for report in reports for problem in report.problems]
    if not failing:
        return
    report, problem = min(failing, key=lambda pair: _PROBLEM_ORDER.index(pair[1].code))
    who = report.signer_name or "an unknown signer"
    raise _ERROR_FOR_PROBLEM[problem.code](
        f"signature {report.field_name} by {who}: {problem.message}",
        reports=reports,
        detail="\n".join(r.describe() for r in reports),
    )


def _report(embedded: Any, status: PdfSignatureStatus, checked_at: datetime) -> PDFSignatureReport:
    subject = status.signing_cert.subject.native
    uris = _alternative_uris(status.signing_cert)
    timestamp = status.timestamp_validity
    timestamp_valid = None
    if timestamp is not None:
        timestamp_valid = bool(timestamp.intact and timestamp.valid and timestamp.trusted)
    pades = embedded.sig_object.get("/SubFilter") == _PADES_SUBFILTER
    level: PAdESLevel | None = None
    if pades:
        level = "B-T" if timestamp is not None else "B-B"
    coverage = status.coverage
    modification = status.modification_level
    return PDFSignatureReport(
        field_name=str(embedded.field_name),
        level=level,
        signer_name=subject.get("common_name"),
        organisation=subject.get("organization_name"),
        organisation_identifier=subject.get("organization_identifier"),
        role=subject.get("title"),
        country=subject.get("country_name"),
        certificate_serial=format(status.signing_cert.serial_number, "x"),
        certificate_issuer=status.signing_cert.issuer.human_friendly,
        signing_time=status.signer_reported_dt,
        timestamp_present=timestamp is not None,
        timestamp_valid=timestamp_valid,
        timestamp_time=timestamp.timestamp if timestamp is not None else None,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        coverage=_coverage_name(coverage),
        covers_whole_document=coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modification_level=_modification_name(modification),
        problems=tuple(_problems(status, timestamp_valid)),
        organisation_id=_record_id(uris, ORGANISATION_URN_PREFIX),
        person_id=_record_id(uris, PERSON_URN_PREFIX),
        cms_sha256=_cms_sha256(embedded),
        chain_validated_at=checked_at,
    )


def _alternative_uris(certificate: asn1_x509.Certificate) -> list[str]:
    names = certificate.subject_alt_name_value
    if names is None:
        return []
    return [str(n.native) for n in names if n.name == "uniform_resource_identifier"]


def _record_id(uris: Sequence[str], prefix: str) -> str | None:
    return next((u.removeprefix(prefix) for u in uris if u.startswith(prefix)), None)


def _cms_sha256(embedded: Any) -> str | None:
    # /Contents is the DER ContentInfo followed by zero padding up to the reserved size; the
    # fingerprint covers the DER alone, so it does not depend on how much room was reserved.
    try:
        content_info = cms.ContentInfo.load(embedded.pkcs7_content, strict=False)
        der: bytes = content_info.dump()
    except (ValueError, TypeError):
        return None
    return hashlib.sha256(der).hexdigest()


def _problems(
    status: PdfSignatureStatus, timestamp_valid: bool | None
) -> list[PDFSignatureProblem]:
    # 0. The signed byte ranges hash to the signed message digest.
    # 1. The signature value verifies under the certificate's key.
    # 2. The byte range covers its whole revision, so nothing inside it went unsigned.
    # 3. Later revisions only add signatures or fill forms (pyHanko's difference analysis).
    # 4. The certificate chains to a trust root and is valid, unrevoked and fit for signing.
    # 5. A time-stamp, if any, is intact and from a trusted TSA.
    problems = []
    # (0):
    if not status.intact:
        problems.append(
            _problem(
                ProblemCode.NOT_INTACT,
                "the signed bytes were changed after signing: their digest does not match",
            )
        )
    # (1):
    if not status.valid:
        problems.append(
            _problem(ProblemCode.SIGNATURE_INVALID, "the signature value does not verify")
        )
    # (2):
    coverage = status.coverage
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append(
            _problem(
                ProblemCode.PARTIAL_COVERAGE,
                "the signature's byte range does not cover the revision it belongs to",
            )
        )
    # (3):
    elif status.docmdp_ok is False:
        problems.append(
            _problem(
                ProblemCode.MODIFIED_AFTER_SIGNING,
                f"the document was modified after signing: {_diff_reason(status)}",
            )
        )
    # (4):
    if status.intact and status.valid and not status.trusted:
        if status.revoked:
            problems.append(_problem(ProblemCode.REVOKED, "the signer's certificate is revoked"))
        else:
            problems.append(_problem(ProblemCode.UNTRUSTED, _trust_reason(status)))
    # (5):
    if timestamp_valid is False:
        problems.append(
            _problem(
                ProblemCode.TIMESTAMP_INVALID,
                "the signature time-stamp does not verify or its TSA is not trusted",
            )
        )
    return problems


def _problem(code: ProblemCode, message: str) -> PDFSignatureProblem:
    return PDFSignatureProblem(code, message)


def _trust_reason(status: PdfSignatureStatus) -> str:
    indication = status.trust_problem_indic
    if status.validation_path is None or indication is None:
        return "the signer's certificate does not chain to a trusted root"
    # pyHanko reports an ETSI EN 319 102-1 sub-indication, e.g. EXPIRED or NOT_YET_VALID.
    # The sub-indication types are enums under a common non-enum base, hence getattr.
    return f"the signer's certificate is not trusted ({getattr(indication, 'name', indication)})"


def _diff_reason(status: PdfSignatureStatus) -> str:
    diff = status.diff_result
    if isinstance(diff, SuspiciousModification):
        return str(diff) or "a later revision changes signed content"
    return "a later revision changes signed content"


def _malformed_report(embedded: Any, exc: Exception) -> PDFSignatureReport:
    # The signature object itself could not be processed, so nothing it claims can be trusted,
    # not even the names in its certificate.
    return PDFSignatureReport(
        field_name=str(embedded.field_name),
        level=None,
        signer_name=None,
        organisation=None,
        organisation_identifier=None,
        role=None,
        country=None,
        certificate_serial=None,
        certificate_issuer=None,
        signing_time=None,
        timestamp_present=False,
        timestamp_valid=None,
        timestamp_time=None,
        intact=False,
        trusted=False,
        coverage="unclear",
        covers_whole_document=False,
        modification_level=None,
        problems=(_problem(ProblemCode.MALFORMED, f"the signature cannot be processed: {exc}"),),
        cms_sha256=_cms_sha256(embedded),
    )


def _coverage_name(coverage: SignatureCoverageLevel | None) -> str:
    if coverage is None:
        return "unclear"
    return coverage.name.lower().replace("_", "-")


def _modification_name(level: ModificationLevel | None) -> str | None:
    if level is None:
        return None
    return str(level.name.lower().replace("_", "-"))


def _load_certificate(data: bytes) -> asn1_x509.Certificate:
    """An asn1crypto certificate from DER or PEM bytes."""
    if pem.detect(data):
        _type, _headers, data = pem.unarmor(data)
    try:
        certificate = asn1_x509.Certificate.load(data)
        _ = certificate.native  # Force a full parse here rather than deep inside pyHanko.
    except (ValueError, TypeError) as exc:
        raise InvalidInput("not an X.509 certificate in DER or PEM") from exc
    return certificate


def _reservation(
    signer: CertifiedKey,
    ca_chain: Sequence[bytes],
    level: PAdESLevel,
    timestamper: TimeStamper | None,
) -> int | None:
    """Hex digits to reserve for the CMS container, or ``None`` to let pyHanko measure.

    pyHanko otherwise sizes the container by building and encoding a whole dummy signature,
    which costs as much as the signature itself. For our own signer and time-stamp authority
    the size is bounded by the certificates embedded plus a fixed overhead. Another RFC 3161
    client may return a token of any size, so then pyHanko measures.
    """
    size = _CMS_OVERHEAD + len(signer.certificate_der) + sum(map(len, signer.chain_der))
    size += sum(len(_load_certificate(c).dump()) for c in ca_chain)
    if level == "B-T":
        if not isinstance(timestamper, LocalTimeStamper):
            return None
        size += _CMS_OVERHEAD + len(timestamper.authority.certified_key.certificate_der)
    # The container is written as a hex string: two digits a byte.
    return 2 * size


def _open_for_signing(pdf_bytes: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    except (PdfError, ValueError) as exc:
        raise InvalidPDF(f"not a readable PDF: {exc}") from exc
    if writer.prev.encrypted:
        raise InvalidPDF("encrypted PDFs are not signed: decrypt the document first")
    return writer


def _open_for_reading(pdf_bytes: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(pdf_bytes))
    except (PdfError, ValueError) as exc:
        raise InvalidPDF(f"not a readable PDF: {exc}") from exc


def _next_field_name(taken: set[str]) -> str:
    number = len(taken) + 1
    while f"Signature{number}" in taken:
        number += 1
    return f"Signature{number}"
