from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.crypto.jose import PrivateJWK, TrustedIssuers, b64url_encode, sign_jwt
from bayflow.errors import NotFound
from bayflow.identity.errors import (
    CredentialRevoked,
    CredentialSuspended,
    MalformedCredential,
    StatusUnavailable,
)
from bayflow.identity.status_list import (
    STATUS_LIST_TYP,
    StatusList,
    StatusListChecker,
    StatusReference,
    StatusValue,
    issue_status_list_token,
    verify_status_list_token,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
ISSUER = "https://hub.bayflow.example"
URI = "https://hub.bayflow.example/status/1"

# draft-ietf-oauth-status-list §4.1 (and Appendix C): the example lists and their encodings.
SPEC_ONE_BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
SPEC_ONE_BIT_LST = "eNrbuRgAAhcBXQ"
SPEC_TWO_BIT = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
SPEC_TWO_BIT_LST = "eNo76fITAAPfAgc"


@pytest.fixture(scope="module")
def hub_key() -> PrivateJWK:
    return PrivateJWK.generate()


@pytest.fixture(scope="module")
def trusted(hub_key) -> TrustedIssuers:
    return TrustedIssuers({ISSUER: [hub_key.public]})


def _token(key: PrivateJWK, status_list: StatusList, **kwargs: object) -> str:
    options: dict[str, object] = {"uri": URI, "now": NOW, "issuer": ISSUER, **kwargs}
    return issue_status_list_token(key, status_list, **options)  # type: ignore[arg-type]


class TestStatusList:
    """The list packs statuses least significant bit first and compresses them with ZLIB."""

    @pytest.mark.parametrize(
        ("bits", "statuses", "lst", "raw"),
        [
            (1, SPEC_ONE_BIT, SPEC_ONE_BIT_LST, bytes([0xB9, 0xA3])),
            (2, SPEC_TWO_BIT, SPEC_TWO_BIT_LST, bytes([0xC9, 0x44, 0xF9])),
        ],
        ids=["one-bit", "two-bit"],
    )
    def test_reproduces_the_draft_examples(self, bits, statuses, lst, raw):
        status_list = StatusList(len(statuses), bits=bits)
        for idx, status in enumerate(statuses):
            status_list.set(idx, status)
        assert status_list.to_bytes() == raw
        assert status_list.to_claim() == {"bits": bits, "lst": lst}
        parsed = StatusList.from_claim({"bits": bits, "lst": lst})
        assert [parsed.get(i) for i in range(len(statuses))] == statuses

    @given(
        bits=st.sampled_from([1, 2, 4, 8]),
        statuses=st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=300),
    )
    def test_round_trips_any_statuses(self, bits, statuses):
        statuses = [s % (1 << bits) for s in statuses]
        status_list = StatusList(len(statuses), bits=bits)
        for idx, status in enumerate(statuses):
            status_list.set(idx, status)
        parsed = StatusList.from_claim(status_list.to_claim())
        assert parsed == status_list
        assert [parsed.get(i) for i in range(len(statuses))] == statuses

    def test_setting_one_entry_leaves_its_neighbours(self):
        status_list = StatusList(8, bits=2)
        status_list.set(1, StatusValue.SUSPENDED)
        status_list.set(1, StatusValue.INVALID)
        assert [status_list.get(i) for i in range(4)] == [0, 1, 0, 0]

    @pytest.mark.parametrize(
        "call",
        [
            lambda s: s.get(16),
            lambda s: s.get(-1),
            lambda s: s.set(16, 1),
        ],
        ids=["get-past-end", "get-negative", "set-past-end"],
    )
    def test_refuses_indices_outside_the_list(self, call):
        with pytest.raises(IndexError):
            call(StatusList(16))

    def test_refuses_values_wider_than_its_bits(self):
        with pytest.raises(ValueError, match="does not fit"):
            StatusList(8).set(0, 2)

    @pytest.mark.parametrize(("size", "bits"), [(0, 1), (8, 3)], ids=["empty", "three-bits"])
    def test_refuses_impossible_shapes(self, size, bits):
        with pytest.raises(ValueError, match=r"bits|entry"):
            StatusList(size, bits=bits)

    @pytest.mark.parametrize(
        "claim",
        [
            {"bits": 3, "lst": SPEC_ONE_BIT_LST},
            {"bits": True, "lst": SPEC_ONE_BIT_LST},
            {"bits": 1},
            {"bits": 1, "lst": "not base64!"},
            {"bits": 1, "lst": b64url_encode(b"plain bytes")},
            {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x01") + b"junk")},
            {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x01\x02")[:-2])},
            {"bits": 1, "lst": b64url_encode(zlib.compress(b""))},
            {"bits": 1, "lst": b64url_encode(zlib.compress(bytes(17 * 1024 * 1024), 9))},
            "eNrbuRgAAhcBXQ",
        ],
        ids=[
            "bits-3",
            "bits-bool",
            "no-lst",
            "not-base64",
            "not-zlib",
            "trailing-data",
            "truncated",
            "empty",
            "zip-bomb",
            "not-object",
        ],
    )
    def test_refuses_malformed_claims(self, claim):
        with pytest.raises(MalformedCredential):
            StatusList.from_claim(claim)


class TestStatusReference:
    """A Referenced Token's status claim names a list URI and a non-negative index."""

    def test_round_trips_the_claim(self):
        ref = StatusReference(URI, 7)
        assert ref.to_claim() == {"status_list": {"idx": 7, "uri": URI}}
        assert StatusReference.from_claim(ref.to_claim()) == ref

    @pytest.mark.parametrize(
        "claim",
        [
            {"status_list": {"idx": -1, "uri": URI}},
            {"status_list": {"idx": "7", "uri": URI}},
            {"status_list": {"idx": True, "uri": URI}},
            {"status_list": {"idx": 1, "uri": ""}},
            {"status_list": [1, URI]},
            {"other": {}},
        ],
        ids=["negative", "string-idx", "bool-idx", "empty-uri", "array", "no-status-list"],
    )
    def test_refuses_malformed_references(self, claim):
        with pytest.raises(MalformedCredential):
            StatusReference.from_claim(claim)


class TestStatusListToken:
    """Status List Tokens are signed JWTs for one URI, checked for type, signer and time."""

    def test_round_trips_a_list(self, hub_key, trusted):
        status_list = StatusList(1000)
        status_list.set(999, StatusValue.INVALID)
        token = _token(hub_key, status_list, ttl=timedelta(minutes=10))
        verified = verify_status_list_token(token, trusted, uri=URI, now=NOW)
        assert verified.status_list == status_list
        assert (verified.uri, verified.issuer, verified.issued_at) == (URI, ISSUER, NOW)
        assert verified.ttl == timedelta(minutes=10)
        assert verified.cache_until(NOW) == NOW + timedelta(minutes=10)

    def test_caches_no_longer_than_it_is_valid(self, hub_key, trusted):
        token = _token(hub_key, StatusList(8), expires_in=timedelta(minutes=2), ttl=None)
        verified = verify_status_list_token(token, trusted, uri=URI, now=NOW)
        assert verified.cache_until(NOW) == NOW + timedelta(minutes=2)

    @pytest.mark.parametrize(
        ("kwargs", "now"),
        [
            ({"uri": "https://hub.bayflow.example/status/2"}, NOW),
            ({}, NOW + timedelta(days=2)),
            ({}, NOW - timedelta(hours=1)),
        ],
        ids=["other-list", "expired", "from-the-future"],
    )
    def test_refuses_tokens_for_another_list_or_time(self, hub_key, trusted, kwargs, now):
        token = _token(hub_key, StatusList(8), **kwargs)
        with pytest.raises(StatusUnavailable):
            verify_status_list_token(token, trusted, uri=URI, now=now)

    def test_refuses_an_untrusted_signer(self, trusted):
        token = _token(PrivateJWK.generate(), StatusList(8))
        with pytest.raises(StatusUnavailable):
            verify_status_list_token(token, trusted, uri=URI, now=NOW)

    @pytest.mark.parametrize(
        ("claims", "typ"),
        [
            ({"sub": URI, "iat": 1740821400, "status_list": {"bits": 1, "lst": "eA"}}, None),
            ({"sub": URI, "status_list": StatusList(8).to_claim(), "iss": ISSUER}, None),
            ({"sub": URI, "iat": 1740821400, "iss": 5}, None),
            ({"sub": URI, "iat": "today", "iss": ISSUER}, None),
            ({"sub": URI, "iat": 1740821400, "iss": ISSUER, "ttl": -1}, None),
            ({"sub": URI, "iat": 1740821400, "iss": ISSUER}, "jwt"),
        ],
        ids=["bad-list", "no-iat", "iss-not-string", "iat-not-number", "negative-ttl", "wrong-typ"],
    )
    def test_refuses_malformed_tokens(self, hub_key, trusted, claims, typ):
        claims = {"status_list": StatusList(8).to_claim(), "iss": ISSUER, **claims}
        token = sign_jwt(hub_key, claims, typ=typ or STATUS_LIST_TYP)
        with pytest.raises(StatusUnavailable):
            verify_status_list_token(token, trusted, uri=URI, now=NOW)


class TestStatusListChecker:
    """The checker answers from a verified, cached list and fails closed."""

    @pytest.fixture
    def statuses(self) -> StatusList:
        status_list = StatusList(64, bits=2)
        status_list.set(1, StatusValue.INVALID)
        status_list.set(2, StatusValue.SUSPENDED)
        status_list.set(3, 3)
        return status_list

    @pytest.fixture
    def fetches(self) -> list[str]:
        return []

    @pytest.fixture
    def checker(self, hub_key, trusted, statuses, fetches) -> StatusListChecker:
        def fetch(uri: str) -> str:
            fetches.append(uri)
            return _token(hub_key, statuses, ttl=timedelta(minutes=5))

        return StatusListChecker(fetch, trusted)

    def test_accepts_a_valid_entry(self, checker):
        checker(StatusReference(URI, 0), issuer=ISSUER, now=NOW)

    @pytest.mark.parametrize(
        ("idx", "error"),
        [
            (1, CredentialRevoked),
            (2, CredentialSuspended),
            (3, StatusUnavailable),
            (64, StatusUnavailable),
        ],
        ids=["revoked", "suspended", "application-specific", "outside-the-list"],
    )
    def test_refuses_other_entries(self, checker, idx, error):
        with pytest.raises(error):
            checker(StatusReference(URI, idx), issuer=ISSUER, now=NOW)

    def test_refuses_a_list_from_another_issuer(self, checker):
        with pytest.raises(StatusUnavailable):
            checker(StatusReference(URI, 0), issuer="https://other.example", now=NOW)

    def test_fetches_again_only_after_the_ttl(self, checker, fetches):
        for minutes in (0, 1, 4):
            checker(StatusReference(URI, 0), issuer=ISSUER, now=NOW + timedelta(minutes=minutes))
        assert len(fetches) == 1
        checker(StatusReference(URI, 0), issuer=ISSUER, now=NOW + timedelta(minutes=5))
        assert len(fetches) == 2

    def test_sees_a_revocation_after_refetching(self, checker, statuses):
        checker(StatusReference(URI, 5), issuer=ISSUER, now=NOW)
        statuses.set(5, StatusValue.INVALID)
        checker(StatusReference(URI, 5), issuer=ISSUER, now=NOW + timedelta(minutes=1))
        with pytest.raises(CredentialRevoked):
            checker(StatusReference(URI, 5), issuer=ISSUER, now=NOW + timedelta(minutes=6))

    def test_fails_closed_when_the_list_cannot_be_fetched(self, trusted):
        def fetch(uri: str) -> str:
            raise NotFound(f"{uri} is gone")

        with pytest.raises(StatusUnavailable, match="cannot be fetched"):
            StatusListChecker(fetch, trusted)(StatusReference(URI, 0), issuer=ISSUER, now=NOW)

    def test_uses_a_preloaded_list_without_fetching(self, hub_key, trusted, statuses):
        def fetch(uri: str) -> str:
            raise AssertionError(uri)

        checker = StatusListChecker(fetch, trusted)
        checker.load(URI, _token(hub_key, statuses), now=NOW)
        with pytest.raises(CredentialRevoked):
            checker(StatusReference(URI, 1), issuer=ISSUER, now=NOW)
