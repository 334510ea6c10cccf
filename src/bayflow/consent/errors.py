"""Errors raised by :mod:`bayflow.consent`.

::

    InvalidInput (bayflow.errors)
    └── InvalidConsent             consent terms or an event are ill-formed
    Conflict (bayflow.errors)
    └── TransitionNotAllowed       the consent's state does not allow that action
    PermissionDenied (bayflow.errors)
    └── ConsentNotUsable           a data request is outside what the consent allows
        ├── ConsentInactive        not active now (requested, paused, revoked, expired…)
        ├── ProductNotInScope      the product is not one the consent names
        ├── DateRangeOutside       the requested dates are outside the consent's range
        └── FrequencyExceeded      the fetch limit for the period is used up
    VerificationFailed (bayflow.errors)
    └── ConsentSignatureInvalid    an event's signature or signer does not hold
"""

from __future__ import annotations

from bayflow.errors import Conflict, InvalidInput, PermissionDenied, VerificationFailed

__all__ = [
    "ConsentInactive",
    "ConsentNotUsable",
    "ConsentSignatureInvalid",
    "DateRangeOutside",
    "FrequencyExceeded",
    "InvalidConsent",
    "ProductNotInScope",
    "TransitionNotAllowed",
]


class InvalidConsent(InvalidInput):
    slug = "invalid-consent"
    title = "Invalid consent"


class TransitionNotAllowed(Conflict):
    slug = "consent-transition-not-allowed"
    title = "Consent transition not allowed"


class ConsentNotUsable(PermissionDenied):
    slug = "consent-not-usable"
    title = "The consent does not allow this request"


class ConsentInactive(ConsentNotUsable):
    slug = "consent-inactive"
    title = "Consent not active"


class ProductNotInScope(ConsentNotUsable):
    slug = "consent-product-not-in-scope"
    title = "Product not in the consent"


class DateRangeOutside(ConsentNotUsable):
    slug = "consent-date-range-outside"
    title = "Dates outside the consent"


class FrequencyExceeded(ConsentNotUsable):
    slug = "consent-frequency-exceeded"
    title = "Fetch limit reached"


class ConsentSignatureInvalid(VerificationFailed):
    slug = "consent-signature-invalid"
    title = "Consent signature invalid"
