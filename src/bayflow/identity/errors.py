"""Errors raised by :mod:`bayflow.identity` (Corp ID).

::

    InvalidInput (bayflow.errors)
    └── InvalidOrganisation        an organisation's details are inconsistent
    NotFound (bayflow.errors)
    └── UnknownKey                 no key with this id is registered
    AuthenticationFailed (bayflow.errors)
    ├── InvalidClientAssertion     an RFC 7523 client assertion was refused
    └── InvalidAccessToken         a bearer token is malformed, forged or expired
    PermissionDenied (bayflow.errors)
    ├── MandateNotSatisfied        these signers may not bind the organisation for this action
    └── InsufficientScope          the token lacks a scope the call needs

Further classes are appended below by the credential and PDF modules.
"""

from __future__ import annotations

from bayflow.errors import AuthenticationFailed, InvalidInput, NotFound, PermissionDenied

__all__ = [
    "InsufficientScope",
    "InvalidAccessToken",
    "InvalidClientAssertion",
    "InvalidOrganisation",
    "MandateNotSatisfied",
    "UnknownKey",
]


class InvalidOrganisation(InvalidInput):
    slug = "invalid-organisation"
    title = "Invalid organisation details"


class UnknownKey(NotFound):
    slug = "unknown-key"
    title = "Unknown key"


class InvalidClientAssertion(AuthenticationFailed):
    slug = "invalid-client-assertion"
    title = "Client assertion refused"


class InvalidAccessToken(AuthenticationFailed):
    slug = "invalid-access-token"
    title = "Invalid access token"


class MandateNotSatisfied(PermissionDenied):
    """The signers do not satisfy any mandate in force; ``reasons`` says why for each."""

    slug = "mandate-not-satisfied"
    title = "Signing mandate not satisfied"

    def __init__(self, message: str, *, reasons: list[str] | None = None) -> None:
        self.reasons = reasons or []
        super().__init__(message, detail="\n".join(self.reasons) or None)


class InsufficientScope(PermissionDenied):
    slug = "insufficient-scope"
    title = "Insufficient scope"
