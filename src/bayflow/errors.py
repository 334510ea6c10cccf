"""One exception hierarchy for Bayflow.

Every error a user can cause or meet is a :class:`BayflowError`. Each class carries a stable
problem ``type`` slug (used in RFC 9457 ``application/problem+json`` answers) and the exit code
the CLI gives it; ``bayflow.api.errors`` maps classes to HTTP statuses in one table. The HTTP
status and exit code each class gets::

    BayflowError
    ├── ConfigurationError        settings or files on disk are unusable        (500, exit 78)
    ├── InvalidInput              the caller sent something malformed           (422, exit 65)
    │   └── InvalidIdentifier     a registry identifier fails its check
    ├── NotFound                  no such thing, or not visible to the caller   (404, exit 66)
    ├── Conflict                  the request contradicts the current state     (409, exit 75)
    ├── AuthenticationFailed      who the caller is could not be established    (401, exit 77)
    ├── PermissionDenied          the caller is known but may not do this       (403, exit 77)
    ├── VerificationFailed        a signature, proof or commitment does not hold (422, exit 1)
    └── StoreUnavailable          the database cannot be reached or is behind   (503, exit 69)

Domain packages subclass these in their own ``errors.py`` (``ledger.errors.InclusionProofInvalid``
is a ``VerificationFailed``), so the tables in ``api.errors`` and ``cli`` cover them by
inheritance. Verification raises one of these; it never returns a bare ``False``.

:class:`DevelopmentModeWarning` is not an error: in-memory and ``Null…`` backends emit it so that
they cannot slip into production unnoticed.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthenticationFailed",
    "BayflowError",
    "ConfigurationError",
    "Conflict",
    "DevelopmentModeWarning",
    "InvalidIdentifier",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "StoreUnavailable",
    "VerificationFailed",
]


class BayflowError(Exception):
    """The root of every error Bayflow raises on purpose.

    ``message`` is one line a user can act on. ``detail`` is optional further context for
    ``diagnostics()``; it must never hold secrets or another party's data.
    """

    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "Bayflow error"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    @property
    def problem_type(self) -> str:
        """The RFC 9457 ``type``: a stable URI naming this kind of problem."""
        return f"urn:bayflow:problem:{self.slug}"

    def diagnostics(self) -> str:
        """A longer explanation for ``--debug`` output and logs."""
        if self.detail:
            return f"{self.message}\n\n{self.detail}"
        return self.message


class ConfigurationError(BayflowError):
    slug = "configuration"
    title = "Configuration error"
    exit_code = 78  # EX_CONFIG


class InvalidInput(BayflowError):
    slug = "invalid-input"
    title = "Invalid input"
    exit_code = 65  # EX_DATAERR


class InvalidIdentifier(InvalidInput):
    """A registry identifier (USCC, BRN, LEI, ID card number…) failed a named check."""

    slug = "invalid-identifier"
    title = "Invalid identifier"


class NotFound(BayflowError):
    slug = "not-found"
    title = "Not found"
    exit_code = 66  # EX_NOINPUT


class Conflict(BayflowError):
    slug = "conflict"
    title = "Conflict"
    exit_code = 75  # EX_TEMPFAIL


class AuthenticationFailed(BayflowError):
    slug = "unauthenticated"
    title = "Authentication required"
    exit_code = 77  # EX_NOPERM


class PermissionDenied(BayflowError):
    slug = "forbidden"
    title = "Permission denied"
    exit_code = 77  # EX_NOPERM


class VerificationFailed(BayflowError):
    """A signature, proof, commitment or policy check did not hold."""

    slug = "verification-failed"
    title = "Verification failed"
    exit_code = 1


class StoreUnavailable(BayflowError):
    slug = "store-unavailable"
    title = "Database unavailable"
    exit_code = 69  # EX_UNAVAILABLE


class DevelopmentModeWarning(UserWarning):
    """Emitted by backends that are fine for tests and demos but unsafe in production."""
