"""Data requests: the hub's checks before it routes a consumer's request to a provider.

The hub never sees a payload. What it decides and records is whether a request may go, which
consent it went under, the transfer gate's decision (stored and anchored with the request),
and — once the provider answers — the digest of the ciphertext it relayed, the provider's
signature over it, and the receipt anchored in the ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bayflow.clock import Clock
from bayflow.consent.interfaces import EventAnchor, NoNotifier, Notifier
from bayflow.consent.models import ConsentTerms, ProductScope
from bayflow.consent.service import ConsentService
from bayflow.crypto.jose import PublicJWK
from bayflow.errors import Conflict, InvalidInput, NotFound
from bayflow.exchange.deletion import verify_deletion
from bayflow.exchange.errors import DeletionReceiptInvalid
from bayflow.exchange.gate import DecisionLog, Transfer, TransferGate
from bayflow.exchange.models import DataProduct
from bayflow.identity.models import KeyOwner, Organisation
from bayflow.identity.service import IdentityService
from bayflow.ids import new_id
from bayflow.ledger.entry import EntryKind

RECEIPT_SCHEMA = "bayflow-receipt/1"
DELETION_SCHEMA = "bayflow-deletion-receipt/1"

__all__ = [
    "DELETION_SCHEMA",
    "RECEIPT_SCHEMA",
    "Authorisation",
    "DataRequest",
    "ExchangeService",
    "ProductLookup",
    "RequestRepository",
    "RequestStatus",
]


class RequestStatus(StrEnum):
    ROUTED = "routed"  # checks passed, sent to the provider
    DELIVERED = "delivered"  # the provider's ciphertext was relayed
    FAILED = "failed"  # the provider did not answer, or answered badly


@dataclass(frozen=True, slots=True)
class DataRequest:
    id: str
    consent_id: str
    consent_version: int
    consumer: str
    consumer_person: str
    provider: str
    product: str
    data_from: datetime | None
    data_to: datetime | None
    status: RequestStatus
    created_at: datetime
    completed_at: datetime | None = None
    ciphertext_digest: bytes | None = None
    receipt: str | None = None
    failure: str | None = None
    deleted_at: datetime | None = None
    deletion_receipt: str | None = None
    # The transfer gate's decision this request went under, and the route it names.
    decision_id: str | None = None
    decision_digest: bytes | None = None
    decision_basis: str | None = None


@dataclass(frozen=True, slots=True)
class Authorisation:
    """A request the hub may route: the journalled request, what it is for, and whose data."""

    request: DataRequest
    product: DataProduct
    terms: ConsentTerms
    data_owner: Organisation


class RequestRepository(Protocol):
    def add(self, request: DataRequest) -> None: ...
    def update(self, request: DataRequest) -> None: ...
    def get(self, request_id: str) -> DataRequest | None: ...
    def count_since(self, consent_id: str, provider: str, product: str, since: datetime) -> int:
        """Requests under this consent for this product since ``since``, failed ones excluded."""
        ...

    def list_for_consent(self, consent_id: str) -> list[DataRequest]: ...


class ProductLookup(Protocol):
    def get(self, provider: str, product_id: str) -> DataProduct | None: ...


class ExchangeService:
    def __init__(
        self,
        requests: RequestRepository,
        products: ProductLookup,
        consents: ConsentService,
        *,
        identity: IdentityService,
        gate: TransferGate,
        decisions: DecisionLog,
        clock: Clock,
        anchor: EventAnchor,
        notifier: Notifier | None = None,
    ) -> None:
        self._requests = requests
        self._products = products
        self._consents = consents
        self._identity = identity
        self._gate = gate
        self._decisions = decisions
        self._clock = clock
        self._anchor = anchor
        self._notifier = notifier or NoNotifier()

    def authorise(
        self,
        *,
        caller_person: str,
        caller_org: str,
        consent_id: str,
        product: ProductScope,
        data_from: datetime | None = None,
        data_to: datetime | None = None,
    ) -> Authorisation:
        """Decide whether a consumer's request may be routed; record it if so.

        Each step raises the error that names what failed:

        1. the caller is a person of the consumer organisation;
        2. the consent exists, is this consumer's, and is active now;
        3. the product is one the consent names;
        4. the requested dates lie inside the consent's data range;
        5. the consent's fetch limit for the current window is not used up;
        6. the transfer gate allows the data to cross from provider to consumer;
        7. the request is recorded, so it counts against the limit (unless the provider fails),
           with the gate's decision, which is stored and its digest anchored in the ledger.
        """
        now = self._clock.now()
        # (1) The consumer's identity: a person of the organisation the token names.
        self._identity.person(caller_person, organisation_id=caller_org)
        # (2) The consent exists for this consumer and is active now.
        record = self._consents.in_force(consent_id, viewer_org=caller_org)
        if record.terms.consumer != caller_org:
            raise NotFound(f"no consent {consent_id}")
        found = self._products.get(product.provider, product.product)
        if found is None:
            raise NotFound(f"no data product {product.provider}/{product.product}")
        if data_from is not None and data_to is not None and data_from > data_to:
            raise InvalidInput("the requested date range ends before it starts")
        # (3)-(5) Product in scope, dates inside the consent's, frequency limit not reached.
        terms = record.terms
        window_start = terms.created_at
        if terms.frequency is not None:
            window_start = now - terms.frequency.unit.window
        used = self._requests.count_since(
            consent_id, product.provider, product.product, window_start
        )
        self._consents.require_usable(
            record,
            consumer=caller_org,
            product=product,
            data_from=data_from,
            data_to=data_to,
            fetches_in_window=used,
            now=now,
        )
        # (6) The cross-boundary transfer is allowed. (The owner is read in the same query, for
        # the provider, which finds the owner's records by its registry numbers.)
        parties = self._identity.organisations_by_id(
            (product.provider, caller_org, terms.data_owner)
        )
        provider, consumer = parties[product.provider], parties[caller_org]
        decision = self._gate.check(
            Transfer(
                exporter=provider.id,
                exporter_jurisdiction=provider.jurisdiction,
                exporter_city=provider.city,
                recipient=consumer.id,
                recipient_jurisdiction=consumer.jurisdiction,
                recipient_city=consumer.city,
                data_owner=terms.data_owner,
                product=found.id,
                personal_information=found.personal_information,
                sensitive_categories=found.sensitive_categories,
                purpose_code=terms.purpose_code,
            ),
            now=now,
        )
        # (7) Record it: it counts against the limit from now on, unless the provider fails.
        request = DataRequest(
            id=new_id("req"),
            consent_id=consent_id,
            consent_version=terms.version,
            consumer=caller_org,
            consumer_person=caller_person,
            provider=product.provider,
            product=product.product,
            data_from=data_from,
            data_to=data_to,
            status=RequestStatus.ROUTED,
            created_at=now,
            decision_id=decision.id if decision else None,
            decision_digest=decision.digest if decision else None,
            decision_basis=decision.basis if decision else None,
        )
        self._requests.add(request)
        if decision is not None:
            self._decisions.record(decision)
            self._anchor.anchor(
                kind=EntryKind.DECISION,
                digest=decision.digest,
                schema=decision.schema,
                issuer=decision.issuer,
            )
        return Authorisation(request, found, terms, parties[terms.data_owner])

    def delivered(
        self, request: DataRequest, *, ciphertext_digest: bytes, receipt: str, data_owner: str
    ) -> DataRequest:
        """Record a delivery and anchor its receipt (the provider's signed envelope header)."""
        done = replace(
            request,
            status=RequestStatus.DELIVERED,
            completed_at=self._clock.now(),
            ciphertext_digest=ciphertext_digest,
            receipt=receipt,
        )
        self._requests.update(done)
        receipt_digest = hashlib.sha256(receipt.encode("ascii")).digest()
        self._anchor.anchor(
            kind=EntryKind.ACCESS_RECEIPT,
            digest=receipt_digest,
            schema=RECEIPT_SCHEMA,
            issuer=request.provider,
        )
        payload: dict[str, object] = {
            "request": done.id,
            "consent": done.consent_id,
            "provider": done.provider,
            "product": done.product,
            "ciphertext_sha256": ciphertext_digest.hex(),
            "receipt_digest": receipt_digest.hex(),
        }
        self._notifier.notify(
            [(request.consumer, "data.ready"), (data_owner, "data.accessed")], payload
        )
        return done

    def record_deletion(self, request_id: str, receipt: str, *, caller_org: str) -> DataRequest:
        """Check and keep a consumer's signed deletion receipt, and anchor it."""
        request = self._requests.get(request_id)
        if request is None or request.consumer != caller_org:
            raise NotFound(f"no data request {request_id}")
        if request.status is not RequestStatus.DELIVERED or request.ciphertext_digest is None:
            raise InvalidInput(f"request {request_id} delivered nothing to delete")
        if request.deleted_at is not None:
            raise Conflict(f"request {request_id} already has a deletion receipt")

        def resolve(kid: str) -> tuple[PublicJWK, str]:
            key = self._identity.key_or_none(kid)
            if key is None or key.owner is not KeyOwner.PERSON:
                raise DeletionReceiptInvalid(f"key {kid} is not a registered person's key")
            if key.organisation_id != caller_org:
                raise DeletionReceiptInvalid("the receipt is signed outside the consumer")
            return PublicJWK.from_ed25519(key.public_key), key.owner_id

        statement = verify_deletion(receipt, resolve)
        expected = (request.id, request.consent_id, request.consumer)
        if (statement.request_id, statement.consent_id, statement.consumer) != expected:
            raise DeletionReceiptInvalid("the receipt is for another request")
        if statement.ciphertext_sha256 != request.ciphertext_digest.hex():
            raise DeletionReceiptInvalid("the receipt names another ciphertext than was delivered")
        done = replace(request, deleted_at=statement.deleted_at, deletion_receipt=receipt)
        self._requests.update(done)
        self._anchor.anchor(
            kind=EntryKind.DELETION_RECEIPT,
            digest=hashlib.sha256(receipt.encode("ascii")).digest(),
            schema=DELETION_SCHEMA,
            issuer=request.consumer,
        )
        return done

    def failed(self, request: DataRequest, reason: str) -> DataRequest:
        done = replace(
            request, status=RequestStatus.FAILED, completed_at=self._clock.now(), failure=reason
        )
        self._requests.update(done)
        return done

    def accesses(self, consent_id: str, *, viewer_org: str) -> Sequence[DataRequest]:
        """Every request made under a consent, for its owner, consumer and providers to see."""
        self._consents.get(consent_id, viewer_org=viewer_org)
        return self._requests.list_for_consent(consent_id)
