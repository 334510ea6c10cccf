import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.jose import CompactJWS, JWKSet, verify_jwt
from bayflow.crypto.jwt import encode
from bayflow.identity.auth import ASSERTION_TYPE
from bayflow.identity.keyfile import KeyFile

pytestmark = pytest.mark.anyio

HUB = "http://hub.test"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def assertion(key_file: KeyFile, now: datetime, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "iss": key_file.person,
        "sub": key_file.person,
        "aud": f"{HUB}/oauth/token",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=60)).timestamp()),
        "jti": secrets.token_urlsafe(12),
    }
    signing_key = overrides.pop("signing_key", key_file.person_key.signing_key)
    kid = overrides.pop("kid", key_file.person_key.kid)
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return encode(claims, signing_key, kid=kid)


async def token_request(
    hub: httpx.AsyncClient, client_assertion: str, **form: str
) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
        **form,
    }
    return await hub.post("/oauth/token", data=data)


class TestTokenEndpoint:
    """A valid RFC 7523 assertion buys a five-minute access token; anything else is refused."""

    async def test_a_valid_assertion_gets_a_bearer_token(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        response = await token_request(hub, assertion(operator, START))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 300
        assert "operator" in body["scope"].split()
        orgs = await hub.get("/orgs", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert orgs.status_code == 200
        assert orgs.json()[0]["is_operator"] is True

    async def test_requested_scopes_narrow_the_grant(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        response = await token_request(hub, assertion(operator, START), scope="org:read")
        assert response.json()["scope"] == "org:read"

    async def test_unknown_scopes_are_refused(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        response = await token_request(hub, assertion(operator, START), scope="everything")
        assert response.status_code == 401
        assert "unknown scope" in response.json()["detail"]

    async def test_a_replayed_assertion_is_refused(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        signed = assertion(operator, START)
        assert (await token_request(hub, signed)).status_code == 200
        replay = await token_request(hub, signed)
        assert replay.status_code == 401
        body = replay.json()
        assert body["error"] == "invalid_client"
        assert "replayed" in body["detail"]

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"exp": int((START - timedelta(seconds=61)).timestamp())}, "expired"),
            ({"iat": int((START + timedelta(seconds=120)).timestamp())}, "in the future"),
            ({"exp": int((START + timedelta(minutes=10)).timestamp())}, "more than 5 minutes"),
            ({"aud": "http://elsewhere.test/oauth/token"}, "'aud' must name"),
            ({"sub": "per_someoneelse"}, "'sub' must equal 'iss'"),
            ({"jti": None}, "jti"),
            ({"exp": None}, "'exp' claim is missing"),
            ({"kid": "no-such-key"}, "not registered"),
            ({"signing_key": SigningKey.generate()}, "does not verify"),
        ],
    )
    async def test_bad_assertions_are_refused_with_a_reason(
        self,
        hub: httpx.AsyncClient,
        operator: KeyFile,
        overrides: dict[str, Any],
        message: str,
    ) -> None:
        response = await token_request(hub, assertion(operator, START, **overrides))
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert message in response.json()["detail"]

    async def test_clock_skew_within_sixty_seconds_is_tolerated(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        ahead = START + timedelta(seconds=50)
        assert (await token_request(hub, assertion(operator, ahead))).status_code == 200
        expired = START - timedelta(seconds=100)  # exp = START - 40 s: inside the skew
        assert (await token_request(hub, assertion(operator, expired))).status_code == 200

    async def test_wrong_grant_or_content_type_is_refused(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        bad_grant = await token_request(hub, assertion(operator, START), grant_type="password")
        assert bad_grant.status_code == 401
        as_json = await hub.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert as_json.status_code == 422


class TestBearerTokens:
    """Every API call needs a valid, unexpired token from this hub."""

    async def test_missing_token_gets_401_with_a_challenge(self, hub: httpx.AsyncClient) -> None:
        response = await hub.get("/orgs")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_garbage_token_gets_401(self, hub: httpx.AsyncClient) -> None:
        response = await hub.get("/orgs", headers={"Authorization": "Bearer abc.def.ghi"})
        assert response.status_code == 401
        assert response.json()["type"] == "urn:bayflow:problem:invalid-access-token"

    async def test_token_signed_by_another_key_gets_401(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        forged = encode(
            {
                "iss": HUB,
                "sub": operator.person,
                "org": operator.organisation,
                "scope": "operator",
                "jti": "x",
                "exp": int((START + timedelta(minutes=5)).timestamp()),
            },
            SigningKey.generate(),
            kid="forged",
            typ="at+jwt",
        )
        response = await hub.get("/orgs", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401

    async def test_tokens_expire_after_five_minutes(
        self, hub: httpx.AsyncClient, operator: KeyFile, clock: FixedClock
    ) -> None:
        token = (await token_request(hub, assertion(operator, START))).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        clock.advance(timedelta(minutes=5, seconds=59))
        assert (await hub.get("/orgs", headers=headers)).status_code == 200
        clock.advance(timedelta(seconds=2))
        expired = await hub.get("/orgs", headers=headers)
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]

    async def test_an_assertion_is_not_an_access_token(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        response = await hub.get(
            "/orgs", headers={"Authorization": f"Bearer {assertion(operator, START)}"}
        )
        assert response.status_code == 401


class TestJWKS:
    """The hub publishes the key that verifies its tokens."""

    async def test_jwks_verifies_an_issued_access_token(
        self, hub: httpx.AsyncClient, operator: KeyFile
    ) -> None:
        token = (await token_request(hub, assertion(operator, START))).json()["access_token"]
        jwks = JWKSet.from_dict((await hub.get("/.well-known/jwks.json")).json())
        kid = CompactJWS.parse(token).kid
        claims = verify_jwt(token, jwks.get(kid), typ="at+jwt")
        assert claims["sub"] == operator.person
