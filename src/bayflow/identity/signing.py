"""Digital signing for Corp ID: who signs in which role, detached JWS, PAdES through the hub.

Two kinds of signature, one question behind both ("who signed, for whom, in which role?"):

- **A detached JWS** (RFC 7515 Appendix F) over any bytes, made with the person's Ed25519 key
  from their key file (algorithm ``Ed25519``, RFC 9864). The protected header says who signs:
  ``kid`` names the key, ``iss`` is the organisation's did:web identifier, ``bayflow:org`` and
  ``bayflow:person`` the record ids, ``bayflow:name`` the person's name, ``bayflow:role`` the
  role claimed and ``iat`` the claimed signing time. The key binds only the ids: the name and
  the role are the signer's own statement. A verifier resolves the key from the organisation's
  did:web document, where retired keys stay listed with the time they were retired, so an old
  signature still verifies and a signature claiming a time after its key was retired does not.
- **A PAdES signature** on a PDF (:mod:`bayflow.identity.pdf`), with a throwaway P-256 key the
  signer makes for the occasion and a short-lived certificate from the hub's CA naming the
  organisation, the person and the role (:func:`signer_subject`).

A person who holds several roles signs in the one with the most authority unless they choose
another they hold (:func:`signing_role`). The role a signature names is informative: whether
the signers may bind the organisation is the mandate check's question, answered from the
hub's records of who holds which role now (``IdentityService.check_authority``).

Every signature is fingerprinted for the verification ledger: the SHA-256 of the compact JWS,
or of the DER CMS object of a PDF signature (:attr:`PDFSignatureReport.cms_sha256`).
:func:`anchor_signatures` hands the fingerprints to whatever anchors them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.errors import InvalidSignature, MalformedJOSE, UnknownKey
from bayflow.crypto.jose import ED25519, CompactJWS, PrivateJWK, PublicJWK, sign_detached
from bayflow.crypto.pki import CertifiedKey, P256PublicKey, P256SigningKey, SignerSubject
from bayflow.errors import InvalidInput, PermissionDenied
from bayflow.identity.errors import InvalidPDF, PDFTimestampInvalid
from bayflow.identity.models import Organisation, Person, Role
from bayflow.identity.pdf import PAdESLevel, sign_pdf, signature_fingerprints
from bayflow.ledger.entry import EntryKind

__all__ = [
    "JWS_SCHEMA",
    "JWS_TYPE",
    "PADES_SCHEMA",
    "ROLE_PRECEDENCE",
    "SIGNING_CERTIFICATE_VALIDITY",
    "DetachedSignature",
    "SignatureAnchor",
    "SignedPDF",
    "anchor_signatures",
    "jws_fingerprint",
    "sign_content",
    "sign_pdf_with_certificate",
    "signer_subject",
    "signing_role",
    "verify_content",
]

# Roles from most to least authority. A company secretary administers but does not usually
# bind the company; an administrator manages Corp ID records; a delegate acts on instruction.
ROLE_PRECEDENCE: Final = (
    Role.DIRECTOR,
    Role.AUTHORISED_SIGNATORY,
    Role.COMPANY_SECRETARY,
    Role.ADMINISTRATOR,
    Role.DELEGATE,
)

# A signing key is made for one signing and thrown away, so its certificate only needs to
# outlive the signing itself. A day leaves room for a slow multi-page signing flow; a B-T
# signature stays verifiable after that through its time-stamp (see bayflow.identity.pdf).
SIGNING_CERTIFICATE_VALIDITY: Final = timedelta(days=1)

# The media type of a Bayflow detached signature (RFC 7515 §4.1.9), versioned.
JWS_TYPE: Final = "bayflow-signature+jws"
# Ledger schemas of the two signature fingerprints.
JWS_SCHEMA: Final = "bayflow-jws/1"
PADES_SCHEMA: Final = "pades-cms/1"

# A signer's clock may run a little ahead of the hub that registered their key.
_CLOCK_SKEW: Final = timedelta(seconds=60)
_ORG: Final = "bayflow:org"
_PERSON: Final = "bayflow:person"
_ROLE: Final = "bayflow:role"
_NAME: Final = "bayflow:name"


def signing_role(person: Person, requested: Role | None = None) -> Role:
    """The role ``person`` signs in: ``requested`` if they hold it, else their highest."""
    if requested is not None:
        if requested not in person.roles:
            held = ", ".join(r.label for r in _ranked(person.roles)) or "none"
            raise PermissionDenied(
                f"{person.name} does not hold the role {requested.label} (roles held: {held})"
            )
        return requested
    ranked = _ranked(person.roles)
    if not ranked:
        raise PermissionDenied(f"{person.name} holds no role to sign in")
    return ranked[0]


def _ranked(roles: frozenset[Role]) -> list[Role]:
    return [r for r in ROLE_PRECEDENCE if r in roles]


def signer_subject(organisation: Organisation, person: Person, role: Role) -> SignerSubject:
    """What the hub's CA writes into ``person``'s signing certificate."""
    if person.organisation_id != organisation.id:
        raise InvalidInput(f"{person.id} is not a member of {organisation.id}")
    return SignerSubject(
        person_name=person.name,
        organisation_name=organisation.legal_name_en,
        organisation_identifier=organisation.identifiers.primary(),
        country=organisation.jurisdiction.value,
        role=role.label,
        organisation_id=organisation.id,
        person_id=person.id,
    )


# Detached JWS -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DetachedSignature:
    """What a detached JWS says about its signer; :meth:`from_jws` parses it strictly.

    ``signed_at`` is the signer's claim (``iat``), not a proof: only a ledger anchor or a
    time-stamp proves when. ``key_retired_at`` is set by :func:`verify_content` when the key
    has been retired since; ``None`` means it is still in force (or was not checked yet).
    """

    jws: str
    kid: str
    issuer: str
    organisation_id: str
    person_id: str
    role: Role | None
    signed_at: datetime
    key_retired_at: datetime | None = None
    name: str | None = None

    @classmethod
    def from_jws(cls, jws: str, content: bytes) -> DetachedSignature:
        parsed = CompactJWS.parse(jws.strip(), detached_payload=content)
        parsed.check_typ(JWS_TYPE)
        header = parsed.header
        if parsed.alg != ED25519:
            raise MalformedJOSE(f"a Bayflow signature uses alg Ed25519, not {parsed.alg!r}")
        strings = {}
        for member in ("kid", "iss", _ORG, _PERSON):
            value = header.get(member)
            if not isinstance(value, str) or not value:
                raise MalformedJOSE(f"the signature header has no {member!r}")
            strings[member] = value
        name = header.get(_NAME)
        if name is not None and not isinstance(name, str):
            raise MalformedJOSE("the signature header's name is not a string")
        role_text = header.get(_ROLE)
        try:
            role = None if role_text is None else Role(role_text)
        except ValueError as exc:
            raise MalformedJOSE(
                f"the signature header names an unknown role {role_text!r}"
            ) from exc
        iat = header.get("iat")
        if not isinstance(iat, int) or isinstance(iat, bool) or iat < 0:
            raise MalformedJOSE("the signature header's 'iat' is not a NumericDate")
        try:
            signed_at = datetime.fromtimestamp(iat, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise MalformedJOSE("the signature header's 'iat' is out of range") from exc
        return cls(
            jws=jws.strip(),
            kid=strings["kid"],
            issuer=strings["iss"],
            organisation_id=strings[_ORG],
            person_id=strings[_PERSON],
            role=role,
            signed_at=signed_at,
            name=name,
        )

    @property
    def fingerprint(self) -> bytes:
        return jws_fingerprint(self.jws)


def sign_content(
    key: SigningKey,
    content: bytes,
    *,
    issuer: str,
    organisation_id: str,
    person_id: str,
    role: Role | None,
    now: datetime,
    name: str | None = None,
) -> str:
    """A detached compact JWS over ``content`` by the person whose key ``key`` is.

    ``issuer`` is the organisation's did:web identifier (``IdentityService.did_for``).
    """
    header: dict[str, Any] = {
        "iss": issuer,
        _ORG: organisation_id,
        _PERSON: person_id,
        "iat": int(now.timestamp()),
    }
    if role is not None:
        header[_ROLE] = role.value
    if name is not None:
        header[_NAME] = name
    return sign_detached(PrivateJWK.from_signing_key(key), content, typ=JWS_TYPE, header=header)


def verify_content(jws: str, content: bytes, did_document: Mapping[str, Any]) -> DetachedSignature:
    """Check a detached JWS over ``content`` against the signer's organisation's DID document.

    Raises :class:`~bayflow.crypto.errors.MalformedJOSE` for a malformed signature,
    :class:`~bayflow.crypto.errors.UnknownKey` when the document does not list the key as the
    named person's, and :class:`~bayflow.crypto.errors.InvalidSignature` when the signature
    does not verify or claims a time when its key was not in force.
    """
    # 0. The JWS is a Bayflow detached signature, with every header member it needs.
    # 1. The DID document is the organisation's the signature names.
    # 2. The document lists the key, as the named person's.
    # 3. The signature verifies under that key, with Ed25519 only.
    # 4. The claimed signing time falls while the key was in force.
    # (0):
    signature = DetachedSignature.from_jws(jws, content)
    # (1):
    if did_document.get("id") != signature.issuer:
        raise UnknownKey(
            f"the signature names issuer {signature.issuer}, "
            f"but the DID document is {did_document.get('id')!r}"
        )
    if f"urn:bayflow:org:{signature.organisation_id}" not in did_document.get("alsoKnownAs", []):
        raise UnknownKey(
            f"the DID document {signature.issuer} is not organisation {signature.organisation_id}'s"
        )
    # (2):
    method = _verification_method(did_document, signature.kid)
    if method.get("bayflow:owner") != signature.person_id:
        raise UnknownKey(
            f"key {signature.kid} does not belong to {signature.person_id} "
            f"but to {method.get('bayflow:owner')!r}"
        )
    # (3):
    key = PublicJWK.from_dict(method.get("publicKeyJwk"))
    try:
        CompactJWS.parse(signature.jws, detached_payload=content).verify(key, algorithms={ED25519})
    except InvalidSignature as exc:
        raise InvalidSignature(
            f"the signature by key {signature.kid} does not verify over this content: "
            "the content changed after signing, or the signature is not genuine"
        ) from exc
    # (4):
    created = _timestamp(method, "bayflow:created")
    retired = _timestamp(method, "bayflow:retired")
    if created is not None and signature.signed_at < created - _CLOCK_SKEW:
        raise InvalidSignature(
            f"the signature claims {signature.signed_at.isoformat()}, "
            f"before its key was registered ({created.isoformat()})"
        )
    if retired is not None and signature.signed_at >= retired:
        raise InvalidSignature(
            f"the signature claims {signature.signed_at.isoformat()}, "
            f"after its key was retired ({retired.isoformat()})"
        )
    return DetachedSignature(
        jws=signature.jws,
        kid=signature.kid,
        issuer=signature.issuer,
        organisation_id=signature.organisation_id,
        person_id=signature.person_id,
        role=signature.role,
        signed_at=signature.signed_at,
        key_retired_at=retired,
        name=signature.name,
    )


def _verification_method(did_document: Mapping[str, Any], kid: str) -> Mapping[str, Any]:
    methods = did_document.get("verificationMethod")
    if not isinstance(methods, list):
        raise UnknownKey("the DID document lists no verification methods")
    for method in methods:
        if isinstance(method, Mapping) and str(method.get("id", "")).endswith(f"#{kid}"):
            return method
    raise UnknownKey(f"the organisation's DID document does not list key {kid}")


def _timestamp(method: Mapping[str, Any], name: str) -> datetime | None:
    value = method.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise UnknownKey(f"the DID document's {name} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def jws_fingerprint(jws: str) -> bytes:
    """The SHA-256 of the compact JWS text: what the ledger anchors for it."""
    return hashlib.sha256(jws.strip().encode("ascii")).digest()


# Anchoring --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureAnchor:
    """One signature fingerprint to anchor, as the ledger's anchoring call takes it."""

    digest: bytes
    schema: str
    kind: EntryKind = EntryKind.SIGNATURE

    def to_json(self) -> dict[str, str]:
        return {"digest": self.digest.hex(), "schema": self.schema, "kind": self.kind.value}


Anchorer = Callable[[Sequence[SignatureAnchor]], Sequence[int | None]]
"""Anchors fingerprints and returns each one's ledger index (``None``: not anchored)."""


def anchor_signatures(
    anchors: Sequence[SignatureAnchor], anchorer: Anchorer | None
) -> list[int | None]:
    """Anchor ``anchors`` through ``anchorer``; without one, nothing is anchored.

    The CLI's anchorer posts to the hub's ``POST /ledger/v1/anchors`` (entries of kind
    ``signature``, issued by the signer's organisation); ``None`` suits offline signing, and an
    anchorer may answer ``None`` for a fingerprint it could not anchor (a hub without a ledger).
    """
    if anchorer is None or not anchors:
        return [None] * len(anchors)
    indexes = list(anchorer(anchors))
    if len(indexes) != len(anchors):
        raise InvalidInput(f"anchored {len(indexes)} signatures of {len(anchors)}")
    return indexes


# PAdES through the hub ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedPDF:
    """A PDF with one more signature, the certificate it was made under and its fingerprint."""

    pdf: bytes
    certified: CertifiedKey
    field_name: str
    fingerprint: bytes


def sign_pdf_with_certificate(
    pdf: bytes,
    certify: Callable[[bytes], bytes],
    *,
    level: PAdESLevel,
    timestamper: TimeStamper | None = None,
    reason: str | None = None,
    location: str | None = None,
    now: datetime | None = None,
) -> SignedPDF:
    """Sign ``pdf`` with a fresh P-256 key that ``certify`` has certified.

    ``certify`` receives the key's PEM ``SubjectPublicKeyInfo`` and returns the PEM
    certificate then its chain (the hub's ``POST /orgs/{id}/signing-certificates``). The
    private key never leaves this function: it signs once and is dropped.
    """
    key = P256SigningKey.generate()
    bundle = certify(P256PublicKey(key.public_key).pem)
    certified = CertifiedKey.from_pem(key.to_pem(), bundle)
    try:
        signed = sign_pdf(
            pdf,
            certified,
            level=level,
            timestamper=timestamper,
            reason=reason,
            location=location,
            now=now,
        )
    except TimestampRequestError as exc:
        raise PDFTimestampInvalid(f"the time-stamp authority did not time-stamp: {exc}") from exc
    field_name, fingerprint = signature_fingerprints(signed)[-1]
    if fingerprint is None:  # pragma: no cover - our own signature always parses.
        raise InvalidPDF("the new signature's CMS object does not parse")
    return SignedPDF(signed, certified, field_name, bytes.fromhex(fingerprint))
