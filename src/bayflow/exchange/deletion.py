"""Deletion receipts: a consumer's signed statement that it purged what it received.

When the data life a consent grants runs out, the consumer's client deletes the payload and
signs a receipt naming the request, the consent and the SHA-256 of the ciphertext it had
received (the same digest the hub recorded at delivery), so the data owner can match the two.
The hub checks the signature and anchors the receipt's digest in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from bayflow.crypto.errors import CryptoError
from bayflow.crypto.jose import CompactJWS, PrivateJWK, PublicJWK, sign_jwt
from bayflow.errors import InvalidInput
from bayflow.exchange.errors import DeletionReceiptInvalid

__all__ = ["DELETION_TYP", "DeletionReceipt", "sign_deletion", "verify_deletion"]

DELETION_TYP: Final = "bayflow-deletion+jwt"


@dataclass(frozen=True, slots=True)
class DeletionReceipt:
    request_id: str
    consent_id: str
    consumer: str
    actor: str
    ciphertext_sha256: str
    deleted_at: datetime

    def claims(self) -> dict[str, Any]:
        return {
            "type": "bayflow-deletion-receipt/1",
            "request": self.request_id,
            "consent": self.consent_id,
            "consumer": self.consumer,
            "actor": self.actor,
            "ciphertext_sha256": self.ciphertext_sha256,
            "deleted_at": int(self.deleted_at.timestamp()),
        }


def sign_deletion(receipt: DeletionReceipt, key: PrivateJWK) -> str:
    return sign_jwt(key, receipt.claims(), typ=DELETION_TYP)


def verify_deletion(token: str, resolve: Callable[[str], tuple[PublicJWK, str]]) -> DeletionReceipt:
    """Verify a deletion receipt; ``resolve`` maps the ``kid`` to (key, owning person id)."""
    try:
        jws = CompactJWS.parse(token)
        jws.check_typ(DELETION_TYP)
    except CryptoError as exc:
        raise InvalidInput(f"not a deletion receipt: {exc.message}") from exc
    if jws.kid is None:
        raise DeletionReceiptInvalid("the receipt names no key")
    key, owner = resolve(jws.kid)
    try:
        jws.verify(key)
        claims = jws.claims()
    except CryptoError as exc:
        raise DeletionReceiptInvalid(
            f"the receipt's signature does not hold: {exc.message}"
        ) from exc
    if claims.get("type") != "bayflow-deletion-receipt/1":
        raise InvalidInput("not a version 1 deletion receipt")
    try:
        receipt = DeletionReceipt(
            request_id=str(claims["request"]),
            consent_id=str(claims["consent"]),
            consumer=str(claims["consumer"]),
            actor=str(claims["actor"]),
            ciphertext_sha256=str(claims["ciphertext_sha256"]),
            deleted_at=datetime.fromtimestamp(int(claims["deleted_at"]), tz=UTC),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the deletion receipt is malformed: {exc}") from exc
    if receipt.actor != owner:
        raise DeletionReceiptInvalid("the receipt is signed by someone other than its actor")
    return receipt
