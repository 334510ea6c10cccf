import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bayflow.crypto.jose import PrivateJWK
from bayflow.crypto.pki import (
    ADOBE_AUTHENTIC_DOCUMENTS_TRUST,
    CA_CERTIFICATE_FILE,
    CA_KEY_FILE,
    DEFAULT_SIGNING_VALIDITY,
    ID_KP_DOCUMENT_SIGNING,
    CertifiedKey,
    OrganisationalCA,
    P256PublicKey,
    P256SigningKey,
    SignerSubject,
    export_ca_certificate,
)
from bayflow.errors import ConfigurationError, InvalidInput

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

CHEN_WEI = SignerSubject(
    person_name="Chen Wei",
    organisation_name="Qianhai Bayline Logistics Co., Ltd.",
    organisation_identifier="NTRCN-91440300MA5G7K2P0C",
    country="CN",
    role="Director",
)


@pytest.fixture(scope="module")
def ca() -> OrganisationalCA:
    return OrganisationalCA.generate(now=NOW)


def attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    (value,) = name.get_attributes_for_oid(oid)
    return str(value.value)


class TestSignerSubject:
    """Signer subjects accept EN 319 412-1 organisation identifiers and refuse anything else."""

    @pytest.mark.parametrize(
        ("identifier", "country"),
        [
            ("NTRHK-12345678", "HK"),
            ("NTRCN-91440300MA5G7K2P0C", "CN"),
            ("NTRMO-12345", "MO"),
            ("LEIXG-5493001KJTIIGC8Y1R12", "HK"),
        ],
    )
    def test_accepts_registry_and_lei_identifiers(self, identifier, country) -> None:
        subject = SignerSubject(
            "Wong Ka Ming", "Lion Rock Bank Limited", identifier, country, "Director"
        )
        assert attribute(subject.to_name(), NameOID.ORGANIZATION_IDENTIFIER) == identifier

    @pytest.mark.parametrize(
        "identifier",
        ["12345678", "NTR-12345678", "XYZHK-12345678", "NTRHK12345678", "ntrhk-12345678", "NTRHK-"],
    )
    def test_rejects_malformed_identifiers(self, identifier) -> None:
        with pytest.raises(InvalidInput, match="EN 319 412-1"):
            SignerSubject("Wong Ka Ming", "Lion Rock Bank Limited", identifier, "HK", "Director")

    def test_rejects_an_identifier_from_another_country(self) -> None:
        with pytest.raises(InvalidInput, match="names country CN, expected HK"):
            SignerSubject("Chen Wei", "Bayline", "NTRCN-91440300MA5G7K2P0C", "HK", "Director")

    def test_rejects_a_jurisdiction_outside_the_gba(self) -> None:
        with pytest.raises(InvalidInput, match="HK, CN, MO"):
            SignerSubject("Jane Doe", "Acme", "NTRGB-01234567", "GB", "Director")  # type: ignore[arg-type]

    @pytest.mark.parametrize("field", ["person_name", "organisation_name", "role"])
    def test_rejects_empty_and_overlong_names(self, field) -> None:
        values = {
            "person_name": "Chen Wei",
            "organisation_name": "Bayline",
            "organisation_identifier": "NTRCN-91440300MA5G7K2P0C",
            "country": "CN",
            "role": "Director",
        }
        with pytest.raises(InvalidInput, match="empty"):
            SignerSubject(**{**values, field: "  "})
        with pytest.raises(InvalidInput, match="longer than 64"):
            SignerSubject(**{**values, field: "x" * 65})

    def test_orders_the_name_from_country_to_person(self) -> None:
        assert CHEN_WEI.to_name().rfc4514_string() == (
            "CN=Chen Wei,2.5.4.12=Director,2.5.4.97=NTRCN-91440300MA5G7K2P0C,"
            "O=Qianhai Bayline Logistics Co.\\, Ltd.,C=CN"
        )


class TestP256SigningKey:
    """P-256 keys sign with ECDSA-SHA256, round-trip through PEM and keep their secret."""

    def test_signatures_verify_under_the_public_key(self) -> None:
        key = P256SigningKey.generate()
        signature = key.sign(b"loan agreement")
        key.public_key.verify(signature, b"loan agreement", ec.ECDSA(hashes.SHA256()))

    def test_pem_round_trip_keeps_the_key(self) -> None:
        key = P256SigningKey.generate()
        again = P256SigningKey.from_pem(key.to_pem())
        assert again.public_key_der == key.public_key_der

    def test_refuses_keys_of_other_types_and_curves(self) -> None:
        ed = ed25519.Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        with pytest.raises(InvalidInput, match="not an elliptic-curve key"):
            P256SigningKey.from_pem(ed)
        p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        with pytest.raises(InvalidInput, match="P-256"):
            P256SigningKey.from_pem(p384)
        with pytest.raises(InvalidInput, match="PEM private key"):
            P256SigningKey.from_pem(b"not a key")

    def test_repr_shows_no_secret(self) -> None:
        key = P256SigningKey.generate()
        assert "PRIVATE" not in repr(key)
        assert key.to_pem().decode() not in repr(key)


class TestOrganisationalCA:
    """The CA is created once in its directory, then loaded, and refuses a damaged directory."""

    def test_first_open_creates_a_private_key_file_and_a_certificate(self, tmp_path) -> None:
        directory = tmp_path / "pki"
        ca = OrganisationalCA.open(directory, now=NOW)
        key_mode = stat.S_IMODE((directory / CA_KEY_FILE).stat().st_mode)
        assert key_mode == 0o600
        assert (directory / CA_CERTIFICATE_FILE).read_bytes() == ca.certificate_pem

    def test_later_opens_load_the_same_ca(self, tmp_path) -> None:
        first = OrganisationalCA.open(tmp_path, now=NOW)
        second = OrganisationalCA.open(tmp_path, now=NOW + timedelta(days=1))
        assert second.certificate == first.certificate

    def test_export_returns_the_persisted_certificate(self, tmp_path) -> None:
        pem = export_ca_certificate(tmp_path, now=NOW)
        assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
        assert pem == (tmp_path / CA_CERTIFICATE_FILE).read_bytes()
        assert export_ca_certificate(tmp_path, now=NOW) == pem

    def test_a_directory_with_only_a_key_is_refused_not_repaired(self, tmp_path) -> None:
        OrganisationalCA.open(tmp_path, now=NOW)
        (tmp_path / CA_CERTIFICATE_FILE).unlink()
        with pytest.raises(ConfigurationError, match="incomplete"):
            OrganisationalCA.open(tmp_path, now=NOW)

    def test_a_key_readable_by_others_is_refused(self, tmp_path) -> None:
        OrganisationalCA.open(tmp_path, now=NOW)
        (tmp_path / CA_KEY_FILE).chmod(0o644)
        with pytest.raises(ConfigurationError, match="chmod 600"):
            OrganisationalCA.load(tmp_path)

    def test_a_certificate_for_another_key_is_refused(self, tmp_path) -> None:
        OrganisationalCA.open(tmp_path, now=NOW)
        other = OrganisationalCA.generate(now=NOW)
        (tmp_path / CA_CERTIFICATE_FILE).write_bytes(other.certificate_pem)
        with pytest.raises(ConfigurationError, match="does not match"):
            OrganisationalCA.load(tmp_path)

    def test_saving_never_overwrites_a_ca(self, tmp_path, ca) -> None:
        OrganisationalCA.open(tmp_path, now=NOW)
        with pytest.raises(ConfigurationError, match="already holds"):
            ca.save(tmp_path)

    def test_the_root_is_a_self_signed_p256_ca_for_end_entities(self, ca) -> None:
        certificate = ca.certificate
        certificate.verify_directly_issued_by(certificate)
        assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical
        assert constraints.value.ca
        assert constraints.value.path_length == 0
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign
        assert usage.crl_sign
        assert not usage.digital_signature

    def test_a_certificate_that_is_not_a_ca_cannot_be_one(self, ca) -> None:
        leaf = ca.issue_signing_certificate(CHEN_WEI, now=NOW)
        with pytest.raises(ConfigurationError, match="not a CA"):
            OrganisationalCA(leaf.key, leaf.certificate)


class TestSigningCertificates:
    """Signing certificates name the organisation and role and are fit only for signing."""

    def test_subject_names_person_role_and_organisation(self, ca) -> None:
        subject = ca.issue_signing_certificate(CHEN_WEI, now=NOW).certificate.subject
        assert attribute(subject, NameOID.COMMON_NAME) == "Chen Wei"
        assert attribute(subject, NameOID.TITLE) == "Director"
        assert attribute(subject, NameOID.ORGANIZATION_NAME) == (
            "Qianhai Bayline Logistics Co., Ltd."
        )
        assert attribute(subject, NameOID.ORGANIZATION_IDENTIFIER) == "NTRCN-91440300MA5G7K2P0C"
        assert attribute(subject, NameOID.COUNTRY_NAME) == "CN"

    def test_issued_by_the_ca_for_signing_only(self, ca) -> None:
        issued = ca.issue_signing_certificate(CHEN_WEI, now=NOW)
        certificate = issued.certificate
        certificate.verify_directly_issued_by(ca.certificate)
        assert issued.chain == (ca.certificate,)
        extensions = certificate.extensions
        assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        usage = extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical
        assert usage.value.digital_signature
        assert usage.value.content_commitment
        assert not usage.value.key_cert_sign
        eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert list(eku.value) == [ID_KP_DOCUMENT_SIGNING, ADOBE_AUTHENTIC_DOCUMENTS_TRUST]
        assert not eku.critical
        authority = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        subject_key = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        assert authority.key_identifier == subject_key.value.digest

    def test_validity_is_short_and_starts_now(self, ca) -> None:
        certificate = ca.issue_signing_certificate(CHEN_WEI, now=NOW).certificate
        assert certificate.not_valid_before_utc == NOW
        assert certificate.not_valid_after_utc == NOW + DEFAULT_SIGNING_VALIDITY

    def test_validity_never_outlives_the_ca(self, ca) -> None:
        certificate = ca.issue_signing_certificate(
            CHEN_WEI, now=NOW, validity=timedelta(days=100 * 365)
        ).certificate
        assert certificate.not_valid_after_utc == ca.certificate.not_valid_after_utc

    def test_an_expired_ca_issues_nothing(self, ca) -> None:
        later = ca.certificate.not_valid_after_utc + timedelta(seconds=1)
        with pytest.raises(ConfigurationError, match="expired"):
            ca.issue_signing_certificate(CHEN_WEI, now=later)

    def test_serial_numbers_are_random_and_positive(self, ca) -> None:
        serials = {
            ca.issue_signing_certificate(CHEN_WEI, now=NOW).certificate.serial_number
            for _ in range(8)
        }
        assert len(serials) == 8
        assert all(0 < s < 2**159 for s in serials)

    def test_certifies_a_key_the_caller_supplies(self, ca) -> None:
        key = P256SigningKey.generate()
        issued = ca.issue_signing_certificate(CHEN_WEI, now=NOW, key=key)
        assert issued.key is key
        assert key.matches(issued.certificate)

    def test_refuses_naive_times_and_empty_validity(self, ca) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            ca.issue_signing_certificate(CHEN_WEI, now=NOW.replace(tzinfo=None))
        with pytest.raises(InvalidInput, match="positive"):
            ca.issue_signing_certificate(CHEN_WEI, now=NOW, validity=timedelta(0))


class TestTimestampingCertificate:
    """The TSA certificate carries id-kp-timeStamping alone, critical, as RFC 3161 requires."""

    def test_extended_key_usage_is_exactly_time_stamping_and_critical(self, ca) -> None:
        certificate = ca.issue_timestamping_certificate(now=NOW).certificate
        certificate.verify_directly_issued_by(ca.certificate)
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert eku.critical
        assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
        assert attribute(certificate.subject, NameOID.ORGANIZATION_NAME) == "Bayflow Hub"


class TestCertifiedKey:
    """A certified key round-trips through PEM and refuses a certificate for another key."""

    def test_pem_round_trip(self, ca) -> None:
        issued = ca.issue_signing_certificate(CHEN_WEI, now=NOW)
        again = CertifiedKey.from_pem(issued.key.to_pem(), issued.certificates_pem)
        assert again.certificate == issued.certificate
        assert again.chain == (ca.certificate,)
        assert again.certificate_der == issued.certificate_der
        assert again.chain_der == (ca.certificate_der,)

    def test_a_mismatched_key_is_refused(self, ca) -> None:
        issued = ca.issue_signing_certificate(CHEN_WEI, now=NOW)
        with pytest.raises(InvalidInput, match="does not match"):
            CertifiedKey(P256SigningKey.generate(), issued.certificate)

    def test_a_bad_bundle_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="PEM certificate bundle"):
            CertifiedKey.from_pem(P256SigningKey.generate().to_pem(), b"nothing")


class TestCertifyingAParticipantsKey:
    """The CA certifies a public key it is sent and names the Bayflow records behind it."""

    def test_certifies_a_pem_public_key_without_its_private_half(self, ca) -> None:
        key = P256SigningKey.generate()
        public = P256PublicKey.from_pem(P256PublicKey(key.public_key).pem)
        certificate = ca.certify_signing_key(CHEN_WEI, public, now=NOW)
        certificate.verify_directly_issued_by(ca.certificate)
        assert key.matches(certificate)

    def test_certifies_a_p256_jwk(self, ca) -> None:
        jwk = PrivateJWK.generate("ES256").public.to_dict()
        public = P256PublicKey.from_jwk(jwk)
        certificate = ca.certify_signing_key(CHEN_WEI, public, now=NOW)
        assert certificate.public_key() == public.key

    def test_refuses_keys_that_are_not_p256(self) -> None:
        with pytest.raises(InvalidInput, match="P-256"):
            P256PublicKey.from_jwk(PrivateJWK.generate().public.to_dict())
        other = ec.generate_private_key(ec.SECP384R1()).public_key()
        with pytest.raises(InvalidInput, match="P-256"):
            P256PublicKey(other)
        with pytest.raises(InvalidInput, match="PEM public key"):
            P256PublicKey.from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")

    def test_the_alternative_name_carries_organisation_and_person_ids(self, ca) -> None:
        subject = SignerSubject(
            person_name="Chen Wei",
            organisation_name="Qianhai Bayline Logistics Co., Ltd.",
            organisation_identifier="NTRCN-91440300MA5G7K2P0C",
            country="CN",
            role="Director",
            organisation_id="org_bayline",
            person_id="per_chen",
        )
        certificate = ca.issue_signing_certificate(subject, now=NOW).certificate
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert not names.critical
        assert names.value.get_values_for_type(x509.UniformResourceIdentifier) == [
            "urn:bayflow:org:org_bayline",
            "urn:bayflow:person:per_chen",
        ]

    def test_without_record_ids_there_is_no_alternative_name(self, ca) -> None:
        certificate = ca.issue_signing_certificate(CHEN_WEI, now=NOW).certificate
        with pytest.raises(x509.ExtensionNotFound):
            certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)

    def test_refuses_record_ids_that_could_inject_into_a_urn(self) -> None:
        with pytest.raises(InvalidInput, match="record id"):
            SignerSubject(
                person_name="Chen Wei",
                organisation_name="Bayline",
                organisation_identifier="NTRCN-91440300MA5G7K2P0C",
                country="CN",
                role="Director",
                person_id="per_chen:admin",
            )
