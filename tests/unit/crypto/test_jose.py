from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey, OKPKey

from bayflow.crypto.errors import (
    CryptoError,
    InvalidSignature,
    MalformedJOSE,
    UnknownKey,
    UnsupportedAlgorithm,
)
from bayflow.crypto.jose import (
    CompactJWS,
    JWKSet,
    PrivateJWK,
    PublicJWK,
    TrustedIssuers,
    b64url_decode,
    b64url_encode,
    dumps_json,
    loads_json,
    sign_compact,
    sign_detached,
    sign_jwt,
    verify_compact,
    verify_detached,
    verify_jwt,
)
from bayflow.errors import InvalidInput

# RFC 8037 Appendix A.1-A.4: an Ed25519 key, its thumbprint and a JWS made with "EdDSA".
RFC8037_PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def _segment(obj: object) -> str:
    return b64url_encode(json.dumps(obj).encode())


def _forge(header: dict[str, object], payload: bytes = b"x", signature: bytes = bytes(64)) -> str:
    return f"{_segment(header)}.{b64url_encode(payload)}.{b64url_encode(signature)}"


@pytest.fixture(scope="module")
def ed_key() -> PrivateJWK:
    return PrivateJWK.generate()


@pytest.fixture(scope="module")
def ec_key() -> PrivateJWK:
    return PrivateJWK.generate("ES256")


class TestBase64url:
    """Base64url is unpadded, URL-safe and canonical, as RFC 7515 §2 defines it."""

    @given(st.binary(max_size=70))
    def test_round_trips_any_bytes(self, data):
        assert b64url_decode(b64url_encode(data)) == data

    @pytest.mark.parametrize(
        "text",
        ["AA==", "A+", "A/", "A A", "A", "AB", "AAB", "é"],
        ids=[
            "padding",
            "plus",
            "slash",
            "space",
            "one-char",
            "stray-bits-2",
            "stray-bits-3",
            "utf8",
        ],
    )
    def test_refuses_non_canonical_or_foreign_text(self, text):
        with pytest.raises(MalformedJOSE):
            b64url_decode(text)


class TestStrictJSON:
    """JSON in JOSE objects parses only when it is unambiguous."""

    @pytest.mark.parametrize(
        "text",
        ['{"a":1,"a":2}', '{"a":NaN}', '{"a":Infinity}', "{", b'{"a":"\xff"}'],
        ids=["duplicate-member", "nan", "infinity", "truncated", "not-utf8"],
    )
    def test_refuses_ambiguous_json(self, text):
        with pytest.raises(MalformedJOSE):
            loads_json(text)

    def test_dumps_compact_utf8(self):
        assert dumps_json({"名": "珠江", "n": 1}) == '{"名":"珠江","n":1}'.encode()


class TestPublicJWK:
    """Public JWKs import strictly and are named by their RFC 7638 thumbprint."""

    def test_thumbprint_matches_rfc8037_example(self):
        key = PublicJWK.from_dict({k: v for k, v in RFC8037_PRIVATE.items() if k != "d"})
        assert key.thumbprint == RFC8037_THUMBPRINT
        assert key.kid == RFC8037_THUMBPRINT

    def test_keeps_a_published_kid(self):
        key = PublicJWK.from_dict({**PrivateJWK.generate().public.to_dict(), "kid": "key-1"})
        assert key.kid == "key-1"
        assert key.thumbprint != "key-1"

    def test_round_trips_through_dict(self, ed_key, ec_key):
        for key in (ed_key.public, ec_key.public):
            assert PublicJWK.from_dict(key.to_dict()) == key

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ({"kty": "RSA"}, UnsupportedAlgorithm),
            ({"crv": "Ed448"}, UnsupportedAlgorithm),
            ({"x": b64url_encode(bytes(31))}, MalformedJOSE),
            ({"x": 5}, MalformedJOSE),
            ({"d": "AAAA"}, MalformedJOSE),
            ({"use": "enc"}, MalformedJOSE),
            ({"key_ops": ["sign"]}, MalformedJOSE),
            ({"alg": "ES256"}, UnsupportedAlgorithm),
            ({"kid": ""}, MalformedJOSE),
        ],
        ids=["rsa", "ed448", "short-x", "x-not-string", "private", "enc", "ops", "alg", "kid"],
    )
    def test_refuses_bad_ed25519_jwk(self, change, error):
        jwk = {**PrivateJWK.generate().public.to_dict(), **change}
        with pytest.raises(error):
            PublicJWK.from_dict(jwk)

    def test_refuses_p256_point_off_the_curve(self, ec_key):
        jwk = ec_key.public.to_dict()
        jwk["y"] = b64url_encode(bytes(31) + b"\x01")
        with pytest.raises(MalformedJOSE):
            PublicJWK.from_dict(jwk)

    def test_refuses_non_object(self):
        with pytest.raises(MalformedJOSE):
            PublicJWK.from_dict(["kty", "OKP"])


class TestPrivateJWK:
    """Private JWKs sign with one fully-specified algorithm and round-trip through key files."""

    def test_reproduces_rfc8037_signature(self):
        key = PrivateJWK.from_dict(RFC8037_PRIVATE)
        head, payload, signature = RFC8037_JWS.split(".")
        assert key.sign(f"{head}.{payload}".encode()) == b64url_decode(signature)

    @pytest.mark.parametrize("alg", ["Ed25519", "ES256"])
    def test_round_trips_through_dict(self, alg):
        key = PrivateJWK.generate(alg)
        again = PrivateJWK.from_dict(key.to_dict())
        assert (again.alg, again.kid) == (alg, key.kid)
        verify_compact(sign_compact(again, b"hi"), key.public)

    def test_refuses_public_members_of_another_key(self):
        jwk = {**PrivateJWK.generate().to_dict(), "x": PrivateJWK.generate().public.to_dict()["x"]}
        with pytest.raises(MalformedJOSE):
            PrivateJWK.from_dict(jwk)

    def test_refuses_a_jwk_without_d(self, ed_key):
        with pytest.raises(MalformedJOSE):
            PrivateJWK.from_dict(ed_key.public.to_dict())

    def test_repr_hides_the_secret(self, ed_key):
        assert ed_key.to_dict()["d"] not in repr(ed_key)


class TestCompactJWS:
    """Compact JWS verification accepts exactly what the key and caller allow."""

    @pytest.mark.parametrize("alg", ["Ed25519", "ES256"])
    def test_verifies_its_own_signature(self, alg):
        key = PrivateJWK.generate(alg)
        token = sign_compact(key, b"payload", typ="example+jwt")
        jws = verify_compact(token, key.public, typ="application/EXAMPLE+jwt")
        assert (jws.payload, jws.alg, jws.kid) == (b"payload", alg, key.kid)

    def test_accepts_rfc8037_eddsa_for_an_ed25519_key(self):
        key = PublicJWK.from_dict({k: v for k, v in RFC8037_PRIVATE.items() if k != "d"})
        assert verify_compact(RFC8037_JWS, key).payload == b"Example of Ed25519 signing"

    def test_refuses_eddsa_when_only_ed25519_is_allowed(self):
        key = PublicJWK.from_dict({k: v for k, v in RFC8037_PRIVATE.items() if k != "d"})
        with pytest.raises(UnsupportedAlgorithm):
            verify_compact(RFC8037_JWS, key, algorithms={"Ed25519"})

    def test_refuses_an_algorithm_that_does_not_fit_the_key(self, ed_key, ec_key):
        token = sign_compact(ec_key, b"x")
        with pytest.raises(UnsupportedAlgorithm):
            verify_compact(token, ed_key.public)

    def test_refuses_another_key(self, ed_key):
        with pytest.raises(InvalidSignature):
            verify_compact(sign_compact(PrivateJWK.generate(), b"x"), ed_key.public)

    def test_refuses_a_changed_payload(self, ed_key):
        head, _, signature = sign_compact(ed_key, b"pay 100").split(".")
        with pytest.raises(InvalidSignature):
            verify_compact(f"{head}.{b64url_encode(b'pay 900')}.{signature}", ed_key.public)

    @pytest.mark.parametrize(
        ("token", "error"),
        [
            (_forge({"alg": "none"}), UnsupportedAlgorithm),
            (_forge({"alg": "HS256"}), UnsupportedAlgorithm),
            (_forge({"typ": "JWT"}), MalformedJOSE),
            (_forge({"alg": "Ed25519", "crit": ["exp"]}), MalformedJOSE),
            (_forge({"alg": "Ed25519", "b64": False}), MalformedJOSE),
            (_forge({"alg": "Ed25519", "jku": "https://evil.example"}), MalformedJOSE),
            (_forge({"alg": "Ed25519", "kid": 7}), MalformedJOSE),
            ("a.b", MalformedJOSE),
            ("a.b.c.d", MalformedJOSE),
            (f"{_segment([1])}.eA.{b64url_encode(bytes(64))}", MalformedJOSE),
            (f"{_segment({'alg': 'Ed25519'})}..{b64url_encode(bytes(64))}", MalformedJOSE),
            (f"{_segment({'alg': 'Ed25519'})}.eA=.{b64url_encode(bytes(64))}", MalformedJOSE),
            ("x" * 9000 + ".eA.eA", MalformedJOSE),
        ],
        ids=[
            "none",
            "hmac",
            "no-alg",
            "crit",
            "b64",
            "jku",
            "kid-not-string",
            "two-parts",
            "four-parts",
            "header-not-object",
            "detached-without-content",
            "padded-payload",
            "huge-header",
        ],
    )
    def test_refuses_malformed_tokens(self, ed_key, token, error):
        with pytest.raises(error):
            verify_compact(token, ed_key.public)

    def test_refuses_wrong_typ(self, ed_key):
        with pytest.raises(MalformedJOSE):
            verify_compact(sign_compact(ed_key, b"x", typ="kb+jwt"), ed_key.public, typ="dc+sd-jwt")

    def test_signer_refuses_headers_it_sets_itself(self, ed_key):
        with pytest.raises(ValueError, match="set by the signer"):
            sign_compact(ed_key, b"x", header={"alg": "none"})

    def test_joserfc_verifies_our_ed25519_and_es256_tokens(self, ed_key, ec_key):
        token = sign_compact(ed_key, b"cross-check")
        okp = OKPKey.import_key(ed_key.public.to_dict())
        assert joserfc_jws.deserialize_compact(token, okp, algorithms=["Ed25519"]).payload == (
            b"cross-check"
        )
        token = sign_compact(ec_key, b"cross-check")
        ec = ECKey.import_key(ec_key.public.to_dict())
        assert joserfc_jws.deserialize_compact(token, ec, algorithms=["ES256"]).payload == (
            b"cross-check"
        )

    @given(payload=st.binary(max_size=200), position=st.integers(min_value=0))
    def test_any_changed_character_fails(self, ed_key, payload, position):
        token = sign_compact(ed_key, payload)
        position %= len(token)
        replacement = "A" if token[position] != "A" else "B"
        forged = token[:position] + replacement + token[position + 1 :]
        with pytest.raises(CryptoError):
            verify_compact(forged, ed_key.public)


class TestDetachedJWS:
    """A detached JWS (RFC 7515 Appendix F) verifies only against the content it was made over."""

    def test_has_an_empty_payload_segment(self, ed_key):
        head, payload, signature = sign_detached(ed_key, b"%PDF-1.7 ...").split(".")
        assert payload == ""
        assert CompactJWS.parse(f"{head}..{signature}", detached_payload=b"").detached

    @pytest.mark.parametrize("alg", ["Ed25519", "ES256"])
    def test_verifies_against_its_content(self, alg):
        key = PrivateJWK.generate(alg)
        content = bytes(range(256)) * 10
        jws = verify_detached(sign_detached(key, content, header={"iat": 1}), content, key.public)
        assert jws.header["iat"] == 1

    def test_refuses_other_content(self, ed_key):
        with pytest.raises(InvalidSignature):
            verify_detached(sign_detached(ed_key, b"contract v1"), b"contract v2", ed_key.public)

    def test_refuses_an_attached_jws(self, ed_key):
        with pytest.raises(MalformedJOSE):
            verify_detached(sign_compact(ed_key, b"doc"), b"doc", ed_key.public)

    def test_joserfc_verifies_it_given_the_content(self, ed_key):
        content = b"any bytes at all \x00\xff"
        detached = sign_detached(ed_key, content)
        okp = OKPKey.import_key(ed_key.public.to_dict())
        obj = joserfc_jws.deserialize_compact(
            detached, okp, algorithms=["Ed25519"], payload=content
        )
        assert obj.payload == content


class TestJWT:
    """JWTs carry an explicit typ and verify to their claims."""

    def test_round_trips_claims(self, ed_key):
        token = sign_jwt(ed_key, {"iss": "hub", "n": 1}, typ="example+jwt")
        assert verify_jwt(token, ed_key.public, typ="example+jwt") == {"iss": "hub", "n": 1}

    def test_refuses_a_payload_that_is_not_an_object(self, ed_key):
        token = sign_compact(ed_key, b"[1,2]", typ="example+jwt")
        with pytest.raises(MalformedJOSE):
            verify_jwt(token, ed_key.public, typ="example+jwt")


class TestKeyResolution:
    """Keys are found by issuer and kid, never taken from the token itself."""

    def test_finds_current_and_retired_keys(self):
        current, retired = PrivateJWK.generate(), PrivateJWK.generate()
        trusted = TrustedIssuers({"hub": [current.public, retired.public]})
        assert trusted("hub", retired.kid) == retired.public
        assert trusted("hub", current.kid) == current.public

    def test_uses_the_only_key_when_no_kid_is_named(self, ed_key):
        assert TrustedIssuers({"hub": [ed_key.public]})("hub", None) == ed_key.public

    @pytest.mark.parametrize(
        ("issuer", "kid"),
        [("other", None), (None, None), ("hub", "nope"), ("hub", None)],
        ids=["unknown-issuer", "no-issuer", "unknown-kid", "ambiguous"],
    )
    def test_refuses_unknown_keys(self, issuer, kid):
        trusted = TrustedIssuers({"hub": [PrivateJWK.generate().public for _ in range(2)]})
        with pytest.raises(UnknownKey):
            trusted(issuer, kid)

    def test_jwk_set_round_trips_and_refuses_duplicate_kids(self, ed_key):
        jwks = JWKSet([ed_key.public])
        assert JWKSet.from_dict(jwks.to_dict()).keys == (ed_key.public,)
        with pytest.raises(MalformedJOSE):
            JWKSet([ed_key.public, ed_key.public])
        with pytest.raises(MalformedJOSE):
            JWKSet.from_dict({"keys": "none"})

    def test_malformed_jose_is_also_invalid_input(self):
        assert issubclass(MalformedJOSE, InvalidInput)
        assert issubclass(MalformedJOSE, CryptoError)
