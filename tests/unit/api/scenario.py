"""The reference scenario's parties on an in-process hub, for wallet and form API tests.

Bayline (with Chen Wei, a director with a mandate, and Li Na, a delegate) and Lion Rock Bank
(with its administrator), each with a key file, and a helper that gets a bearer token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.jwt import b64url_encode, encode
from bayflow.identity.auth import ASSERTION_TYPE
from bayflow.identity.keyfile import KeyFile, KeyPair

HUB = "http://hub.test"
BAYLINE_USCC = "91440300MA5G7K2P0C"
LION_ROCK_BRN = "12345678"


def _assertion(key_file: KeyFile, now: datetime) -> str:
    claims = {
        "iss": key_file.person,
        "sub": key_file.person,
        "aud": f"{HUB}/oauth/token",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=60)).timestamp()),
        "jti": secrets.token_urlsafe(12),
    }
    return encode(claims, key_file.person_key.signing_key, kid=key_file.person_key.kid)


async def bearer(hub: httpx.AsyncClient, key_file: KeyFile, now: datetime) -> dict[str, str]:
    response = await hub.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(key_file, now),
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _register(
    hub: httpx.AsyncClient, operator: dict[str, str], body: dict[str, Any]
) -> KeyFile:
    admin, org_key = KeyPair.generate(), KeyPair.generate()
    body["administrator"]["public_key"] = b64url_encode(admin.public_key)
    body["organisation_public_key"] = b64url_encode(org_key.public_key)
    result = _ok(await hub.post("/orgs", json=body, headers=operator))
    return KeyFile(
        hub=HUB,
        organisation=result["organisation"]["id"],
        person=result["administrator"]["id"],
        person_key=admin,
        organisation_key=org_key,
    )


async def _add_person(
    hub: httpx.AsyncClient, admin: dict[str, str], org: KeyFile, name: str, role: str
) -> KeyFile:
    pair = KeyPair(SigningKey.generate())
    person = _ok(
        await hub.post(
            f"/orgs/{org.organisation}/people",
            json={"name": name, "roles": [role], "public_key": b64url_encode(pair.public_key)},
            headers=admin,
        )
    )
    return KeyFile(hub=HUB, organisation=org.organisation, person=person["id"], person_key=pair)


@dataclass
class Parties:
    bayline: KeyFile
    chen: KeyFile
    li: KeyFile
    lionrock: KeyFile
    mandate_id: str


async def admit_parties(hub: httpx.AsyncClient, operator: KeyFile, now: datetime) -> Parties:
    as_operator = await bearer(hub, operator, now)
    bayline = await _register(
        hub,
        as_operator,
        {
            "legal_name_en": "Qianhai Bayline Logistics Co., Ltd.",
            "legal_name_zh": "深圳前海湾线物流有限公司",
            "jurisdiction": "CN",
            "city": "Shenzhen",
            "identifiers": {"cn_uscc": BAYLINE_USCC},
            "administrator": {"name": "Bayline administrator"},
        },
    )
    lionrock = await _register(
        hub,
        as_operator,
        {
            "legal_name_en": "Lion Rock Bank Limited",
            "legal_name_zh": "獅子山銀行有限公司",
            "jurisdiction": "HK",
            "city": "Hong Kong",
            "identifiers": {"hk_brn": LION_ROCK_BRN},
            "administrator": {"name": "Wong Ka Ming"},
        },
    )
    as_bayline = await bearer(hub, bayline, now)
    chen = await _add_person(hub, as_bayline, bayline, "Chen Wei", "director")
    li = await _add_person(hub, as_bayline, bayline, "Li Na", "delegate")
    mandate = _ok(
        await hub.post(
            f"/orgs/{bayline.organisation}/mandates",
            json={
                "description": "one director up to RMB 2,000,000",
                "min_signers": 1,
                "role": "director",
                "limit": {"currency": "CNY", "amount": "2000000"},
            },
            headers=as_bayline,
        )
    )
    return Parties(bayline, chen, li, lionrock, mandate["id"])
