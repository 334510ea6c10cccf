from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from bayflow.crypto.jose import (
    CompactJWS,
    PrivateJWK,
    PublicJWK,
    TrustedIssuers,
    b64url_decode,
    b64url_encode,
    sign_jwt,
)
from bayflow.errors import InvalidInput
from bayflow.identity.credentials import (
    AUTHORISED_SIGNATORY_VCT,
    BUSINESS_REGISTRATION_VCT,
    KB_JWT_TYP,
    SD_JWT_VC_TYP,
    Disclosure,
    authorised_signatory_claims,
    business_registration_claims,
    format_claim_path,
    issue_credential,
    parse_claim_path,
    present,
    verify_presentation,
)
from bayflow.identity.errors import (
    AudienceMismatch,
    ClaimNotDisclosable,
    CredentialError,
    CredentialExpired,
    CredentialRevoked,
    CredentialSuspended,
    DisclosureNotReferenced,
    DuplicateDisclosure,
    IssuerSignatureInvalid,
    KeyBindingInvalid,
    KeyBindingMissing,
    KeyBindingStale,
    MalformedCredential,
    NonceMismatch,
    SdHashMismatch,
    UnexpectedCredentialType,
    UntrustedIssuer,
)
from bayflow.identity.status_list import (
    StatusList,
    StatusListChecker,
    StatusValue,
    issue_status_list_token,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
HUB = "https://hub.bayflow.example"
STATUS_URI = f"{HUB}/status/1"
BANK = "https://bank.example.hk"
NONCE = "n-0S6_WzA2Mj"

# The fictional Shenzhen SME of the reference scenario.
SME = business_registration_claims(
    organisation_id="org_pearl_river",
    legal_name_en="Pearl River Smart Components Co., Ltd.",
    legal_name_zh="深圳珠江智能元件有限公司",
    jurisdiction="CN",
    city="Shenzhen",
    registry_identifiers={"cn_uscc": "91440300MA5G6JQX2B"},
    lei="5493001KJTIIGC8Y1R12",
)
SME_DISCLOSABLE = frozenset(SME.disclosable)

# RFC 9901 §4.2.1 and §4.2.2: example disclosures, their digests, and equivalent encodings
# of the first one that a verifier must accept as they are.
RFC9901_FAMILY_NAME = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
RFC9901_FAMILY_NAME_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
RFC9901_FAMILY_NAME_VARIANTS = [
    "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd",
    "WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ",
]
RFC9901_ARRAY_FR = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
RFC9901_ARRAY_FR_DIGEST = "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"


@pytest.fixture(scope="module")
def hub_key() -> PrivateJWK:
    return PrivateJWK.generate()


@pytest.fixture(scope="module")
def holder_key() -> PrivateJWK:
    return PrivateJWK.generate()


@pytest.fixture(scope="module")
def trusted(hub_key) -> TrustedIssuers:
    return TrustedIssuers({HUB: [hub_key.public]})


@pytest.fixture(scope="module")
def credential(hub_key, holder_key) -> str:
    return _issue(hub_key, holder_key)


def _issue(
    hub_key: PrivateJWK,
    holder_key: PrivateJWK,
    claims: dict[str, Any] = SME.claims,
    disclosable: tuple[str, ...] | frozenset[str] = SME.disclosable,
    **kwargs: Any,
) -> str:
    options: dict[str, Any] = {
        "holder_jwk": holder_key.public,
        "status": (STATUS_URI, 3),
        "now": NOW,
        **kwargs,
    }
    return issue_credential(hub_key, HUB, SME.vct, claims, disclosable=disclosable, **options)


def _present(sd_jwt: str, holder_key: PrivateJWK, disclose: Any, **kwargs: Any) -> str:
    options: dict[str, Any] = {"audience": BANK, "nonce": NONCE, "now": NOW, **kwargs}
    return present(sd_jwt, disclose, holder_key, **options)


def _verify(presentation: str, trusted: TrustedIssuers, **kwargs: Any):
    options: dict[str, Any] = {"audience": BANK, "nonce": NONCE, "now": NOW, **kwargs}
    return verify_presentation(presentation, trusted, **options)


def _payload(sd_jwt: str) -> dict[str, Any]:
    return CompactJWS.parse(sd_jwt.split("~", 1)[0]).claims()


def _mutate(text: str, position: int) -> str:
    replacement = "A" if text[position] != "A" else "B"
    return text[:position] + replacement + text[position + 1 :]


class TestDisclosure:
    """Disclosures encode, digest and parse exactly as RFC 9901 §4.2 shows."""

    def test_reproduces_the_rfc_object_property_example(self):
        disclosure = Disclosure.create("family_name", "Möbius", salt="_26bc4LT-ac6q2KI6cBW5es")
        assert disclosure.encoded == RFC9901_FAMILY_NAME
        assert disclosure.digest == RFC9901_FAMILY_NAME_DIGEST

    def test_reproduces_the_rfc_array_element_example(self):
        disclosure = Disclosure.create(None, "FR", salt="lklxF5jMYlGTPUovMNIvCA")
        assert disclosure.encoded == RFC9901_ARRAY_FR
        assert disclosure.digest == RFC9901_ARRAY_FR_DIGEST

    @pytest.mark.parametrize("encoded", RFC9901_FAMILY_NAME_VARIANTS)
    def test_parses_other_encodings_of_the_same_claim_with_their_own_digest(self, encoded):
        disclosure = Disclosure.parse(encoded)
        assert (disclosure.name, disclosure.value) == ("family_name", "Möbius")
        assert disclosure.digest != RFC9901_FAMILY_NAME_DIGEST

    def test_uses_fresh_128_bit_salts(self):
        salts = {Disclosure.create("a", 1).salt for _ in range(50)}
        assert len(salts) == 50
        assert all(len(b64url_decode(salt)) == 16 for salt in salts)

    @pytest.mark.parametrize(
        "array",
        [["salt"], ["s", "a", 1, 2], {"s": 1}, [1, "a", 1], ["s", 2, 1], ["s", "_sd", 1]],
        ids=["short", "long", "object", "salt-number", "name-number", "name-_sd"],
    )
    def test_refuses_malformed_disclosures(self, array):
        with pytest.raises(MalformedCredential):
            Disclosure.parse(b64url_encode(json.dumps(array).encode()))

    def test_refuses_disclosure_that_is_not_base64url(self):
        with pytest.raises(MalformedCredential):
            Disclosure.parse("not base64")


class TestClaimPaths:
    """Claim paths name members and array elements and print back the same."""

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ("city", ("city",)),
            ("legal_name.en", ("legal_name", "en")),
            ("licences[2]", ("licences", 2)),
            ("licences[]", ("licences", None)),
            ("a[0][1].b", ("a", 0, 1, "b")),
        ],
    )
    def test_round_trips(self, text, path):
        assert parse_claim_path(text) == path
        assert format_claim_path(path) == text

    @pytest.mark.parametrize("text", ["", "a..b", "a[x]", "[0]", "a.[0]"])
    def test_refuses_malformed_paths(self, text):
        with pytest.raises(ClaimNotDisclosable):
            parse_claim_path(text)


class TestIssueCredential:
    """Issued SD-JWT VCs hide every disclosable value behind salted digests and decoys."""

    def test_has_the_sd_jwt_vc_header_and_registered_claims(self, credential, holder_key):
        jwt, *_ = credential.split("~")
        jws = CompactJWS.parse(jwt)
        assert (jws.typ, jws.alg) == (SD_JWT_VC_TYP, "Ed25519")
        payload = jws.claims()
        assert payload["iss"] == HUB
        assert payload["vct"] == BUSINESS_REGISTRATION_VCT
        assert payload["_sd_alg"] == "sha-256"
        assert payload["cnf"] == {"jwk": holder_key.public.to_dict(include_kid=False)}
        assert payload["status"] == {"status_list": {"idx": 3, "uri": STATUS_URI}}
        assert payload["exp"] - payload["iat"] == 365 * 24 * 3600
        assert payload["sub"] == "org_pearl_river"

    def test_ends_with_a_tilde_and_carries_every_disclosure(self, credential):
        assert credential.endswith("~")
        assert len(credential.split("~")) - 2 == len(SME.disclosable)

    def test_reveals_no_disclosable_value_in_the_signed_payload(self, credential):
        body = json.dumps(_payload(credential), ensure_ascii=False)
        for value in ("Pearl River", "深圳", "Shenzhen", "91440300", "5493001"):
            assert value not in body

    def test_adds_the_requested_decoys_in_sorted_sd_arrays(self, hub_key, holder_key):
        payload = _payload(_issue(hub_key, holder_key, decoys=3))
        assert len(payload["_sd"]) == 3 + 3  # jurisdiction, city and lei, and three decoys
        assert payload["_sd"] == sorted(payload["_sd"])
        assert len(payload["legal_name"]["_sd"]) == 2 + 3

    def test_makes_array_elements_and_nested_disclosures(self, hub_key, holder_key):
        claims = {"licences": ["food", "import"], "office": {"floor": 3, "room": "A"}}
        sd_jwt = _issue(
            hub_key, holder_key, claims, ("licences[]", "office", "office.room"), decoys=0
        )
        payload = _payload(sd_jwt)
        assert [set(item) for item in payload["licences"]] == [{"..."}, {"..."}]
        assert "office" not in payload
        nested = [Disclosure.parse(d) for d in sd_jwt.split("~")[1:-1]]
        office = next(d for d in nested if d.name == "office")
        assert office.value["floor"] == 3
        assert len(office.value["_sd"]) == 1

    @pytest.mark.parametrize(
        ("claims", "disclosable", "error"),
        [
            ({"iss": "me"}, (), InvalidInput),
            ({"a": 1}, ("exp",), ClaimNotDisclosable),
            ({"a": 1}, ("b",), ClaimNotDisclosable),
            ({"a.b": 1}, (), InvalidInput),
            ({"_sd": []}, (), InvalidInput),
            ({"a": {1, 2}}, (), InvalidInput),
        ],
        ids=["reserved-claim", "never-disclosable", "no-such-claim", "dot", "_sd", "not-json"],
    )
    def test_refuses_claims_it_cannot_issue(self, hub_key, holder_key, claims, disclosable, error):
        with pytest.raises(error):
            _issue(hub_key, holder_key, claims, disclosable)


class TestPresent:
    """Presentations keep only the chosen disclosures and bind them to one verifier."""

    def test_keeps_only_the_chosen_disclosures_and_adds_a_kb_jwt(self, credential, holder_key):
        presentation = _present(credential, holder_key, ["city"])
        _, *disclosures, kb_jwt = presentation.split("~")
        assert [Disclosure.parse(d).name for d in disclosures] == ["city"]
        kb = CompactJWS.parse(kb_jwt)
        assert kb.typ == KB_JWT_TYP
        claims = kb.claims()
        assert (claims["aud"], claims["nonce"]) == (BANK, NONCE)
        assert set(claims) == {"iat", "aud", "nonce", "sd_hash"}

    def test_discloses_a_whole_container_by_its_name(self, credential, holder_key, trusted):
        verified = _verify(_present(credential, holder_key, ["legal_name"]), trusted)
        assert verified.disclosed == {"legal_name.en", "legal_name.zh"}

    def test_includes_parents_of_nested_disclosures(self, hub_key, holder_key, trusted):
        claims = {"office": {"floor": 3, "room": "A"}}
        sd_jwt = _issue(hub_key, holder_key, claims, ("office", "office.room"))
        verified = _verify(_present(sd_jwt, holder_key, ["office.room"]), trusted)
        assert verified.claims == {"office": {"floor": 3, "room": "A"}}
        assert verified.disclosed == {"office", "office.room"}

    def test_discloses_chosen_array_elements(self, hub_key, holder_key, trusted):
        claims = {"licences": ["food", "import", "export"]}
        sd_jwt = _issue(hub_key, holder_key, claims, ("licences[]",))
        verified = _verify(_present(sd_jwt, holder_key, ["licences[2]", "licences[0]"]), trusted)
        assert verified.claims == {"licences": ["food", "export"]}
        assert verified.disclosed == {"licences[0]", "licences[2]"}

    @pytest.mark.parametrize("path", ["jurisdiction.x", "sub", "nothing", "registry_identifiers.x"])
    def test_refuses_claims_without_a_disclosure(self, credential, holder_key, path):
        with pytest.raises(ClaimNotDisclosable):
            _present(credential, holder_key, [path])

    def test_refuses_another_holders_key(self, credential):
        with pytest.raises(InvalidInput, match="holder key"):
            _present(credential, PrivateJWK.generate(), ["city"])

    def test_refuses_to_present_a_presentation(self, credential, holder_key):
        with pytest.raises(InvalidInput):
            _present(_present(credential, holder_key, ["city"]), holder_key, ["city"])


class TestVerifyPresentation:
    """Verification returns exactly the disclosed claims, or raises the specific failure."""

    def test_returns_the_disclosed_claims(self, credential, holder_key, trusted):
        verified = _verify(_present(credential, holder_key, ["legal_name.zh", "city"]), trusted)
        assert verified.claims == {
            "legal_name": {"zh": "深圳珠江智能元件有限公司"},
            "city": "Shenzhen",
            "registry_identifiers": {},
        }
        assert verified.disclosed == {"legal_name.zh", "city"}
        assert (verified.issuer, verified.vct, verified.subject) == (
            HUB,
            BUSINESS_REGISTRATION_VCT,
            "org_pearl_river",
        )
        assert verified.holder.thumbprint == holder_key.public.thumbprint
        assert verified.presented_at == NOW
        assert verified.expires_at == NOW + timedelta(days=365)

    def test_discloses_nothing_when_nothing_is_chosen(self, credential, holder_key, trusted):
        presentation = _present(credential, holder_key, [])
        assert presentation.count("~") == 1
        verified = _verify(presentation, trusted)
        assert verified.disclosed == frozenset()
        assert verified.claims == {"legal_name": {}, "registry_identifiers": {}}

    def test_accepts_a_retired_issuer_key(self, hub_key, holder_key, credential):
        trusted = TrustedIssuers({HUB: [PrivateJWK.generate().public, hub_key.public]})
        _verify(_present(credential, holder_key, ["city"]), trusted)

    def test_refuses_an_unknown_issuer_or_key(self, credential, holder_key):
        presentation = _present(credential, holder_key, ["city"])
        with pytest.raises(UntrustedIssuer):
            _verify(presentation, TrustedIssuers({"https://other.example": []}))
        with pytest.raises(UntrustedIssuer):
            _verify(presentation, TrustedIssuers({HUB: [PrivateJWK.generate().public]}))

    def test_refuses_a_credential_signed_by_another_key_under_the_same_kid(
        self, hub_key, holder_key
    ):
        impostor = PrivateJWK.generate()
        # The hub's key, published under the kid the impostor's signature names.
        published = PublicJWK.from_dict({**hub_key.public.to_dict(), "kid": impostor.kid})
        trusted = TrustedIssuers({HUB: [published]})
        presentation = _present(_issue(impostor, holder_key), holder_key, ["city"])
        with pytest.raises(IssuerSignatureInvalid):
            _verify(presentation, trusted)

    def test_refuses_a_disclosure_from_another_credential(
        self, credential, hub_key, holder_key, trusted
    ):
        other = _present(_issue(hub_key, holder_key), holder_key, ["city"])
        foreign = other.split("~")[1]
        head = credential.split("~")[0]
        presentation = present_with(head, [foreign], holder_key)
        with pytest.raises(DisclosureNotReferenced):
            _verify(presentation, trusted)

    def test_refuses_a_repeated_disclosure(self, credential, holder_key, trusted):
        jwt, city = _present(credential, holder_key, ["city"]).split("~")[:2]
        with pytest.raises(DuplicateDisclosure):
            _verify(present_with(jwt, [city, city], holder_key), trusted)

    def test_refuses_a_digest_that_occurs_twice(self, hub_key, holder_key, trusted):
        disclosure = Disclosure.create("city", "Shenzhen")
        payload = {
            "iss": HUB,
            "vct": SME.vct,
            "iat": int(NOW.timestamp()),
            "cnf": {"jwk": holder_key.public.to_dict()},
            "_sd": [disclosure.digest],
            "office": {"_sd": [disclosure.digest]},
        }
        jwt = sign_jwt(hub_key, payload, typ=SD_JWT_VC_TYP)
        with pytest.raises(DuplicateDisclosure):
            _verify(present_with(jwt, [disclosure.encoded], holder_key), trusted)

    @pytest.mark.parametrize(
        ("now", "kwargs"),
        [
            (NOW + timedelta(days=366), {}),
            (NOW, {"now": NOW + timedelta(hours=1)}),
        ],
        ids=["expired", "issued-in-the-future"],
    )
    def test_refuses_credentials_outside_their_validity(
        self, hub_key, holder_key, trusted, now, kwargs
    ):
        sd_jwt = _issue(hub_key, holder_key, **kwargs)
        presentation = _present(sd_jwt, holder_key, ["city"], now=now)
        with pytest.raises(CredentialExpired):
            _verify(presentation, trusted, now=now)

    def test_refuses_an_unexpected_credential_type(self, credential, holder_key, trusted):
        presentation = _present(credential, holder_key, ["city"])
        with pytest.raises(UnexpectedCredentialType):
            _verify(presentation, trusted, vct=AUTHORISED_SIGNATORY_VCT)

    def test_refuses_a_missing_key_binding(self, credential, holder_key, trusted):
        with pytest.raises(KeyBindingMissing):
            _verify(credential, trusted)
        jwt, city = _present(credential, holder_key, ["city"]).split("~")[:2]
        with pytest.raises(KeyBindingMissing):
            _verify(f"{jwt}~{city}~", trusted)

    @pytest.mark.parametrize(
        ("presented_at", "kwargs", "error"),
        [
            (NOW, {"audience": "https://other-bank.example"}, AudienceMismatch),
            (NOW, {"nonce": "n-replayed"}, NonceMismatch),
            (NOW, {"now": NOW + timedelta(minutes=6)}, KeyBindingStale),
            (NOW + timedelta(minutes=2), {}, KeyBindingStale),
        ],
        ids=["audience", "nonce", "too-old", "from-the-future"],
    )
    def test_refuses_a_key_binding_for_another_verifier_or_time(
        self, credential, holder_key, trusted, presented_at, kwargs, error
    ):
        presentation = _present(credential, holder_key, ["city"], now=presented_at)
        with pytest.raises(error):
            _verify(presentation, trusted, **kwargs)

    def test_refuses_a_key_binding_over_other_disclosures(self, credential, holder_key, trusted):
        jwt, city, _lei, kb_jwt = _present(credential, holder_key, ["city", "lei"]).split("~")
        with pytest.raises(SdHashMismatch):
            _verify(f"{jwt}~{city}~{kb_jwt}", trusted)

    def test_refuses_a_key_binding_by_another_key(self, credential, holder_key, trusted):
        head = _present(credential, holder_key, ["city"]).rsplit("~", 1)[0] + "~"
        with pytest.raises(KeyBindingInvalid):
            _verify(present_with_head(head, PrivateJWK.generate()), trusted)

    def test_refuses_a_key_binding_with_the_wrong_typ(self, credential, holder_key, trusted):
        head = _present(credential, holder_key, ["city"]).rsplit("~", 1)[0] + "~"
        with pytest.raises(KeyBindingInvalid):
            _verify(present_with_head(head, holder_key, typ="jwt"), trusted)

    @pytest.mark.parametrize(
        ("status", "error"),
        [(StatusValue.INVALID, CredentialRevoked), (StatusValue.SUSPENDED, CredentialSuspended)],
    )
    def test_refuses_revoked_and_suspended_credentials(
        self, credential, hub_key, holder_key, trusted, status, error
    ):
        statuses = StatusList(16, bits=2)
        token = issue_status_list_token(hub_key, statuses, uri=STATUS_URI, now=NOW, issuer=HUB)
        checker = StatusListChecker(lambda _uri: token, trusted)
        presentation = _present(credential, holder_key, ["city"])
        _verify(presentation, trusted, status_checker=checker)
        statuses.set(3, status)
        checker.load(
            STATUS_URI,
            issue_status_list_token(hub_key, statuses, uri=STATUS_URI, now=NOW, issuer=HUB),
            now=NOW,
        )
        with pytest.raises(error):
            _verify(presentation, trusted, status_checker=checker)

    @pytest.mark.parametrize(
        "presentation",
        ["", "no-tilde", "~kb", "a.b.c~~kb", "a.b.c~d~kb"],
        ids=["empty", "no-tilde", "no-jwt", "empty-disclosure", "jwt-not-base64"],
    )
    def test_refuses_malformed_presentations(self, trusted, presentation):
        with pytest.raises(MalformedCredential):
            _verify(presentation, trusted)

    def test_refuses_a_jwt_with_the_wrong_typ(self, hub_key, holder_key, trusted):
        jwt = sign_jwt(hub_key, {"iss": HUB, "vct": SME.vct}, typ="vc+sd-jwt")
        with pytest.raises(MalformedCredential):
            _verify(present_with(jwt, [], holder_key), trusted)


def present_with(jwt: str, disclosures: list[str], holder_key: PrivateJWK, **kwargs: Any) -> str:
    """A presentation assembled by hand, with a correct KB-JWT over whatever it contains."""
    return present_with_head("~".join([jwt, *disclosures, ""]), holder_key, **kwargs)


def present_with_head(head: str, holder_key: PrivateJWK, typ: str = KB_JWT_TYP) -> str:
    sd_hash = b64url_encode(hashlib.sha256(head.encode("ascii")).digest())
    claims = {"iat": int(NOW.timestamp()), "aud": BANK, "nonce": NONCE, "sd_hash": sd_hash}
    return head + sign_jwt(holder_key, claims, typ=typ)


class TestPresentationProperties:
    """Any choice of disclosures verifies to exactly that choice; any alteration fails."""

    @given(chosen=st.sets(st.sampled_from(sorted(SME_DISCLOSABLE))))
    def test_any_subset_reveals_exactly_that_subset(self, credential, holder_key, trusted, chosen):
        verified = _verify(_present(credential, holder_key, sorted(chosen)), trusted)
        assert verified.disclosed == chosen
        revealed = {
            f"{name}.{member}" if isinstance(value, dict) else name
            for name, value in verified.claims.items()
            for member in (value if isinstance(value, dict) else [None])
        }
        assert revealed == chosen

    @given(data=st.data())
    def test_altering_any_disclosure_fails(self, credential, holder_key, trusted, data):
        jwt, *disclosures, kb_jwt = _present(credential, holder_key, sorted(SME_DISCLOSABLE)).split(
            "~"
        )
        which = data.draw(st.integers(0, len(disclosures) - 1))
        position = data.draw(st.integers(0, len(disclosures[which]) - 1))
        disclosures[which] = _mutate(disclosures[which], position)
        with pytest.raises((DisclosureNotReferenced, MalformedCredential)):
            _verify("~".join([jwt, *disclosures, kb_jwt]), trusted)

    @given(position=st.integers(min_value=0))
    def test_altering_the_key_binding_fails(self, credential, holder_key, trusted, position):
        head, kb_jwt = _present(credential, holder_key, ["city"]).rsplit("~", 1)
        forged = _mutate(kb_jwt, position % len(kb_jwt))
        with pytest.raises(KeyBindingInvalid):
            _verify(f"{head}~{forged}", trusted)

    @given(position=st.integers(min_value=0))
    def test_altering_the_issuer_signature_fails(self, credential, holder_key, trusted, position):
        jwt, rest = _present(credential, holder_key, ["city"]).split("~", 1)
        head, payload, signature = jwt.split(".")
        forged = _mutate(signature, position % len(signature))
        with pytest.raises((IssuerSignatureInvalid, MalformedCredential)):
            _verify(f"{head}.{payload}.{forged}~{rest}", trusted)

    def test_every_failure_is_a_credential_error(self):
        for error in (IssuerSignatureInvalid, KeyBindingStale, CredentialRevoked):
            assert issubclass(error, CredentialError)


class TestReferenceImplementation:
    """The `sd-jwt` reference implementation and Bayflow accept each other's presentations.

    `sd-jwt` 0.10 verifies the issuer signature with whatever `alg` the header names (jwcrypto
    knows RFC 9864's `Ed25519`), but its verifier hard-codes ES256 for the KB-JWT. The closest
    honest comparison of a full presentation is therefore an Ed25519 issuer with a P-256 holder;
    a second test checks an Ed25519 KB-JWT by calling its key binding check with the algorithm.
    It does not check `typ`, `exp` or `iat`, so those stay covered by the tests above.
    """

    @staticmethod
    def _jwcrypto(key: PrivateJWK, *, private: bool = False) -> JWK:
        jwk = key.to_dict() if private else key.public.to_dict()
        return JWK.from_json(json.dumps(jwk))

    def test_verifies_a_bayflow_presentation_with_a_p256_holder(self, hub_key, trusted):
        holder = PrivateJWK.generate("ES256")
        sd_jwt = _issue(hub_key, holder)
        presentation = _present(sd_jwt, holder, ["legal_name.en", "registry_identifiers", "city"])
        issuer_key = self._jwcrypto(hub_key)
        reference = SDJWTVerifier(
            presentation, lambda _iss, _header: issuer_key, expected_aud=BANK, expected_nonce=NONCE
        )
        payload = reference.get_verified_payload()
        ours = _verify(presentation, trusted)
        for name, value in ours.claims.items():
            assert payload[name] == value
        assert payload["legal_name"] == {"en": "Pearl River Smart Components Co., Ltd."}
        assert payload["registry_identifiers"] == {"cn_uscc": "91440300MA5G6JQX2B"}
        assert "lei" not in payload

    def test_verifies_an_ed25519_key_binding(self, hub_key, holder_key):
        presentation = _present(_issue(hub_key, holder_key), holder_key, ["lei"])
        issuer_key = self._jwcrypto(hub_key)
        reference = SDJWTVerifier(presentation, lambda _iss, _header: issuer_key)
        reference._verify_key_binding_jwt(BANK, NONCE, sign_alg="Ed25519")
        assert reference.get_verified_payload()["lei"] == "5493001KJTIIGC8Y1R12"

    def test_rejects_a_bayflow_presentation_with_a_wrong_nonce(self, hub_key):
        holder = PrivateJWK.generate("ES256")
        presentation = _present(_issue(hub_key, holder), holder, ["city"])
        issuer_key = self._jwcrypto(hub_key)
        with pytest.raises(ValueError, match="nonce"):
            SDJWTVerifier(
                presentation, lambda _i, _h: issuer_key, expected_aud=BANK, expected_nonce="x"
            )

    def test_bayflow_verifies_a_reference_presentation(self, hub_key, trusted):
        # The reference holder stamps the KB-JWT with the wall clock, so this test uses it too.
        now = datetime.now(UTC)
        holder = PrivateJWK.generate("ES256")
        claims = {
            "iss": HUB,
            "vct": SME.vct,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(days=1)).timestamp()),
            SDObj("city"): "Shenzhen",
            "legal_name": {SDObj("en"): "Pearl River", SDObj("zh"): "珠江"},
            "licences": [SDObj("food"), SDObj("import")],
        }
        issuer = SDJWTIssuer(
            claims,
            self._jwcrypto(hub_key, private=True),
            self._jwcrypto(holder),
            sign_alg="Ed25519",
            add_decoy_claims=True,
            extra_header_parameters={"typ": SD_JWT_VC_TYP},
        )
        wallet = SDJWTHolder(issuer.sd_jwt_issuance)
        wallet.create_presentation(
            {"city": True, "legal_name": {"zh": True}, "licences": [False, True]},
            NONCE,
            BANK,
            self._jwcrypto(holder, private=True),
            "ES256",
        )
        verified = _verify(wallet.sd_jwt_presentation, trusted, now=now)
        assert verified.claims == {
            "city": "Shenzhen",
            "legal_name": {"zh": "珠江"},
            "licences": ["import"],
        }
        assert verified.disclosed == {"city", "legal_name.zh", "licences[1]"}


class TestRegistryCredentials:
    """The hub's two credential types name their vct and what the holder may disclose."""

    def test_business_registration_discloses_each_fact_separately(self):
        assert SME.vct == "urn:bayflow:vct:business-registration:1"
        assert set(SME.disclosable) == {
            "legal_name.en",
            "legal_name.zh",
            "jurisdiction",
            "city",
            "registry_identifiers.cn_uscc",
            "lei",
        }
        assert SME.claims["sub"] == "org_pearl_river"

    @pytest.mark.parametrize(
        ("jurisdiction", "identifiers"),
        [("UK", {"hk_brn": "12345678"}), ("HK", {})],
        ids=["jurisdiction", "no-identifier"],
    )
    def test_business_registration_refuses_bad_facts(self, jurisdiction, identifiers):
        with pytest.raises(InvalidInput):
            business_registration_claims(
                organisation_id="org_1",
                legal_name_en="A Ltd",
                legal_name_zh="甲有限公司",
                jurisdiction=jurisdiction,
                city="Hong Kong",
                registry_identifiers=identifiers,
            )

    def test_authorised_signatory_round_trips(self, hub_key, holder_key, trusted):
        signatory = authorised_signatory_claims(
            person_id="per_chan_tai_man",
            person_name="Chan Tai Man",
            role="authorised_signatory",
            organisation_id="org_pearl_river",
            organisation_name="Pearl River Smart Components Co., Ltd.",
            mandate_summary="One authorised signatory up to HK$1,000,000",
            mandate_limit=("1000000.00", "HKD"),
            valid_from=date(2025, 1, 1),
            valid_until=date(2025, 12, 31),
        )
        assert signatory.vct == AUTHORISED_SIGNATORY_VCT
        assert "organisation.id" in signatory.disclosable
        sd_jwt = issue_credential(
            hub_key,
            HUB,
            signatory.vct,
            signatory.claims,
            disclosable=signatory.disclosable,
            holder_jwk=holder_key.public,
            status=None,
            now=NOW,
        )
        verified = _verify(
            _present(sd_jwt, holder_key, ["role", "mandate.limit"]),
            trusted,
            vct=AUTHORISED_SIGNATORY_VCT,
        )
        assert verified.claims == {
            "role": "authorised_signatory",
            "organisation": {},
            "mandate": {"limit": {"amount": "1000000.00", "currency": "HKD"}},
        }
        assert verified.subject == "per_chan_tai_man"
        assert verified.status is None
