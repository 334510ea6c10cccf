"""Errors raised by :mod:`bayflow.exchange`.

::

    InvalidInput (bayflow.errors)
    └── InvalidProduct             a data product's description is ill-formed
    AuthenticationFailed (bayflow.errors)
    └── RoutedRequestInvalid       a provider got a request the hub did not sign for it
    PermissionDenied (bayflow.errors)
    └── TransferRefused            the cross-boundary transfer gate said no
    StoreUnavailable (bayflow.errors)
    └── ProviderUnavailable        the provider did not answer in time
    VerificationFailed (bayflow.errors)
    ├── PayloadRejected            a provider's answer failed the hub's checks
    └── WebhookRejected            a webhook delivery failed its receiver's checks
        ├── WebhookStale           its timestamp is outside the receiver's tolerance
        └── WebhookReplayed        its delivery id was seen before
"""

from __future__ import annotations

from bayflow.errors import (
    AuthenticationFailed,
    InvalidInput,
    PermissionDenied,
    StoreUnavailable,
    VerificationFailed,
)

__all__ = [
    "DeletionReceiptInvalid",
    "InvalidProduct",
    "PayloadRejected",
    "ProviderUnavailable",
    "TransferRefused",
    "WebhookRejected",
    "WebhookReplayed",
    "WebhookStale",
]


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


class WebhookRejected(VerificationFailed):
    """A webhook delivery is malformed, or its signature does not hold under the hub's keys."""

    slug = "webhook-rejected"
    title = "Webhook delivery rejected"


class WebhookStale(WebhookRejected):
    """A webhook delivery's signed timestamp is too far from the receiver's clock."""

    slug = "webhook-stale"
    title = "Webhook delivery outside the time tolerance"


class WebhookReplayed(WebhookRejected):
    """A webhook delivery id the receiver has already accepted.

    Either the hub retried a delivery whose answer was lost, or someone replays a captured one;
    the receiver has the message already in both cases.
    """

    slug = "webhook-replayed"
    title = "Webhook delivery replayed"


class RoutedRequestInvalid(AuthenticationFailed):
    slug = "routed-request-invalid"
    title = "Routed request refused"


class DeletionReceiptInvalid(VerificationFailed):
    slug = "deletion-receipt-invalid"
    title = "Deletion receipt invalid"
