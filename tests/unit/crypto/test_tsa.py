import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import algos, cms, core, tsp, x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from bayflow.clock import FixedClock
from bayflow.crypto.pki import CertifiedKey, OrganisationalCA
from bayflow.crypto.tsa import (
    DEFAULT_POLICY,
    LocalTimeStamper,
    RemoteTimeStamper,
    TimestampAuthority,
)

NOW = datetime(2026, 11, 22, 9, 0, 0, 250000, tzinfo=UTC)
DIGEST = hashlib.sha256(b"the signature value of a loan agreement").digest()


@pytest.fixture(scope="module")
def ca() -> OrganisationalCA:
    return OrganisationalCA.generate(now=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def tsa_key(ca) -> CertifiedKey:
    return ca.issue_timestamping_certificate(now=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def authority(tsa_key) -> TimestampAuthority:
    return TimestampAuthority(tsa_key)


def request(
    digest: bytes = DIGEST,
    *,
    algorithm: str = "sha256",
    nonce: int | None = 0x1234_5678_9ABC_DEF0,
    cert_req: bool = True,
    **extra: object,
) -> bytes:
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": algorithm},
            "hashed_message": digest,
        },
        "cert_req": cert_req,
        **extra,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields).dump()


class RFC3161TimeStampResp(core.Sequence):
    """RFC 3161 §2.4.2 as written: asn1crypto's own class wrongly requires the token."""

    _fields = [  # noqa: RUF012 - asn1crypto reads this class attribute as the ASN.1 schema.
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def granted(authority: TimestampAuthority, der: bytes) -> tuple[tsp.TimeStampResp, tsp.TSTInfo]:
    response = tsp.TimeStampResp.load(authority.respond(der, NOW))
    assert response["status"]["status"].native == "granted"
    token = response["time_stamp_token"]
    return response, token["content"]["encap_content_info"]["content"].parsed


def failure(authority: TimestampAuthority, der: bytes) -> tuple[set[str], str]:
    response = RFC3161TimeStampResp.load(authority.respond(der, NOW))
    status = response["status"]
    assert status["status"].native == "rejection"
    assert response["time_stamp_token"].native is None
    return status["fail_info"].native, " ".join(status["status_string"].native)


class TestGrantedResponses:
    """Well-formed requests get a token that echoes the request and says when."""

    def test_token_echoes_nonce_and_imprint_at_the_given_time(self, authority) -> None:
        _, info = granted(authority, request())
        assert info["version"].native == "v1"
        assert info["nonce"].native == 0x1234_5678_9ABC_DEF0
        assert info["message_imprint"]["hashed_message"].native == DIGEST
        assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
        assert info["gen_time"].native == NOW
        assert info["policy"].dotted == DEFAULT_POLICY
        assert info["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
        assert info["tsa"].chosen.native["common_name"] == "Bayflow Time-Stamping Authority"

    def test_serial_numbers_differ_between_tokens(self, authority) -> None:
        serials = {granted(authority, request())[1]["serial_number"].native for _ in range(16)}
        assert len(serials) == 16
        assert all(s > 0 for s in serials)

    def test_a_request_without_nonce_gets_a_token_without_nonce(self, authority) -> None:
        _, info = granted(authority, request(nonce=None))
        assert info["nonce"].native is None

    @pytest.mark.parametrize(("algorithm", "size"), [("sha384", 48), ("sha512", 64)])
    def test_longer_sha2_imprints_are_accepted(self, authority, algorithm, size) -> None:
        _, info = granted(authority, request(bytes(size), algorithm=algorithm))
        assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == algorithm

    def test_the_tsa_certificate_is_included_only_when_asked(self, authority, tsa_key) -> None:
        response, _ = granted(authority, request(cert_req=True))
        certificates = response["time_stamp_token"]["content"]["certificates"]
        assert [c.chosen.dump() for c in certificates] == [tsa_key.certificate_der]
        response, _ = granted(authority, request(cert_req=False))
        assert not response["time_stamp_token"]["content"]["certificates"]

    def test_a_request_for_our_own_policy_is_served(self, authority) -> None:
        granted(authority, request(req_policy=DEFAULT_POLICY))

    def test_a_configured_policy_and_accuracy_appear_in_tokens(self, tsa_key) -> None:
        authority = TimestampAuthority(
            tsa_key, policy="1.3.6.1.4.1.99999.1", accuracy=timedelta(milliseconds=1500)
        )
        _, info = granted(authority, request())
        assert info["policy"].dotted == "1.3.6.1.4.1.99999.1"
        assert info["accuracy"].native == {"seconds": 1, "millis": 500, "micros": None}
        _, info = granted(TimestampAuthority(tsa_key, accuracy=None), request())
        assert info["accuracy"].native is None

    def test_time_must_be_timezone_aware(self, authority) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            authority.respond(request(), NOW.replace(tzinfo=None))


class TestTokenSignature:
    """The token is a CMS signature by the TSA key that independent code accepts."""

    def test_signed_attributes_verify_under_the_tsa_key(self, authority, tsa_key) -> None:
        response, _ = granted(authority, request())
        signed_data = response["time_stamp_token"]["content"]
        (signer_info,) = signed_data["signer_infos"]
        attributes = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
        tst_info_der = signed_data["encap_content_info"]["content"].contents
        assert attributes["message_digest"].native == hashlib.sha256(tst_info_der).digest()
        assert attributes["content_type"].native == "tst_info"
        (ess,) = attributes["signing_certificate_v2"]["certs"]
        assert ess["cert_hash"].native == hashlib.sha256(tsa_key.certificate_der).digest()
        # RFC 5652 §5.4: the signature covers the attributes re-tagged as a SET OF.
        to_be_signed = cms.CMSAttributes.load(signer_info["signed_attrs"].untag().dump()).dump()
        tsa_key.key.public_key.verify(
            signer_info["signature"].native, to_be_signed, ec.ECDSA(hashes.SHA256())
        )

    def test_pyhanko_validates_the_token_as_intact_and_trusted(self, authority, ca) -> None:
        response, _ = granted(authority, request())
        context = ValidationContext(
            trust_roots=[x509.Certificate.load(ca.certificate_der)], moment=NOW
        )
        status = asyncio.run(
            validate_tst_signed_data(
                response["time_stamp_token"]["content"], context, lambda _algorithm: DIGEST
            )
        )
        assert status["intact"]
        assert status["valid"]
        assert status["validation_path"] is not None
        assert status["trust_problem_indic"] is None
        assert status["timestamp"] == NOW

    def test_pyhanko_rejects_a_token_from_another_ca(self, authority) -> None:
        response, _ = granted(authority, request())
        stranger = OrganisationalCA.generate(now=NOW, common_name="Another CA")
        context = ValidationContext(
            trust_roots=[x509.Certificate.load(stranger.certificate_der)], moment=NOW
        )
        status = asyncio.run(
            validate_tst_signed_data(
                response["time_stamp_token"]["content"], context, lambda _algorithm: DIGEST
            )
        )
        assert status["validation_path"] is None


class TestRejections:
    """Requests the TSA will not serve get an RFC 3161 rejection that says why."""

    def test_garbage_is_a_bad_data_format(self, authority) -> None:
        assert failure(authority, b"\x30\x03\x02\x01") == (
            {"bad_data_format"},
            "the request is not a DER TimeStampReq",
        )

    def test_trailing_bytes_are_a_bad_data_format(self, authority) -> None:
        info, _ = failure(authority, request() + b"\x00")
        assert info == {"bad_data_format"}

    @pytest.mark.parametrize("algorithm", ["sha1", "md5"])
    def test_weak_hashes_are_a_bad_algorithm(self, authority, algorithm) -> None:
        size = {"sha1": 20, "md5": 16}[algorithm]
        info, text = failure(authority, request(bytes(size), algorithm=algorithm))
        assert info == {"bad_alg"}
        assert algorithm in text

    def test_an_imprint_of_the_wrong_length_is_a_bad_data_format(self, authority) -> None:
        info, text = failure(authority, request(DIGEST[:20]))
        assert info == {"bad_data_format"}
        assert "sha256" in text

    def test_another_policy_is_unaccepted(self, authority) -> None:
        info, _ = failure(authority, request(req_policy="1.2.3.4"))
        assert info == {"unaccepted_policy"}

    def test_extensions_are_unaccepted(self, authority) -> None:
        extension = {"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}
        info, _ = failure(authority, request(extensions=[extension]))
        assert info == {"unaccepted_extensions"}

    def test_another_version_is_a_bad_request(self, authority) -> None:
        der = tsp.TimeStampReq.load(request())
        der["version"] = tsp.Version(2)
        info, _ = failure(authority, der.dump(force=True))
        assert info == {"bad_request"}


class TestLocalTimeStamper:
    """The in-process time-stamper gives pyHanko tokens from the authority at the clock's time."""

    def test_tokens_cover_the_digest_at_the_clock_time(self, authority) -> None:
        clock = FixedClock(NOW + timedelta(hours=1))
        stamper = LocalTimeStamper(authority, clock)
        token = asyncio.run(stamper.async_timestamp(DIGEST, "sha256"))
        info = token["content"]["encap_content_info"]["content"].parsed
        assert info["gen_time"].native == NOW + timedelta(hours=1)
        assert info["message_imprint"]["hashed_message"].native == DIGEST
        assert algos.DigestAlgorithm({"algorithm": "sha256"}).native == (
            info["message_imprint"]["hash_algorithm"].native
        )


class TestRemoteTimeStamper:
    """A TSA behind any transport gives pyHanko tokens, and a garbled reply is refused."""

    def test_tokens_come_through_the_transport(self, authority) -> None:
        queries: list[bytes] = []

        def post(query: bytes) -> bytes:
            queries.append(query)
            return authority.respond(query, NOW)

        token = asyncio.run(RemoteTimeStamper(post).async_timestamp(DIGEST, "sha256"))
        info = token["content"]["encap_content_info"]["content"].parsed
        assert info["message_imprint"]["hashed_message"].native == DIGEST
        (query,) = queries
        assert tsp.TimeStampReq.load(query)["nonce"].native == info["nonce"].native

    def test_a_reply_that_is_not_der_is_a_request_error(self) -> None:
        stamper = RemoteTimeStamper(lambda _query: b"<html>502 Bad Gateway</html>")
        with pytest.raises(TimestampRequestError, match="not a DER TimeStampResp"):
            asyncio.run(stamper.async_timestamp(DIGEST, "sha256"))

    def test_a_rejection_is_a_request_error(self, authority) -> None:
        stamper = RemoteTimeStamper(lambda _query: authority.respond(b"\x30\x00", NOW))
        with pytest.raises(TimestampRequestError):
            asyncio.run(stamper.async_timestamp(DIGEST, "sha256"))
