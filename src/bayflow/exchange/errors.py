"""Errors raised by :mod:`bayflow.exchange`.

::

    InvalidInput (bayflow.errors)
    └── InvalidProduct             a data product's description is ill-formed
    PermissionDenied (bayflow.errors)
    └── TransferRefused            the cross-boundary transfer gate said no
    StoreUnavailable (bayflow.errors)
    └── ProviderUnavailable        the provider did not answer in time
    VerificationFailed (bayflow.errors)
    └── PayloadRejected            a provider's answer failed the hub's checks
"""

from __future__ import annotations

from bayflow.errors import InvalidInput, PermissionDenied, StoreUnavailable, VerificationFailed

__all__ = ["InvalidProduct", "PayloadRejected", "ProviderUnavailable", "TransferRefused"]


class InvalidProduct(InvalidInput):
    slug = "invalid-product"
    title = "Invalid data product"


class TransferRefused(PermissionDenied):
    slug = "transfer-refused"
    title = "Cross-boundary transfer refused"


class ProviderUnavailable(StoreUnavailable):
    slug = "provider-unavailable"
    title = "Data provider unavailable"


class PayloadRejected(VerificationFailed):
    slug = "payload-rejected"
    title = "Provider payload rejected"
