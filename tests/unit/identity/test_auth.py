"""The hub's access-token check: each token's signature is checked once, its expiry every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.jwt import encode, verify_jwt
from bayflow.identity import auth
from bayflow.identity.auth import TokenVerifier
from bayflow.identity.errors import InvalidAccessToken

ISSUER = "http://hub.test"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
KEY = SigningKey.generate()


def _token(**changes: Any) -> str:
    claims = {
        "iss": ISSUER,
        "sub": "per_1",
        "org": "org_1",
        "scope": "exchange consent",
        "jti": "tok_1",
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
    } | changes
    return encode(claims, KEY, kid="hub-1", typ="at+jwt")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def verifier(clock: FixedClock) -> TokenVerifier:
    return TokenVerifier({"hub-1": KEY.public_key}, issuer=ISSUER, clock=clock)


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = verify_jwt

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth, "verify_jwt", counting)
    return seen


def test_a_token_used_again_is_not_verified_again(
    verifier: TokenVerifier, signature_checks: list[str]
) -> None:
    token = _token()
    first, second = verifier.verify(token), verifier.verify(token)
    assert first == second
    assert first.person_id == "per_1"
    assert first.scopes == frozenset({"exchange", "consent"})
    assert signature_checks == [token]


def test_a_remembered_token_is_refused_once_it_expires(
    verifier: TokenVerifier, clock: FixedClock
) -> None:
    token = _token()
    verifier.verify(token)
    clock.advance(timedelta(minutes=5) + auth.MAX_CLOCK_SKEW + timedelta(seconds=1))
    with pytest.raises(InvalidAccessToken, match="expired"):
        verifier.verify(token)


def test_a_tampered_copy_of_an_accepted_token_is_refused(verifier: TokenVerifier) -> None:
    token = _token()
    verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{_token(scope='operator').split('.')[1]}.{signature}"
    with pytest.raises(InvalidAccessToken):
        verifier.verify(forged)
    assert payload != forged.split(".")[1]


def test_a_refused_token_is_checked_again_each_time(
    verifier: TokenVerifier, signature_checks: list[str]
) -> None:
    token = _token(iss="http://another-hub.test")
    for _ in range(2):
        with pytest.raises(InvalidAccessToken, match="another hub"):
            verifier.verify(token)
    assert signature_checks == [token, token]
