import hashlib
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from bayflow.clock import FixedClock
from bayflow.crypto.pki import CertifiedKey, OrganisationalCA, SignerSubject, export_ca_certificate
from bayflow.crypto.tsa import LocalTimeStamper, TimestampAuthority
from bayflow.errors import InvalidInput
from bayflow.identity.errors import (
    InvalidPDF,
    PDFModifiedAfterSigning,
    PDFNotSigned,
    PDFSignatureBroken,
    PDFSignatureInvalid,
    PDFSignerUntrusted,
)
from bayflow.identity.pdf import ProblemCode, inspect_pdf, sign_pdf, verify_pdf

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SIGNED_AT = NOW + timedelta(hours=1)
CHECKED_AT = NOW + timedelta(days=1)
TEXT = b"Working-capital loan agreement"

CHEN_WEI = SignerSubject(
    person_name="Chen Wei",
    organisation_name="Qianhai Bayline Logistics Co., Ltd.",
    organisation_identifier="NTRCN-91440300MA5G7K2P0C",
    country="CN",
    role="Director",
)
WONG_KA_MING = SignerSubject(
    person_name="Wong Ka Ming",
    organisation_name="Lion Rock Bank Limited",
    organisation_identifier="NTRHK-12345678",
    country="HK",
    role="Authorised Signatory",
)


def one_page_pdf(text: bytes = TEXT) -> bytes:
    """A one-page PDF whose content stream holds ``text`` uncompressed, so tests can find it."""
    writer = PdfFileWriter(stream_xrefs=False)
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
    )
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET")
    )
    writer.insert_page(PageObject(content, (0, 0, 595, 842), resources))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory) -> object:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def ca(hub_dir) -> OrganisationalCA:
    return OrganisationalCA.open(hub_dir, now=NOW)


@pytest.fixture(scope="module")
def exported_ca(hub_dir, ca) -> bytes:
    """The CA certificate exactly as `bayflow ca export` writes it."""
    exported = export_ca_certificate(hub_dir, now=NOW)
    assert exported == ca.certificate_pem
    return exported


@pytest.fixture(scope="module")
def timestamper(ca) -> LocalTimeStamper:
    authority = TimestampAuthority(ca.issue_timestamping_certificate(now=NOW))
    return LocalTimeStamper(authority, FixedClock(SIGNED_AT))


@pytest.fixture(scope="module")
def chen(ca) -> CertifiedKey:
    return ca.issue_signing_certificate(CHEN_WEI, now=NOW)


@pytest.fixture(scope="module")
def wong(ca) -> CertifiedKey:
    return ca.issue_signing_certificate(WONG_KA_MING, now=NOW)


@pytest.fixture(scope="module")
def signed_bb(chen) -> bytes:
    return sign_pdf(
        one_page_pdf(), chen, reason="Approve the loan", location="Shenzhen", now=SIGNED_AT
    )


@pytest.fixture(scope="module")
def signed_bt(chen, timestamper) -> bytes:
    return sign_pdf(one_page_pdf(), chen, level="B-T", timestamper=timestamper, now=SIGNED_AT)


@pytest.fixture(scope="module")
def countersigned(signed_bt, wong, timestamper) -> bytes:
    return sign_pdf(signed_bt, wong, level="B-T", timestamper=timestamper, now=SIGNED_AT)


def pyhanko_statuses(pdf: bytes, root_pem: bytes) -> list:
    """Validate every signature with pyHanko's own API, independently of bayflow.identity.pdf."""
    root = x509.Certificate.load(_pem_to_der(root_pem))
    reader = PdfFileReader(BytesIO(pdf))
    return [
        validate_pdf_signature(embedded, ValidationContext(trust_roots=[root], moment=CHECKED_AT))
        for embedded in reader.embedded_signatures
    ]


def _pem_to_der(pem: bytes) -> bytes:
    from asn1crypto import pem as asn1_pem  # noqa: PLC0415

    _type, _headers, der = asn1_pem.unarmor(pem)
    return der


def append_unsigned_change(pdf: bytes) -> bytes:
    """Replace the page's content in a new revision that nobody signs."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    page[pdf_name("/Contents")] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 720 Td (Loan cancelled) Tj ET")
    )
    writer.mark_update(page_ref)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


class TestIndependentValidation:
    """PDFs signed by Bayflow validate with pyHanko's own API against the exported CA."""

    def test_a_bb_signature_is_intact_trusted_and_covers_the_file(self, signed_bb, exported_ca):
        (status,) = pyhanko_statuses(signed_bb, exported_ca)
        assert status.intact
        assert status.valid
        assert status.trusted
        assert status.bottom_line
        assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        assert status.timestamp_validity is None
        assert status.signer_reported_dt == SIGNED_AT

    def test_a_bb_signature_is_a_pades_signature(self, signed_bb):
        (embedded,) = PdfFileReader(BytesIO(signed_bb)).embedded_signatures
        assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
        assert embedded.sig_object["/Reason"] == "Approve the loan"
        assert embedded.sig_object["/Location"] == "Shenzhen"
        attribute_types = {a["type"].native for a in embedded.signer_info["signed_attrs"]}
        # EN 319 142-1 §6.3: B-B binds the certificate and leaves signing-time to /M.
        assert "signing_certificate_v2" in attribute_types
        assert "signing_time" not in attribute_types

    def test_a_bt_signature_has_a_valid_trusted_timestamp(self, signed_bt, exported_ca):
        (status,) = pyhanko_statuses(signed_bt, exported_ca)
        assert status.bottom_line
        timestamp = status.timestamp_validity
        assert timestamp is not None
        assert timestamp.intact
        assert timestamp.valid
        assert timestamp.trusted
        assert timestamp.timestamp == SIGNED_AT

    def test_two_signers_in_sequence_both_validate(self, countersigned, exported_ca):
        first, second = pyhanko_statuses(countersigned, exported_ca)
        assert first.bottom_line
        assert second.bottom_line
        assert first.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        assert first.docmdp_ok
        assert second.coverage == SignatureCoverageLevel.ENTIRE_FILE

    def test_a_certificate_from_another_ca_is_untrusted(self, signed_bb):
        stranger = OrganisationalCA.generate(now=NOW, common_name="Another Hub CA")
        (status,) = pyhanko_statuses(signed_bb, stranger.certificate_pem)
        assert status.intact
        assert not status.trusted


class TestSignPdf:
    """Signing adds a PAdES signature as an incremental update and refuses what it cannot sign."""

    def test_the_original_bytes_are_kept_as_the_first_revision(self, chen):
        original = one_page_pdf()
        assert sign_pdf(original, chen, now=SIGNED_AT).startswith(original)

    def test_b_t_without_a_time_stamp_authority_is_refused(self, chen):
        with pytest.raises(InvalidInput, match="time-stamp authority"):
            sign_pdf(one_page_pdf(), chen, level="B-T")

    def test_an_unknown_level_is_refused(self, chen):
        with pytest.raises(InvalidInput, match="PAdES level"):
            sign_pdf(one_page_pdf(), chen, level="B-LTA")  # type: ignore[arg-type]

    def test_a_b_b_signature_ignores_a_time_stamper(self, chen, timestamper, exported_ca):
        signed = sign_pdf(one_page_pdf(), chen, level="B-B", timestamper=timestamper, now=SIGNED_AT)
        (report,) = verify_pdf(signed, [exported_ca], now=CHECKED_AT)
        assert report.level == "B-B"
        assert not report.timestamp_present

    def test_bytes_that_are_not_a_pdf_are_refused(self, chen):
        with pytest.raises(InvalidPDF, match="not a readable PDF"):
            sign_pdf(b"%PDF-1.7\nnonsense", chen)

    def test_an_already_signed_field_cannot_be_signed_again(self, signed_bb, wong):
        with pytest.raises(InvalidPDF, match="cannot be signed"):
            sign_pdf(signed_bb, wong, field_name="Signature1", now=SIGNED_AT)

    def test_fields_are_named_in_sequence_unless_named(self, signed_bb, wong, exported_ca):
        second = sign_pdf(signed_bb, wong, now=SIGNED_AT)
        third = sign_pdf(second, wong, field_name="Bank approval", now=SIGNED_AT)
        reports = verify_pdf(third, [exported_ca], now=CHECKED_AT)
        assert [r.field_name for r in reports] == ["Signature1", "Signature2", "Bank approval"]

    def test_any_rfc_3161_client_can_time_stamp(self, chen, timestamper, exported_ca):
        class RemoteTimeStamper(TimeStamper):
            """Stands in for an HTTP client: its tokens' size is unknown in advance."""

            async def async_request_tsa_response(self, req):
                return await timestamper.async_request_tsa_response(req)

        signed = sign_pdf(
            one_page_pdf(), chen, level="B-T", timestamper=RemoteTimeStamper(), now=SIGNED_AT
        )
        (report,) = verify_pdf(signed, [exported_ca], now=CHECKED_AT)
        assert report.timestamp_valid

    def test_extra_chain_certificates_are_embedded(self, chen, exported_ca):
        signed = sign_pdf(one_page_pdf(), chen, [exported_ca], now=SIGNED_AT)
        (embedded,) = PdfFileReader(BytesIO(signed)).embedded_signatures
        certificates = embedded.signed_data["certificates"]
        embedded_der = {c.chosen.dump() for c in certificates}
        assert _pem_to_der(exported_ca) in embedded_der
        assert chen.certificate_der in embedded_der

    def test_a_naive_signing_time_is_refused(self, chen):
        with pytest.raises(ValueError, match="timezone-aware"):
            sign_pdf(one_page_pdf(), chen, now=SIGNED_AT.replace(tzinfo=None))


class TestVerifyPdf:
    """Verification reports who signed for whom and in which role, and why a signature fails."""

    def test_reports_the_signer_organisation_and_role(self, signed_bt, exported_ca):
        (report,) = verify_pdf(signed_bt, [exported_ca], now=CHECKED_AT)
        assert report.valid
        assert report.field_name == "Signature1"
        assert report.level == "B-T"
        assert report.signer_name == "Chen Wei"
        assert report.organisation == "Qianhai Bayline Logistics Co., Ltd."
        assert report.organisation_identifier == "NTRCN-91440300MA5G7K2P0C"
        assert report.role == "Director"
        assert report.country == "CN"
        assert report.signing_time == SIGNED_AT
        assert report.timestamp_present
        assert report.timestamp_valid
        assert report.timestamp_time == SIGNED_AT
        assert report.intact
        assert report.trusted
        assert report.covers_whole_document
        assert report.coverage == "entire-file"
        assert report.modification_level == "none"
        assert "Bayflow Organisational CA" in (report.certificate_issuer or "")
        assert report.describe().startswith("Signature1: valid signature by Chen Wei (Director")

    def test_two_signers_are_reported_in_signing_order(self, countersigned, exported_ca):
        first, second = verify_pdf(countersigned, [exported_ca], now=CHECKED_AT)
        assert (first.signer_name, second.signer_name) == ("Chen Wei", "Wong Ka Ming")
        assert second.role == "Authorised Signatory"
        assert second.organisation_identifier == "NTRHK-12345678"
        assert not first.covers_whole_document
        assert first.modification_level == "form-filling"
        assert first.valid
        assert second.covers_whole_document

    def test_a_changed_byte_in_a_signed_range_breaks_the_signature(self, signed_bt, exported_ca):
        at = signed_bt.index(TEXT)
        tampered = signed_bt[:at] + TEXT.upper() + signed_bt[at + len(TEXT) :]
        with pytest.raises(PDFSignatureBroken, match="changed after signing") as caught:
            verify_pdf(tampered, [exported_ca], now=CHECKED_AT)
        (report,) = caught.value.reports
        assert not report.intact
        assert ProblemCode.NOT_INTACT in {p.code for p in report.problems}

    def test_an_unsigned_revision_is_reported_as_a_modification(self, countersigned, exported_ca):
        modified = append_unsigned_change(countersigned)
        with pytest.raises(PDFModifiedAfterSigning, match="modified after signing") as caught:
            verify_pdf(modified, [exported_ca], now=CHECKED_AT)
        first, second = caught.value.reports
        for report in (first, second):
            assert report.intact
            assert report.modification_level == "other"
            assert [p.code for p in report.problems] == [ProblemCode.MODIFIED_AFTER_SIGNING]

    def test_pyhanko_also_sees_the_unsigned_revision(self, countersigned, exported_ca):
        modified = append_unsigned_change(countersigned)
        for status in pyhanko_statuses(modified, exported_ca):
            assert status.intact
            assert not status.docmdp_ok
            assert not status.bottom_line

    def test_a_certificate_from_another_ca_is_untrusted(self, signed_bt):
        stranger = OrganisationalCA.generate(now=NOW, common_name="Another Hub CA")
        with pytest.raises(PDFSignerUntrusted, match="does not chain") as caught:
            verify_pdf(signed_bt, [stranger.certificate_pem], now=CHECKED_AT)
        (report,) = caught.value.reports
        assert report.intact
        assert not report.trusted
        assert not report.timestamp_valid
        codes = [p.code for p in report.problems]
        assert codes == [ProblemCode.UNTRUSTED, ProblemCode.TIMESTAMP_INVALID]

    def test_an_impostor_ca_with_the_same_name_is_untrusted(self, signed_bb):
        impostor = OrganisationalCA.generate(now=NOW)
        with pytest.raises(PDFSignerUntrusted):
            verify_pdf(signed_bb, [impostor.certificate_pem], now=CHECKED_AT)

    def test_an_expired_certificate_is_untrusted(self, signed_bb, exported_ca):
        with pytest.raises(PDFSignerUntrusted, match="not trusted"):
            verify_pdf(signed_bb, [exported_ca], now=NOW + timedelta(days=365))

    def test_inspection_reports_without_raising(self, signed_bb):
        stranger = OrganisationalCA.generate(now=NOW, common_name="Another Hub CA")
        (report,) = inspect_pdf(signed_bb, [stranger.certificate_der], now=CHECKED_AT)
        assert not report.valid
        assert "does not chain" in report.describe()

    def test_an_unsigned_pdf_is_not_signed(self, exported_ca):
        with pytest.raises(PDFNotSigned):
            verify_pdf(one_page_pdf(), [exported_ca], now=CHECKED_AT)

    def test_every_failure_is_a_pdf_signature_invalid(self, exported_ca):
        assert issubclass(PDFNotSigned, PDFSignatureInvalid)
        with pytest.raises(PDFSignatureInvalid):
            verify_pdf(one_page_pdf(), [exported_ca], now=CHECKED_AT)

    def test_bytes_that_are_not_a_pdf_are_refused(self, exported_ca):
        with pytest.raises(InvalidPDF):
            verify_pdf(b"GIF89a", [exported_ca])

    def test_a_trust_root_that_is_not_a_certificate_is_refused(self, signed_bb):
        with pytest.raises(InvalidInput, match=r"X\.509"):
            verify_pdf(signed_bb, [b"not a certificate"])


@pytest.fixture(scope="module")
def short_lived(ca) -> CertifiedKey:
    return ca.issue_signing_certificate(CHEN_WEI, now=NOW, validity=timedelta(hours=2))


class TestProofOfExistence:
    """A trusted signature time-stamp keeps a signature valid after its certificate expires."""

    def test_a_b_t_signature_is_checked_at_its_time_stamp(self, short_lived, timestamper, ca):
        signed = sign_pdf(
            one_page_pdf(), short_lived, level="B-T", timestamper=timestamper, now=SIGNED_AT
        )
        (report,) = verify_pdf(signed, [ca.certificate_pem], now=NOW + timedelta(days=30))
        assert report.trusted
        assert report.chain_validated_at == report.timestamp_time

    def test_a_b_b_signature_has_no_proof_and_turns_untrusted(self, short_lived, ca):
        signed = sign_pdf(one_page_pdf(), short_lived, now=SIGNED_AT)
        with pytest.raises(PDFSignerUntrusted):
            verify_pdf(signed, [ca.certificate_pem], now=NOW + timedelta(days=30))

    def test_a_time_stamp_does_not_cure_an_untrusted_root(self, short_lived, timestamper):
        signed = sign_pdf(
            one_page_pdf(), short_lived, level="B-T", timestamper=timestamper, now=SIGNED_AT
        )
        stranger = OrganisationalCA.generate(now=NOW, common_name="Another Hub CA")
        (report,) = inspect_pdf(signed, [stranger.certificate_pem], now=CHECKED_AT)
        assert not report.trusted


class TestRecordIdentifiers:
    """Reports name the Bayflow records behind a signature and fingerprint its CMS."""

    def test_organisation_and_person_ids_come_from_the_certificate(self, ca, exported_ca):
        subject = SignerSubject(
            person_name="Chen Wei",
            organisation_name="Qianhai Bayline Logistics Co., Ltd.",
            organisation_identifier="NTRCN-91440300MA5G7K2P0C",
            country="CN",
            role="Director",
            organisation_id="org_bayline",
            person_id="per_chen",
        )
        signer = ca.issue_signing_certificate(subject, now=NOW)
        signed = sign_pdf(one_page_pdf(), signer, now=SIGNED_AT)
        (report,) = verify_pdf(signed, [exported_ca], now=CHECKED_AT)
        assert report.organisation_id == "org_bayline"
        assert report.person_id == "per_chen"

    def test_certificates_without_record_ids_report_none(self, signed_bb, exported_ca):
        (report,) = inspect_pdf(signed_bb, [exported_ca], now=CHECKED_AT)
        assert report.organisation_id is None
        assert report.person_id is None

    def test_the_fingerprint_is_the_sha256_of_the_der_cms(self, signed_bb, exported_ca):
        (report,) = inspect_pdf(signed_bb, [exported_ca], now=CHECKED_AT)
        (embedded,) = PdfFileReader(BytesIO(signed_bb)).embedded_regular_signatures
        padded = embedded.pkcs7_content
        der = padded.rstrip(b"\x00")
        assert len(der) < len(padded)
        assert report.cms_sha256 == hashlib.sha256(der).hexdigest()

    def test_each_signer_has_its_own_fingerprint(self, countersigned, exported_ca):
        reports = inspect_pdf(countersigned, [exported_ca], now=CHECKED_AT)
        assert len({r.cms_sha256 for r in reports}) == 2
