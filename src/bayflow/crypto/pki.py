"""The hub's organisational certificate authority: X.509 certificates for PAdES and RFC 3161.

The CA issues two kinds of end-entity certificate (RFC 5280 profiles):

- **Signing certificates** for a person acting for an organisation. The subject names the
  organisation the way ETSI EN 319 412-1 §5.1.4 and EN 319 412-3 expect of a legal-person
  context: ``O`` is the legal name, ``organizationIdentifier`` (2.5.4.97) is the registry
  identifier in the ``NTRHK-12345678`` / ``NTRCN-91440300MA5G7K2P0C`` syntax, ``C`` is the
  jurisdiction, ``CN`` is the person and ``title`` the role they sign in. Key usage is
  ``digitalSignature`` + ``nonRepudiation`` (EN 319 412-2 §4.3.2, what pyHanko requires by
  default of document signers); the extended key usage is ``id-kp-documentSigning`` (RFC 9336)
  plus Adobe's "Authentic Documents Trust" purpose, because Acrobat rejects a signer whose EKU
  lists none of the purposes it knows.
- **A time-stamping certificate** for the hub's RFC 3161 authority, whose EKU is exactly
  ``id-kp-timeStamping`` and marked critical, as RFC 3161 §2.3 requires.

Every key is ECDSA P-256 with SHA-256. Ed25519 would match the rest of Bayflow, and pyHanko can
produce and check it, but PDF readers lag: Adobe Acrobat and most viewers in use in the GBA
validate ECDSA P-256 signatures (ISO 32000-2 and ETSI TS 119 312 list it) and many do not yet
accept EdDSA, so a P-256 PAdES signature is one a company secretary can open and see as valid.

A signing certificate can also name the Bayflow records behind it: a subject alternative name
(RFC 5280 §4.2.1.6) holds ``urn:bayflow:org:<id>`` and ``urn:bayflow:person:<id>`` URIs, so a
verifier can ask the hub whether the people who signed satisfy one of the organisation's
mandates. The subject's distinguished name stays what ETSI prescribes; the URIs only add.

Signing certificates live 90 days by default. The hub publishes no CRL or OCSP responder yet, so
short lives bound how long a certificate for a person who has left a role stays usable.
Serial numbers are 159 random bits (RFC 5280 §4.1.2.2 caps them at 20 octets; CA/Browser Forum
practice asks for at least 64 bits of randomness), so two hub workers never collide.

The CA's key and certificate persist as PEM files in a directory the caller names; the first
use creates them (the key file with mode 0600) under a lock, later uses load and check them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bayflow.crypto.jose import PublicJWK, b64url_decode
from bayflow.errors import ConfigurationError, InvalidInput

__all__ = [
    "CA_CERTIFICATE_FILE",
    "CA_KEY_FILE",
    "DEFAULT_SIGNING_VALIDITY",
    "DEFAULT_TIMESTAMPING_VALIDITY",
    "ORGANISATION_URN_PREFIX",
    "PERSON_URN_PREFIX",
    "CertifiedKey",
    "Jurisdiction",
    "OrganisationalCA",
    "P256PublicKey",
    "P256SigningKey",
    "SignerSubject",
    "certificates_pem",
    "export_ca_certificate",
]

Jurisdiction = Literal["HK", "CN", "MO"]

CA_KEY_FILE: Final = "ca-key.pem"
CA_CERTIFICATE_FILE: Final = "ca-cert.pem"
_LOCK_FILE: Final = ".ca.lock"

DEFAULT_CA_VALIDITY: Final = timedelta(days=3653)
DEFAULT_SIGNING_VALIDITY: Final = timedelta(days=90)
DEFAULT_TIMESTAMPING_VALIDITY: Final = timedelta(days=5 * 365)

# RFC 9336 §3: id-kp-documentSigning.
ID_KP_DOCUMENT_SIGNING: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# Adobe's "Authentic Documents Trust" key purpose, one of the EKUs Acrobat accepts on signers.
ADOBE_AUTHENTIC_DOCUMENTS_TRUST: Final = x509.ObjectIdentifier("1.2.840.113583.1.1.5")

# EN 319 412-1 §5.1.4: three-letter scheme, ISO 3166 country, hyphen, registry identifier.
# NTR is a national trade register, VAT a tax number, PSD a payment-services authorisation,
# LEI an ISO 17442 code (whose country part is "XG", global).
_ORGANISATION_IDENTIFIER = re.compile(r"(?P<scheme>NTR|VAT|PSD|LEI)(?P<country>[A-Z]{2})-[0-9A-Z]+")
_JURISDICTIONS: Final = frozenset({"HK", "CN", "MO"})
# X.520 ub-common-name, ub-organization-name, ub-title: longer values are not valid DER names.
_MAX_NAME: Final = 64

# URN prefixes of the subject alternative names that carry Bayflow record ids; the same form as
# the ``alsoKnownAs`` of an organisation's did:web document.
ORGANISATION_URN_PREFIX: Final = "urn:bayflow:org:"
PERSON_URN_PREFIX: Final = "urn:bayflow:person:"
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class P256SigningKey:
    """An ECDSA key on NIST P-256 (FIPS 186-5) that signs with SHA-256.

    Signatures are DER ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3), the form CMS (RFC 5753) and
    X.509 use. The key never leaves this object except through :meth:`to_pem`.
    """

    __slots__ = ("_key",)

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise TypeError(f"expected a P-256 key, got {key.curve.name}")
        self._key = key

    @classmethod
    def generate(cls) -> P256SigningKey:
        """A new key from the operating system's CSPRNG."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, data: bytes) -> P256SigningKey:
        """Load an unencrypted PKCS #8 (or SEC 1) PEM private key."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise InvalidInput("not an unencrypted PEM private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidInput("the private key is not an elliptic-curve key")
        try:
            return cls(key)
        except TypeError as exc:
            raise InvalidInput(str(exc)) from exc

    def to_pem(self) -> bytes:
        """The key as unencrypted PKCS #8 PEM. Treat the result as a secret."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_key_der(self) -> bytes:
        """The DER ``SubjectPublicKeyInfo`` (RFC 5480)."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        """ECDSA-with-SHA256 over ``data``, DER-encoded."""
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign_certificate(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        """Sign a certificate as its issuer, with ecdsa-with-SHA256 (RFC 5758 §3.2)."""
        return builder.sign(self._key, hashes.SHA256())

    def matches(self, certificate: x509.Certificate) -> bool:
        """Whether ``certificate`` certifies this key's public half."""
        return certificate.public_key() == self._key.public_key()

    def __repr__(self) -> str:
        # The private scalar must never reach logs or tracebacks.
        return f"P256SigningKey(spki_sha256={_sha256_hex(self.public_key_der)[:16]}…)"


class P256PublicKey:
    """A P-256 public key someone asks the CA to certify; the private half stays with them."""

    __slots__ = ("_key",)

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidInput(f"expected a P-256 public key, got {key.curve.name}")
        self._key = key

    @classmethod
    def from_pem(cls, data: bytes) -> P256PublicKey:
        """Load a PEM ``SubjectPublicKeyInfo`` (RFC 5480), ``-----BEGIN PUBLIC KEY-----``."""
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidInput("not a PEM public key (SubjectPublicKeyInfo)") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidInput("the public key is not an elliptic-curve key")
        return cls(key)

    @classmethod
    def from_jwk(cls, jwk: Any) -> P256PublicKey:
        """Load a public JWK with ``kty`` EC and ``crv`` P-256 (RFC 7518 §6.2.1)."""
        public = PublicJWK.from_dict(jwk)
        if public.curve != "P-256":
            raise InvalidInput(f"expected a P-256 JWK, got curve {public.curve}")
        members = public.to_dict(include_kid=False)
        x = int.from_bytes(b64url_decode(members["x"]), "big")
        y = int.from_bytes(b64url_decode(members["y"]), "big")
        try:
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError as exc:
            raise InvalidInput("the JWK's point is not on P-256") from exc
        return cls(key)

    @property
    def key(self) -> ec.EllipticCurvePublicKey:
        return self._key

    @property
    def der(self) -> bytes:
        """The DER ``SubjectPublicKeyInfo``."""
        return self._key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def pem(self) -> bytes:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:
        return f"P256PublicKey(spki_sha256={_sha256_hex(self.der)[:16]}…)"


@dataclass(frozen=True, slots=True)
class SignerSubject:
    """Who a signing certificate names: a person acting for an organisation in a role.

    ``organisation_identifier`` follows EN 319 412-1 §5.1.4 (``NTRHK-12345678`` for a Hong Kong
    Business Registration Number, ``NTRCN-`` + USCC for the Mainland, ``NTRMO-`` for Macao,
    ``LEIXG-`` + LEI). Only its syntax is checked here: the identity service has already
    validated the registry number's check characters when it admitted the organisation.
    ``role`` goes into the X.520 ``title`` attribute ("Director", "Authorised Signatory").
    ``organisation_id`` and ``person_id`` are Bayflow record ids for the subject alternative
    name; ``None`` leaves them out (a certificate for someone outside a Bayflow hub).
    """

    person_name: str
    organisation_name: str
    organisation_identifier: str
    country: Jurisdiction
    role: str
    organisation_id: str | None = None
    person_id: str | None = None

    def __post_init__(self) -> None:
        if self.country not in _JURISDICTIONS:
            raise InvalidInput(f"country must be one of HK, CN, MO, not {self.country!r}")
        for label, value in (
            ("person name", self.person_name),
            ("organisation name", self.organisation_name),
            ("role", self.role),
        ):
            if not value.strip():
                raise InvalidInput(f"the signer's {label} is empty")
            if len(value) > _MAX_NAME:
                raise InvalidInput(f"the signer's {label} is longer than {_MAX_NAME} characters")
        match = _ORGANISATION_IDENTIFIER.fullmatch(self.organisation_identifier)
        if match is None:
            raise InvalidInput(
                "organisation identifier must follow EN 319 412-1, e.g. NTRHK-12345678, "
                f"not {self.organisation_identifier!r}"
            )
        expected = "XG" if match["scheme"] == "LEI" else self.country
        if match["country"] != expected:
            raise InvalidInput(
                f"organisation identifier {self.organisation_identifier!r} names country "
                f"{match['country']}, expected {expected}"
            )
        for label, record_id in (
            ("organisation id", self.organisation_id),
            ("person id", self.person_id),
        ):
            if record_id is not None and not _RECORD_ID.fullmatch(record_id):
                raise InvalidInput(f"the signer's {label} {record_id!r} is not a record id")

    def to_name(self) -> x509.Name:
        # Most significant first, as X.501 orders a distinguished name.
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organisation_name),
                x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, self.organisation_identifier),
                x509.NameAttribute(NameOID.TITLE, self.role),
                x509.NameAttribute(NameOID.COMMON_NAME, self.person_name),
            ]
        )

    def alternative_name(self) -> x509.SubjectAlternativeName | None:
        """The ``urn:bayflow:…`` URIs naming the records, or ``None`` when there are none."""
        uris = [
            f"{prefix}{record_id}"
            for prefix, record_id in (
                (ORGANISATION_URN_PREFIX, self.organisation_id),
                (PERSON_URN_PREFIX, self.person_id),
            )
            if record_id is not None
        ]
        if not uris:
            return None
        return x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris])


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A private key with the certificate that certifies it and the issuing chain.

    ``chain`` runs from the certificate's issuer up to and including the root, so
    ``(certificate, *chain)`` is a complete path a verifier can build from.
    """

    key: P256SigningKey = field(repr=False)
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not self.key.matches(self.certificate):
            raise InvalidInput("the private key does not match the certificate")

    @classmethod
    def from_pem(cls, key_pem: bytes, certificates_pem: bytes) -> CertifiedKey:
        """Load a key and a PEM bundle whose first certificate is the key's, then its chain."""
        try:
            certificates = x509.load_pem_x509_certificates(certificates_pem)
        except ValueError as exc:
            raise InvalidInput("not a PEM certificate bundle") from exc
        return cls(P256SigningKey.from_pem(key_pem), certificates[0], tuple(certificates[1:]))

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def chain_der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)

    @property
    def certificates_pem(self) -> bytes:
        """The certificate then its chain, PEM-encoded: the inverse of :meth:`from_pem`."""
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (self.certificate, *self.chain)
        )


class OrganisationalCA:
    """The hub's root CA: a self-signed P-256 certificate and its key.

    Build one with :meth:`open` (persistent, the hub's) or :meth:`generate` (in memory, for
    tests and benchmarks). Issued certificates never outlive the CA certificate.
    """

    __slots__ = ("_certificate", "_key")

    def __init__(self, key: P256SigningKey, certificate: x509.Certificate) -> None:
        if not key.matches(certificate):
            raise ConfigurationError("the CA key does not match the CA certificate")
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound as exc:
            raise ConfigurationError("the CA certificate has no basicConstraints") from exc
        if not constraints.value.ca:
            raise ConfigurationError("the CA certificate is not a CA (basicConstraints cA=false)")
        self._key = key
        self._certificate = certificate

    @classmethod
    def generate(
        cls,
        *,
        now: datetime,
        common_name: str = "Bayflow Organisational CA",
        organisation: str = "Bayflow Hub",
        country: Jurisdiction = "HK",
        validity: timedelta = DEFAULT_CA_VALIDITY,
    ) -> OrganisationalCA:
        """A new root CA, valid from ``now``; nothing is written to disk."""
        _require_aware(now)
        key = P256SigningKey.generate()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        public_key = key.public_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + validity)
            # pathLen 0: this CA certifies end entities only, never another CA.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                _key_usage(key_cert_sign=True, crl_sign=True),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        certificate = key.sign_certificate(builder)
        return cls(key, certificate)

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        now: datetime,
        common_name: str = "Bayflow Organisational CA",
        organisation: str = "Bayflow Hub",
        country: Jurisdiction = "HK",
    ) -> OrganisationalCA:
        """Load the CA kept in ``directory``, creating the directory and the CA on first use.

        Creation happens under an exclusive lock, so hub workers starting together agree on one
        CA. A directory holding only one of the two files is refused rather than repaired:
        overwriting a CA key would orphan every certificate it issued.
        """
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / CA_KEY_FILE
        certificate_path = directory / CA_CERTIFICATE_FILE
        with _locked(directory / _LOCK_FILE):
            if not key_path.exists() and not certificate_path.exists():
                ca = cls.generate(
                    now=now, common_name=common_name, organisation=organisation, country=country
                )
                ca.save(directory)
                return ca
        return cls.load(directory)

    def save(self, directory: Path) -> None:
        """Write the key (mode 0600) and certificate into ``directory``; never overwrite."""
        try:
            _write_new(directory / CA_KEY_FILE, self._key.to_pem(), mode=0o600)
            _write_new(directory / CA_CERTIFICATE_FILE, self.certificate_pem, mode=0o644)
        except FileExistsError as exc:
            raise ConfigurationError(f"{directory} already holds an organisational CA") from exc

    @classmethod
    def load(cls, directory: Path) -> OrganisationalCA:
        """Load an existing CA from ``directory``; raise :class:`ConfigurationError` if unusable."""
        key_path = directory / CA_KEY_FILE
        certificate_path = directory / CA_CERTIFICATE_FILE
        for path in (key_path, certificate_path):
            if not path.is_file():
                raise ConfigurationError(f"the organisational CA is incomplete: {path} is missing")
        if key_path.stat().st_mode & 0o077:
            raise ConfigurationError(f"{key_path} is readable by other users; run chmod 600 on it")
        try:
            key = P256SigningKey.from_pem(key_path.read_bytes())
            certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        except (InvalidInput, ValueError) as exc:
            raise ConfigurationError(f"the organisational CA in {directory} is unreadable") from exc
        return cls(key, certificate)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_der(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.DER)

    def issue_signing_certificate(
        self,
        subject: SignerSubject,
        *,
        now: datetime,
        key: P256SigningKey | None = None,
        validity: timedelta = DEFAULT_SIGNING_VALIDITY,
    ) -> CertifiedKey:
        """Certify ``key`` (a new one if ``None``) for PAdES signing by ``subject``."""
        key = key or P256SigningKey.generate()
        certificate = self.certify_signing_key(
            subject, P256PublicKey(key.public_key), now=now, validity=validity
        )
        return CertifiedKey(key, certificate, (self._certificate,))

    def certify_signing_key(
        self,
        subject: SignerSubject,
        public_key: P256PublicKey,
        *,
        now: datetime,
        validity: timedelta = DEFAULT_SIGNING_VALIDITY,
    ) -> x509.Certificate:
        """A PAdES signing certificate for a key whose private half the CA never sees.

        This is how the hub certifies a participant's own key: the participant keeps the
        private key and receives only the certificate.
        """
        alternative_name = subject.alternative_name()
        return self._certify(
            subject.to_name(),
            public_key.key,
            now=now,
            validity=validity,
            key_usage=_key_usage(digital_signature=True, content_commitment=True),
            extended_key_usage=x509.ExtendedKeyUsage(
                [ID_KP_DOCUMENT_SIGNING, ADOBE_AUTHENTIC_DOCUMENTS_TRUST]
            ),
            # Non-critical: RFC 9336 §3 leaves it to the CA, and a critical EKU would make
            # readers that do not know id-kp-documentSigning reject the certificate.
            eku_critical=False,
            # RFC 5280 §4.2.1.6: non-critical, because the subject name is not empty.
            extra=() if alternative_name is None else (alternative_name,),
        )

    def issue_timestamping_certificate(
        self,
        *,
        now: datetime,
        key: P256SigningKey | None = None,
        common_name: str = "Bayflow Time-Stamping Authority",
        validity: timedelta = DEFAULT_TIMESTAMPING_VALIDITY,
    ) -> CertifiedKey:
        """Certify ``key`` (a new one if ``None``) for the hub's RFC 3161 authority."""
        issuer = self._certificate.subject
        organisation = issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        country = issuer.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        name = x509.Name(
            [*country, *organisation, x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        )
        return self._issue(
            name,
            key or P256SigningKey.generate(),
            now=now,
            validity=validity,
            key_usage=_key_usage(digital_signature=True, content_commitment=True),
            extended_key_usage=x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
            # RFC 3161 §2.3: the TSA's certificate MUST carry exactly this EKU, critical.
            eku_critical=True,
        )

    def _issue(
        self,
        subject: x509.Name,
        key: P256SigningKey,
        *,
        now: datetime,
        validity: timedelta,
        key_usage: x509.KeyUsage,
        extended_key_usage: x509.ExtendedKeyUsage,
        eku_critical: bool,
    ) -> CertifiedKey:
        certificate = self._certify(
            subject,
            key.public_key,
            now=now,
            validity=validity,
            key_usage=key_usage,
            extended_key_usage=extended_key_usage,
            eku_critical=eku_critical,
        )
        return CertifiedKey(key, certificate, (self._certificate,))

    def _certify(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        *,
        now: datetime,
        validity: timedelta,
        key_usage: x509.KeyUsage,
        extended_key_usage: x509.ExtendedKeyUsage,
        eku_critical: bool,
        extra: tuple[x509.ExtensionType, ...] = (),
    ) -> x509.Certificate:
        _require_aware(now)
        if validity <= timedelta(0):
            raise InvalidInput("a certificate's validity must be positive")
        ca_not_after = self._certificate.not_valid_after_utc
        if now >= ca_not_after:
            raise ConfigurationError("the organisational CA certificate has expired")
        ca_public_key = self._key.public_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(min(now + validity, ca_not_after))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage, critical=True)
            .add_extension(extended_key_usage, critical=eku_critical)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key),
                critical=False,
            )
        )
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return self._key.sign_certificate(builder)

    def __repr__(self) -> str:
        return f"OrganisationalCA(subject={self._certificate.subject.rfc4514_string()!r})"


def export_ca_certificate(directory: Path, *, now: datetime) -> bytes:
    """The PEM certificate of the CA kept in ``directory`` (created on first use).

    This is what relying parties install as a trust root to validate Bayflow PAdES signatures.
    """
    return OrganisationalCA.open(directory, now=now).certificate_pem


def certificates_pem(*certificates: x509.Certificate) -> bytes:
    """The certificates as one PEM bundle, in the order given."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("certificate times need a timezone-aware datetime")


def _sha256_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize().hex()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # Closing the descriptor releases the lock.


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    # O_EXCL with the final mode at creation: a key file is never readable by others, not even
    # for the moment between creating and chmod-ing it, and an existing file is never replaced.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
