"""Anchoring from other capabilities: consent events, receipts, decisions.

The consent and exchange services anchor through the small ``EventAnchor`` seam
(:mod:`bayflow.consent.interfaces`); :class:`LedgerAnchor` is that seam backed by the ledger
service, writing the entry in the caller's own transaction, so "record the event + anchor it"
commits or fails as one.
"""

from __future__ import annotations

from bayflow.ledger.entry import EntryKind
from bayflow.ledger.service import Commitment, LedgerService

__all__ = ["LedgerAnchor"]


class LedgerAnchor:
    def __init__(self, service: LedgerService) -> None:
        self._service = service

    def anchor(self, *, kind: EntryKind, digest: bytes, schema: str, issuer: str) -> None:
        self._service.anchor([Commitment(kind, digest, schema)], issuer=issuer)
