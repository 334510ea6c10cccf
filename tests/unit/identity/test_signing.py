import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.errors import InvalidSignature, MalformedJOSE, UnknownKey
from bayflow.crypto.jose import PrivateJWK, b64url_decode, sign_detached
from bayflow.crypto.jwt import ed25519_public_jwk, ed25519_thumbprint
from bayflow.crypto.pki import OrganisationalCA, P256PublicKey, certificates_pem
from bayflow.crypto.tsa import RemoteTimeStamper, TimestampAuthority
from bayflow.errors import InvalidInput, PermissionDenied
from bayflow.identity.errors import PDFTimestampInvalid
from bayflow.identity.models import (
    City,
    Jurisdiction,
    Organisation,
    Person,
    RegistryIdentifiers,
    Role,
)
from bayflow.identity.pdf import inspect_pdf
from bayflow.identity.signing import (
    JWS_SCHEMA,
    JWS_TYPE,
    ROLE_PRECEDENCE,
    DetachedSignature,
    SignatureAnchor,
    anchor_signatures,
    jws_fingerprint,
    sign_content,
    sign_pdf_with_certificate,
    signer_subject,
    signing_role,
    verify_content,
)
from bayflow.ledger.entry import EntryKind
from tests.unit.identity.test_pdf import one_page_pdf

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DID = "did:web:hub.example:orgs:org_bayline"
CONTENT = b"Working-capital loan agreement, CNY 1,500,000"

BAYLINE = Organisation(
    id="org_bayline",
    legal_name_en="Qianhai Bayline Logistics Co., Ltd.",
    legal_name_zh="深圳前海湾线物流有限公司",
    jurisdiction=Jurisdiction.CN,
    city=City.SHENZHEN,
    identifiers=RegistryIdentifiers(cn_uscc="91440300MA5G7K2P0C"),
    created_at=NOW,
)


def member(person_id: str, name: str, *roles: Role, organisation: str = "org_bayline") -> Person:
    return Person(person_id, organisation, name, None, frozenset(roles), NOW)


CHEN_WEI = member("per_chen", "Chen Wei", Role.DIRECTOR, Role.COMPANY_SECRETARY)
LI_NA = member("per_li", "Li Na", Role.DELEGATE)


class TestSigningRole:
    """A signer signs in their highest role unless they choose another they hold."""

    def test_the_highest_role_held_is_the_default(self) -> None:
        assert signing_role(CHEN_WEI) is Role.DIRECTOR
        assert signing_role(LI_NA) is Role.DELEGATE

    def test_a_lower_role_held_may_be_chosen(self) -> None:
        assert signing_role(CHEN_WEI, Role.COMPANY_SECRETARY) is Role.COMPANY_SECRETARY

    def test_a_role_not_held_is_forbidden_naming_the_roles_held(self) -> None:
        with pytest.raises(PermissionDenied, match="roles held: Delegate"):
            signing_role(LI_NA, Role.DIRECTOR)

    def test_someone_without_a_role_cannot_sign(self) -> None:
        with pytest.raises(PermissionDenied, match="holds no role"):
            signing_role(member("per_x", "Nobody"))

    def test_every_role_has_a_rank(self) -> None:
        assert set(ROLE_PRECEDENCE) == set(Role)


class TestSignerSubject:
    """The certificate subject comes from the organisation's and the person's records."""

    def test_names_the_registry_identifier_role_and_records(self) -> None:
        subject = signer_subject(BAYLINE, CHEN_WEI, Role.DIRECTOR)
        assert subject.organisation_identifier == "NTRCN-91440300MA5G7K2P0C"
        assert subject.country == "CN"
        assert subject.role == "Director"
        assert (subject.organisation_id, subject.person_id) == ("org_bayline", "per_chen")

    def test_refuses_a_person_of_another_organisation(self) -> None:
        stranger = member("per_wong", "Wong Ka Ming", Role.DIRECTOR, organisation="org_bank")
        with pytest.raises(InvalidInput, match="not a member"):
            signer_subject(BAYLINE, stranger, Role.DIRECTOR)


def did_document(*keys: tuple[SigningKey, str, datetime, datetime | None]) -> dict[str, Any]:
    """A did:web document in the form IdentityService.did_document publishes."""
    methods = []
    for key, owner, created, retired in keys:
        kid = ed25519_thumbprint(key.public_key)
        method: dict[str, Any] = {
            "id": f"{DID}#{kid}",
            "type": "JsonWebKey2020",
            "controller": DID,
            "publicKeyJwk": {**ed25519_public_jwk(key.public_key), "kid": kid},
            "bayflow:owner": owner,
            "bayflow:created": created.isoformat(),
        }
        if retired is not None:
            method["bayflow:retired"] = retired.isoformat()
        methods.append(method)
    return {
        "id": DID,
        "alsoKnownAs": ["urn:bayflow:org:org_bayline"],
        "verificationMethod": methods,
    }


def chen_signs(key: SigningKey, content: bytes = CONTENT, *, now: datetime = NOW) -> str:
    return sign_content(
        key,
        content,
        issuer=DID,
        organisation_id="org_bayline",
        person_id="per_chen",
        role=Role.DIRECTOR,
        now=now,
        name="Chen Wei",
    )


@pytest.fixture(scope="module")
def chen_key() -> SigningKey:
    return SigningKey.generate()


class TestDetachedSignature:
    """A detached JWS names its signer in the header and verifies against the DID document."""

    def test_the_header_names_key_organisation_person_and_role(self, chen_key) -> None:
        jws = chen_signs(chen_key)
        header_segment, payload, _ = jws.split(".")
        assert payload == ""
        header = json.loads(b64url_decode(header_segment))
        assert header["alg"] == "Ed25519"
        assert header["typ"] == JWS_TYPE
        assert header["kid"] == ed25519_thumbprint(chen_key.public_key)
        assert header["iss"] == DID
        assert header["bayflow:org"] == "org_bayline"
        assert header["bayflow:person"] == "per_chen"
        assert header["bayflow:role"] == "director"
        assert header["iat"] == int(NOW.timestamp())

    def test_verifies_against_the_organisations_did_document(self, chen_key) -> None:
        document = did_document((chen_key, "per_chen", NOW - timedelta(days=1), None))
        verified = verify_content(chen_signs(chen_key), CONTENT, document)
        assert verified.person_id == "per_chen"
        assert verified.role is Role.DIRECTOR
        assert verified.name == "Chen Wei"
        assert verified.signed_at == NOW
        assert verified.key_retired_at is None

    def test_changed_content_does_not_verify(self, chen_key) -> None:
        document = did_document((chen_key, "per_chen", NOW - timedelta(days=1), None))
        with pytest.raises(InvalidSignature, match="content changed after signing"):
            verify_content(chen_signs(chen_key), CONTENT + b"0", document)

    def test_a_key_retired_after_signing_still_verifies(self, chen_key) -> None:
        retired = NOW + timedelta(days=3)
        document = did_document((chen_key, "per_chen", NOW - timedelta(days=1), retired))
        verified = verify_content(chen_signs(chen_key), CONTENT, document)
        assert verified.key_retired_at == retired

    def test_a_signature_claiming_a_time_after_retirement_is_refused(self, chen_key) -> None:
        document = did_document((chen_key, "per_chen", NOW - timedelta(days=9), NOW))
        with pytest.raises(InvalidSignature, match="after its key was retired"):
            verify_content(chen_signs(chen_key), CONTENT, document)

    def test_a_signature_claiming_a_time_before_the_key_existed_is_refused(self, chen_key):
        document = did_document((chen_key, "per_chen", NOW + timedelta(days=1), None))
        with pytest.raises(InvalidSignature, match="before its key was registered"):
            verify_content(chen_signs(chen_key), CONTENT, document)

    def test_a_key_of_another_person_is_not_theirs(self, chen_key) -> None:
        document = did_document((chen_key, "per_li", NOW - timedelta(days=1), None))
        with pytest.raises(UnknownKey, match="does not belong to per_chen"):
            verify_content(chen_signs(chen_key), CONTENT, document)

    def test_an_unlisted_key_is_unknown(self, chen_key) -> None:
        document = did_document((SigningKey.generate(), "per_chen", NOW, None))
        with pytest.raises(UnknownKey, match="does not list key"):
            verify_content(chen_signs(chen_key), CONTENT, document)

    def test_another_organisations_document_is_refused(self, chen_key) -> None:
        document = did_document((chen_key, "per_chen", NOW - timedelta(days=1), None))
        document["id"] = "did:web:hub.example:orgs:org_bank"
        with pytest.raises(UnknownKey, match="DID document is"):
            verify_content(chen_signs(chen_key), CONTENT, document)

    def test_a_jws_of_another_type_is_malformed(self, chen_key) -> None:
        other = sign_detached(PrivateJWK.from_signing_key(chen_key), CONTENT, typ="JOSE")
        with pytest.raises(MalformedJOSE, match="typ"):
            DetachedSignature.from_jws(other, CONTENT)

    def test_a_header_without_the_person_is_malformed(self, chen_key) -> None:
        bare = sign_detached(
            PrivateJWK.from_signing_key(chen_key),
            CONTENT,
            typ=JWS_TYPE,
            header={"iss": DID, "bayflow:org": "org_bayline", "iat": 1},
        )
        with pytest.raises(MalformedJOSE, match="bayflow:person"):
            DetachedSignature.from_jws(bare, CONTENT)

    def test_an_unknown_role_is_malformed(self, chen_key) -> None:
        odd = sign_detached(
            PrivateJWK.from_signing_key(chen_key),
            CONTENT,
            typ=JWS_TYPE,
            header={
                "iss": DID,
                "bayflow:org": "org_bayline",
                "bayflow:person": "per_chen",
                "bayflow:role": "emperor",
                "iat": 1,
            },
        )
        with pytest.raises(MalformedJOSE, match="unknown role"):
            DetachedSignature.from_jws(odd, CONTENT)

    def test_the_fingerprint_is_the_sha256_of_the_compact_text(self, chen_key) -> None:
        jws = chen_signs(chen_key)
        assert jws_fingerprint(jws + "\n") == hashlib.sha256(jws.encode()).digest()
        assert DetachedSignature.from_jws(jws, CONTENT).fingerprint == jws_fingerprint(jws)


class TestAnchoring:
    """Fingerprints go to whatever anchors them, one ledger index each."""

    def test_without_an_anchorer_nothing_is_anchored(self) -> None:
        anchors = [SignatureAnchor(bytes(32), JWS_SCHEMA)]
        assert anchor_signatures(anchors, None) == [None]

    def test_an_anchorer_gets_signature_entries(self) -> None:
        seen: list[dict[str, str]] = []

        def anchorer(anchors):
            seen.extend(a.to_json() for a in anchors)
            return [7]

        assert anchor_signatures([SignatureAnchor(b"\x01" * 32, JWS_SCHEMA)], anchorer) == [7]
        assert seen == [{"digest": "01" * 32, "schema": JWS_SCHEMA, "kind": "signature"}]
        assert SignatureAnchor(bytes(32), JWS_SCHEMA).kind is EntryKind.SIGNATURE

    def test_an_anchorer_that_loses_entries_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="anchored 0 signatures of 1"):
            anchor_signatures([SignatureAnchor(bytes(32), JWS_SCHEMA)], lambda _: [])


@pytest.fixture(scope="module")
def ca() -> OrganisationalCA:
    return OrganisationalCA.generate(now=NOW)


@pytest.fixture(scope="module")
def authority(ca) -> TimestampAuthority:
    return TimestampAuthority(ca.issue_timestamping_certificate(now=NOW))


class TestSigningAPDFWithAHubCertificate:
    """A fresh key is certified through a callable and signs once; the CA never sees it."""

    def test_signs_b_t_through_a_remote_time_stamper(self, ca, authority) -> None:
        sent: list[bytes] = []

        def certify(public_key_pem: bytes) -> bytes:
            sent.append(public_key_pem)
            subject = signer_subject(BAYLINE, CHEN_WEI, Role.DIRECTOR)
            certificate = ca.certify_signing_key(
                subject, P256PublicKey.from_pem(public_key_pem), now=NOW
            )
            return certificates_pem(certificate, ca.certificate)

        tsa = RemoteTimeStamper(lambda query: authority.respond(query, NOW + timedelta(hours=1)))
        signed = sign_pdf_with_certificate(
            one_page_pdf(), certify, level="B-T", timestamper=tsa, now=NOW + timedelta(hours=1)
        )
        assert sent[0].startswith(b"-----BEGIN PUBLIC KEY-----")
        assert b"PRIVATE" not in sent[0]
        (report,) = inspect_pdf(signed.pdf, [ca.certificate_pem], now=NOW + timedelta(hours=2))
        assert report.valid
        assert report.level == "B-T"
        assert report.person_id == "per_chen"
        assert report.cms_sha256 == signed.fingerprint.hex()
        assert signed.field_name == "Signature1"

    def test_a_garbled_time_stamp_reply_is_a_time_stamp_failure(self, ca) -> None:
        def certify(public_key_pem: bytes) -> bytes:
            subject = signer_subject(BAYLINE, CHEN_WEI, Role.DIRECTOR)
            public_key = P256PublicKey.from_pem(public_key_pem)
            certificate = ca.certify_signing_key(subject, public_key, now=NOW)
            return certificates_pem(certificate, ca.certificate)

        with pytest.raises(PDFTimestampInvalid, match="did not time-stamp"):
            sign_pdf_with_certificate(
                one_page_pdf(),
                certify,
                level="B-T",
                timestamper=RemoteTimeStamper(lambda _query: b"\x30\x00garbage"),
                now=NOW + timedelta(hours=1),
            )
