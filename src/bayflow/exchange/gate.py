"""The cross-boundary transfer gate: may this data leave where it is for where it is going?

The exchange asks a :class:`TransferGate` before routing every request. The compliance rules
engine (``bayflow.compliance``) is the real gate; until it is plugged in, a hub runs with
:class:`UnsafeOpenGate`, which allows everything and says so in a warning on every use.

A gate that takes a decision returns it as a :class:`GateDecision`; the exchange stores it
(:class:`DecisionLog`) and anchors its digest in the ledger in the request's own transaction,
and names it in the request's journal entry.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bayflow.errors import DevelopmentModeWarning
from bayflow.identity.models import City, Jurisdiction

__all__ = ["DecisionLog", "GateDecision", "Transfer", "TransferGate", "UnsafeOpenGate"]


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a gate decides on: who sends what to whom, from where to where, and why."""

    exporter: str
    exporter_jurisdiction: Jurisdiction
    exporter_city: City
    recipient: str
    recipient_jurisdiction: Jurisdiction
    recipient_city: City
    data_owner: str
    product: str
    personal_information: bool
    sensitive_categories: frozenset[str]
    purpose_code: str

    @property
    def crosses_boundary(self) -> bool:
        return self.exporter_jurisdiction is not self.recipient_jurisdiction


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The decision a gate took to allow a transfer, as the exchange records it.

    ``body`` is the decision document's canonical bytes; the ledger anchors their SHA-256 under
    ``schema`` and ``issuer``. ``basis`` says in a line which route (rules, contract) let the
    transfer go, for the access journal.
    """

    id: str
    body: bytes
    schema: str
    issuer: str
    exporter: str
    recipient: str
    verdict: str
    rules_version: str
    decided_at: datetime
    basis: str

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.body).digest()


class DecisionLog(Protocol):
    def record(self, decision: GateDecision) -> None:
        """Keep a gate's decision, in the caller's transaction."""
        ...


class TransferGate(Protocol):
    def check(self, transfer: Transfer, *, now: datetime) -> GateDecision | None:
        """Return if the transfer may go ahead; raise ``TransferRefused`` saying why not.

        The answer is the decision taken, or ``None`` when the gate decided nothing to record.
        """
        ...


class UnsafeOpenGate:
    """Allows every transfer. For development until the compliance engine is configured."""

    def __init__(self) -> None:
        warnings.warn(
            "UnsafeOpenGate: cross-boundary transfers are not checked",
            DevelopmentModeWarning,
            stacklevel=2,
        )

    def check(self, transfer: Transfer, *, now: datetime) -> GateDecision | None:
        del now
        if transfer.crosses_boundary:
            warnings.warn(
                f"UnsafeOpenGate let {transfer.product} cross from "
                f"{transfer.exporter_jurisdiction} to {transfer.recipient_jurisdiction} unchecked",
                DevelopmentModeWarning,
                stacklevel=2,
            )
        return None
