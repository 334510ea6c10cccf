"""``POST /oauth/token``: RFC 6749 client credentials with RFC 7523 private_key_jwt."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request

from bayflow.api.deps import SessionDep, SettingsDep
from bayflow.errors import InvalidInput
from bayflow.identity.auth import TokenIssuer
from bayflow.identity.errors import InvalidClientAssertion
from bayflow.store.identity import SqlIdentityRepository

__all__ = ["router"]

router = APIRouter(tags=["authentication"])

_FORM = "application/x-www-form-urlencoded"
_FIELDS = ("grant_type", "client_assertion_type", "client_assertion", "scope")


def _form(body: bytes) -> dict[str, str]:
    # Parsed here rather than with a multipart library: the token endpoint only ever takes
    # one small urlencoded form (RFC 6749 §4.4.2), and each field at most once.
    try:
        parsed = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidClientAssertion("the token request is not a urlencoded form") from exc
    form: dict[str, str] = {}
    for name, values in parsed.items():
        if len(values) != 1:
            raise InvalidClientAssertion(f"{name} given more than once")
        form[name] = values[0]
    return form


async def _token_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != _FORM:
        raise InvalidInput(f"the token endpoint takes {_FORM}")
    return _form(await request.body())


TokenFormDep = Annotated[dict[str, str], Depends(_token_form)]


@router.post(
    "/oauth/token",
    summary="Trade a signed client assertion for a 5-minute access token",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "client_assertion_type", "client_assertion"],
                        "properties": {name: {"type": "string"} for name in _FIELDS},
                    }
                }
            },
        }
    },
)
def token(
    request: Request, form: TokenFormDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    issuer = settings.effective_public_url
    base = str(request.base_url).rstrip("/")
    audiences = {issuer, f"{issuer}/oauth/token", base, f"{base}/oauth/token"}
    issuer_service = TokenIssuer(
        SqlIdentityRepository(session),
        signing_key=request.app.state.lazy_hub_keys.keys().signing_key,
        issuer=issuer,
        clock=request.app.state.clock,
    )
    access = issuer_service.exchange(
        grant_type=form.get("grant_type", ""),
        client_assertion_type=form.get("client_assertion_type", ""),
        client_assertion=form.get("client_assertion", ""),
        scope=form.get("scope"),
        audiences=audiences,
    )
    return access.as_oauth_response(request.app.state.clock.now())
