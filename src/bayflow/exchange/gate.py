"""The cross-boundary transfer gate: may this data leave where it is for where it is going?

The exchange asks a :class:`TransferGate` before routing every request. The compliance rules
engine (``bayflow.compliance``) is the real gate; until it is plugged in, a hub runs with
:class:`UnsafeOpenGate`, which allows everything and says so in a warning on every use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bayflow.errors import DevelopmentModeWarning
from bayflow.identity.models import City, Jurisdiction

__all__ = ["Transfer", "TransferGate", "UnsafeOpenGate"]


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


class TransferGate(Protocol):
    def check(self, transfer: Transfer, *, now: datetime) -> None:
        """Return if the transfer may go ahead; raise ``TransferRefused`` saying why not."""
        ...


class UnsafeOpenGate:
    """Allows every transfer. For development until the compliance engine is configured."""

    def __init__(self) -> None:
        warnings.warn(
            "UnsafeOpenGate: cross-boundary transfers are not checked",
            DevelopmentModeWarning,
            stacklevel=2,
        )

    def check(self, transfer: Transfer, *, now: datetime) -> None:
        del now
        if transfer.crosses_boundary:
            warnings.warn(
                f"UnsafeOpenGate let {transfer.product} cross from "
                f"{transfer.exporter_jurisdiction} to {transfer.recipient_jurisdiction} unchecked",
                DevelopmentModeWarning,
                stacklevel=2,
            )
