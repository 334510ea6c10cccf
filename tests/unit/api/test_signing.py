import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asn1crypto import algos, cms, tsp
from cryptography import x509
from cryptography.x509.oid import NameOID

from bayflow.config import Settings
from bayflow.crypto.jose import PrivateJWK
from bayflow.crypto.jwt import b64url_encode, encode
from bayflow.crypto.pki import CA_CERTIFICATE_FILE, P256PublicKey, P256SigningKey
from bayflow.crypto.tsa import DEFAULT_POLICY, TimeStampResp
from bayflow.hub import HubKeys, ca_directory
from bayflow.identity.auth import ASSERTION_TYPE
from bayflow.identity.keyfile import KeyFile, KeyPair
from bayflow.identity.signing import SIGNING_CERTIFICATE_VALIDITY

pytestmark = pytest.mark.anyio

HUB = "http://hub.test"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BAYLINE_USCC = "91440300MA5G7K2P0C"


@dataclass
class Party:
    key_file: KeyFile
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def organisation(self) -> str:
        return self.key_file.organisation


async def sign_in(hub: httpx.AsyncClient, key_file: KeyFile) -> Party:
    claims = {
        "iss": key_file.person,
        "sub": key_file.person,
        "aud": f"{HUB}/oauth/token",
        "iat": int(START.timestamp()),
        "exp": int((START + timedelta(seconds=60)).timestamp()),
        "jti": secrets.token_urlsafe(12),
    }
    pair = key_file.person_key
    response = await hub.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": encode(claims, pair.signing_key, kid=pair.kid),
        },
    )
    assert response.status_code == 200, response.text
    return Party(key_file, response.json()["access_token"])


async def register(
    hub: httpx.AsyncClient, operator: Party, name: str, jurisdiction: str, city: str, **ids: str
) -> Party:
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    response = await hub.post(
        "/orgs",
        json={
            "legal_name_en": name,
            "jurisdiction": jurisdiction,
            "city": city,
            "identifiers": ids,
            "administrator": {"name": f"{name} administrator", "public_key": b64url(admin)},
            "organisation_public_key": b64url(org_key),
        },
        headers=operator.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    key_file = KeyFile(HUB, body["organisation"]["id"], body["administrator"]["id"], admin)
    return await sign_in(hub, key_file)


async def add_person(hub: httpx.AsyncClient, admin: Party, name: str, *roles: str) -> Party:
    pair = KeyPair.generate()
    response = await hub.post(
        f"/orgs/{admin.organisation}/people",
        json={"name": name, "roles": list(roles), "public_key": b64url(pair)},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return await sign_in(hub, KeyFile(HUB, admin.organisation, response.json()["id"], pair))


def b64url(pair: KeyPair) -> str:
    return b64url_encode(pair.public_key)


@dataclass
class Scenario:
    operator: Party
    bayline: Party
    chen: Party
    li: Party
    lion_rock: Party


@pytest.fixture
async def scenario(hub: httpx.AsyncClient, settings: Settings, hub_keys: HubKeys) -> Scenario:
    assert hub_keys.kid
    operator = await sign_in(hub, KeyFile.read(settings.operator_key_file))
    bayline = await register(
        hub,
        operator,
        "Qianhai Bayline Logistics Co., Ltd.",
        "CN",
        "Shenzhen",
        cn_uscc=BAYLINE_USCC,
    )
    chen = await add_person(hub, bayline, "Chen Wei", "director", "company_secretary")
    li = await add_person(hub, bayline, "Li Na", "delegate")
    lion_rock = await register(
        hub, operator, "Lion Rock Bank Limited", "HK", "Hong Kong", hk_brn="12345678"
    )
    return Scenario(operator, bayline, chen, li, lion_rock)


def timestamp_query(digest: bytes, *, nonce: int = 42, policy: str | None = None) -> bytes:
    request: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": digest,
        },
        "nonce": nonce,
        "cert_req": True,
    }
    if policy is not None:
        request["req_policy"] = policy
    der: bytes = tsp.TimeStampReq(request).dump()
    return der


async def post_query(hub: httpx.AsyncClient, body: bytes, **headers: str) -> httpx.Response:
    headers = {"Content-Type": "application/timestamp-query", **headers}
    return await hub.post("/tsa", content=body, headers=headers)


class TestTimestampAuthority:
    """The hub's TSA answers RFC 3161 requests over HTTP with tokens its CA vouches for."""

    async def test_a_request_gets_a_granted_token_over_the_imprint(
        self, hub: httpx.AsyncClient
    ) -> None:
        digest = hashlib.sha256(b"loan agreement").digest()
        response = await post_query(hub, timestamp_query(digest, nonce=987654321))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/timestamp-reply"
        reply = tsp.TimeStampResp.load(response.content)
        assert reply["status"]["status"].native == "granted"
        token = reply["time_stamp_token"]
        assert token["content_type"].native == "signed_data"
        tst_info = token["content"]["encap_content_info"]["content"].parsed
        assert tst_info["message_imprint"]["hashed_message"].native == digest
        assert tst_info["nonce"].native == 987654321
        assert tst_info["gen_time"].native == START
        assert tst_info["policy"].dotted == DEFAULT_POLICY

    async def test_the_token_is_signed_by_a_certificate_from_the_hub_ca(
        self, hub: httpx.AsyncClient
    ) -> None:
        response = await post_query(hub, timestamp_query(hashlib.sha256(b"x").digest()))
        token = tsp.TimeStampResp.load(response.content)["time_stamp_token"]
        (embedded,) = token["content"]["certificates"]
        tsa = x509.load_der_x509_certificate(embedded.chosen.dump())
        ca = x509.load_pem_x509_certificate((await hub.get("/ca.pem")).content)
        tsa.verify_directly_issued_by(ca)
        eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert eku.critical
        assert list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
        signer_info = token["content"]["signer_infos"][0]
        assert isinstance(signer_info, cms.SignerInfo)
        assert signer_info["sid"].chosen["serial_number"].native == tsa.serial_number

    async def test_a_malformed_request_gets_a_rejection_that_says_why(
        self, hub: httpx.AsyncClient
    ) -> None:
        response = await post_query(hub, b"\x30\x03not der")
        assert response.status_code == 200
        status = TimeStampResp.load(response.content)["status"]
        assert status["status"].native == "rejection"
        assert "bad_data_format" in status["fail_info"].native

    async def test_a_foreign_policy_is_rejected(self, hub: httpx.AsyncClient) -> None:
        query = timestamp_query(hashlib.sha256(b"x").digest(), policy="1.2.3.4")
        response = await post_query(hub, query)
        status = TimeStampResp.load(response.content)["status"]
        assert "unaccepted_policy" in status["fail_info"].native

    async def test_another_media_type_is_refused(self, hub: httpx.AsyncClient) -> None:
        query = timestamp_query(hashlib.sha256(b"x").digest())
        response = await post_query(hub, query, **{"Content-Type": "application/octet-stream"})
        assert response.status_code == 415
        assert response.headers["content-type"] == "application/problem+json"

    async def test_an_oversized_request_is_refused(self, hub: httpx.AsyncClient) -> None:
        response = await post_query(hub, bytes(64 * 1024))
        assert response.status_code == 413

    async def test_needs_no_access_token(self, hub: httpx.AsyncClient) -> None:
        response = await post_query(hub, timestamp_query(hashlib.sha256(b"x").digest()))
        assert "authorization" not in response.request.headers
        assert response.status_code == 200


class TestCACertificate:
    """The CA certificate is public and is the one the hub keeps under keys/ca/."""

    async def test_serves_the_persisted_ca_certificate(
        self, hub: httpx.AsyncClient, settings: Settings, hub_keys: HubKeys
    ) -> None:
        assert hub_keys.kid
        response = await hub.get("/ca.pem")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pem-certificate-chain"
        assert response.content == (ca_directory(settings) / CA_CERTIFICATE_FILE).read_bytes()
        ca = x509.load_pem_x509_certificate(response.content)
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    async def test_the_ca_is_named_after_the_operator(self, hub: httpx.AsyncClient) -> None:
        ca = x509.load_pem_x509_certificate((await hub.get("/ca.pem")).content)
        (organisation,) = ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        assert organisation.value == "Bayflow Hub Operator"


def attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    (value,) = name.get_attributes_for_oid(oid)
    return str(value.value)


async def request_certificate(
    hub: httpx.AsyncClient, party: Party, organisation: str | None = None, **body: object
) -> httpx.Response:
    if "public_key_pem" not in body and "public_key_jwk" not in body:
        key = P256PublicKey(P256SigningKey.generate().public_key)
        body["public_key_pem"] = key.pem.decode()
    return await hub.post(
        f"/orgs/{organisation or party.organisation}/signing-certificates",
        json=body,
        headers=party.headers,
    )


class TestSigningCertificates:
    """Members get certificates for their own keys naming organisation, person and role."""

    async def test_names_the_organisation_the_person_and_the_role(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await request_certificate(hub, scenario.chen)
        assert response.status_code == 201, response.text
        body = response.json()
        leaf, ca = x509.load_pem_x509_certificates(body["certificate_pem"].encode())
        subject = leaf.subject
        assert attribute(subject, NameOID.COMMON_NAME) == "Chen Wei"
        assert attribute(subject, NameOID.TITLE) == "Director"
        assert attribute(subject, NameOID.ORGANIZATION_NAME) == (
            "Qianhai Bayline Logistics Co., Ltd."
        )
        assert attribute(subject, NameOID.ORGANIZATION_IDENTIFIER) == f"NTRCN-{BAYLINE_USCC}"
        assert attribute(subject, NameOID.COUNTRY_NAME) == "CN"
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.UniformResourceIdentifier) == [
            f"urn:bayflow:org:{scenario.bayline.organisation}",
            f"urn:bayflow:person:{scenario.chen.key_file.person}",
        ]
        leaf.verify_directly_issued_by(ca)
        assert ca == x509.load_pem_x509_certificate((await hub.get("/ca.pem")).content)
        assert body["role"] == "director"
        assert body["person_id"] == scenario.chen.key_file.person
        assert body["serial"] == format(leaf.serial_number, "x")

    async def test_is_short_lived_from_now(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        body = (await request_certificate(hub, scenario.chen)).json()
        leaf = x509.load_pem_x509_certificates(body["certificate_pem"].encode())[0]
        assert leaf.not_valid_before_utc == START
        assert leaf.not_valid_after_utc == START + SIGNING_CERTIFICATE_VALIDITY
        assert timedelta(days=1) >= SIGNING_CERTIFICATE_VALIDITY

    async def test_certifies_exactly_the_key_sent(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        key = P256SigningKey.generate()
        body = (
            await request_certificate(
                hub, scenario.chen, public_key_pem=P256PublicKey(key.public_key).pem.decode()
            )
        ).json()
        leaf = x509.load_pem_x509_certificates(body["certificate_pem"].encode())[0]
        assert key.matches(leaf)

    async def test_accepts_a_p256_jwk(self, hub: httpx.AsyncClient, scenario: Scenario) -> None:
        jwk = PrivateJWK.generate("ES256").public.to_dict()
        response = await request_certificate(hub, scenario.chen, public_key_jwk=jwk)
        assert response.status_code == 201, response.text

    async def test_a_person_may_sign_in_another_role_they_hold(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await request_certificate(hub, scenario.chen, role="company_secretary")
        leaf = x509.load_pem_x509_certificates(response.json()["certificate_pem"].encode())[0]
        assert attribute(leaf.subject, NameOID.TITLE) == "Company Secretary"

    async def test_a_role_not_held_is_forbidden(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await request_certificate(hub, scenario.li, role="director")
        assert response.status_code == 403
        assert "does not hold the role Director" in response.json()["detail"]

    async def test_a_delegate_is_named_as_one(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await request_certificate(hub, scenario.li)
        leaf = x509.load_pem_x509_certificates(response.json()["certificate_pem"].encode())[0]
        assert attribute(leaf.subject, NameOID.TITLE) == "Delegate"

    async def test_another_organisation_sees_nothing(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await request_certificate(
            hub, scenario.lion_rock, organisation=scenario.bayline.organisation
        )
        assert response.status_code == 404
        missing = await request_certificate(hub, scenario.lion_rock, organisation="org_nonesuch")
        assert response.json()["detail"].replace(
            scenario.bayline.organisation, "X"
        ) == missing.json()["detail"].replace("org_nonesuch", "X")

    async def test_even_the_operator_cannot_sign_for_a_member(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await request_certificate(
            hub, scenario.operator, organisation=scenario.bayline.organisation
        )
        assert response.status_code == 404

    async def test_an_unauthenticated_request_is_refused(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        response = await hub.post(
            f"/orgs/{scenario.bayline.organisation}/signing-certificates",
            json={"public_key_pem": "x"},
        )
        assert response.status_code == 401

    async def test_keys_that_are_not_p256_are_refused(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        ed25519_jwk = PrivateJWK.generate().public.to_dict()
        response = await request_certificate(hub, scenario.chen, public_key_jwk=ed25519_jwk)
        assert response.status_code == 422
        assert "P-256" in response.json()["detail"]
        garbage = await request_certificate(hub, scenario.chen, public_key_pem="not a key")
        assert garbage.status_code == 422

    async def test_exactly_one_key_is_required(
        self, hub: httpx.AsyncClient, scenario: Scenario
    ) -> None:
        jwk = PrivateJWK.generate("ES256").public.to_dict()
        pem = P256PublicKey(P256SigningKey.generate().public_key).pem.decode()
        both = await request_certificate(hub, scenario.chen, public_key_pem=pem, public_key_jwk=jwk)
        assert both.status_code == 422
