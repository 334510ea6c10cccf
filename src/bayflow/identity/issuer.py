"""The hub as a credential issuer: its key, its identifier and what it publishes.

The issuer key is a separate Ed25519 key from the one that signs access tokens
(``keys/credential-issuer.key`` beside ``keys/hub.key``). A verifier who trusts the issuer's
published key for credentials then trusts nothing else the hub signs, and either key can be
rotated without the other. The issuer identifier (``iss``) is the hub's public URL, so the
SD-JWT VC issuer metadata, with the issuer's JWK Set inline, sits where SD-JWT VC §5 looks
for it: ``{public URL}/.well-known/jwt-vc-issuer``. (``/.well-known/jwks.json`` is the other
key's: it verifies access tokens, not credentials.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bayflow.config import Settings
from bayflow.crypto.ed25519 import SEED_SIZE, SigningKey
from bayflow.crypto.jose import JWKSet, PrivateJWK, TrustedIssuers
from bayflow.errors import ConfigurationError

__all__ = ["ISSUER_KEY_FILE", "CredentialIssuer", "load_credential_issuer"]

ISSUER_KEY_FILE: Final = "credential-issuer.key"


@dataclass(frozen=True)
class CredentialIssuer:
    """Who signs credentials and status lists, and where they say their lists live."""

    key: PrivateJWK
    issuer: str

    def status_list_uri(self, list_id: int) -> str:
        return f"{self.issuer}/status-lists/{list_id}"

    @property
    def jwks(self) -> JWKSet:
        return JWKSet([self.key.public])

    @property
    def trusted(self) -> TrustedIssuers:
        """A key resolver trusting this issuer alone, for the hub's own verifications."""
        return TrustedIssuers({self.issuer: self.jwks})

    def metadata(self) -> dict[str, Any]:
        """The JWT VC Issuer Metadata document (SD-JWT VC §5.2) with the keys inline."""
        return {"issuer": self.issuer, "jwks": self.jwks.to_dict()}


def _key_path(settings: Settings) -> Path:
    return settings.keys_dir / ISSUER_KEY_FILE


def _create(path: Path) -> None:
    # Written whole under a private name, then linked into place: link() fails if the file
    # exists, so of several workers starting at once exactly one key wins, and no worker ever
    # reads a half-written one.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(SigningKey.generate().seed)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def load_credential_issuer(settings: Settings) -> CredentialIssuer:
    """The hub's credential issuer, creating its key on first use."""
    path = _key_path(settings)
    if not path.exists():
        _create(path)
    seed = path.read_bytes()
    if len(seed) != SEED_SIZE:
        raise ConfigurationError(f"{path} is not an Ed25519 seed ({SEED_SIZE} bytes)")
    key = PrivateJWK.from_signing_key(SigningKey.from_seed(seed))
    return CredentialIssuer(key, settings.effective_public_url)
