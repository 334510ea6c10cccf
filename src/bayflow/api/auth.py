"""Who is calling: bearer access tokens checked at the edge.

Routes take :data:`PrincipalDep` (any valid token) and call ``principal.require(scope)``.
A missing or bad token is a 401 with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3).

The check is one Ed25519 verification and no I/O, so it runs on the event loop: a synchronous
dependency would cost every authenticated request a hop to the thread pool and back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bayflow.errors import AuthenticationFailed
from bayflow.identity.auth import Principal, TokenVerifier

__all__ = ["PrincipalDep", "get_principal"]


async def get_principal(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationFailed("this call needs a bearer access token from /oauth/token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("the Authorization header must be 'Bearer <access token>'")
    state = request.app.state
    verifier: TokenVerifier = state.lazy_hub_keys.token_verifier(state.issuer, state.clock)
    principal = verifier.verify(token.strip())
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
