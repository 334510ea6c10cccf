"""Key files: how a person's private keys live on their machine.

A key file is a small JSON document, readable only by its owner (mode 0600)::

    {
      "type": "bayflow-key/1",
      "hub": "http://127.0.0.1:8000",
      "organisation": "org_…",
      "person": "per_…",
      "person_key": {"alg": "Ed25519", "kid": "…", "seed": "<base64url>"},
      "organisation_key": {"alg": "Ed25519", "kid": "…", "seed": "<base64url>"}
    }

``person_key`` authenticates the person (RFC 7523 client assertions) and signs as them.
``organisation_key`` signs as the organisation (a provider's payloads, receipts); only an
organisation's administrators hold it, so it is optional. ``encryption_key`` (X25519, RFC 7748)
is what providers seal payloads to (HPKE, RFC 9180); it is made the first time the holder
fetches data. The private parts never leave the file: the hub is only ever sent public keys.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayflow.crypto import hpke
from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.jwt import b64url_decode, b64url_encode, ed25519_thumbprint
from bayflow.errors import ConfigurationError, InvalidInput

__all__ = ["KEY_FILE_TYPE", "EncryptionKey", "KeyFile", "KeyPair"]

KEY_FILE_TYPE = "bayflow-key/1"


@dataclass(frozen=True)
class KeyPair:
    signing_key: SigningKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(SigningKey.generate())

    @property
    def public_key(self) -> bytes:
        return self.signing_key.public_key

    @property
    def kid(self) -> str:
        return ed25519_thumbprint(self.public_key)

    def to_json(self) -> dict[str, str]:
        return {"alg": "Ed25519", "kid": self.kid, "seed": b64url_encode(self.signing_key.seed)}

    @classmethod
    def from_json(cls, data: Any, what: str) -> KeyPair:
        if not isinstance(data, dict) or data.get("alg") != "Ed25519":
            raise InvalidInput(f"key file: {what} is not an Ed25519 key")
        seed = data.get("seed")
        if not isinstance(seed, str):
            raise InvalidInput(f"key file: {what} has no seed")
        pair = cls(SigningKey.from_seed(b64url_decode(seed)))
        if data.get("kid") != pair.kid:
            raise InvalidInput(f"key file: {what} kid does not match its key")
        return pair


@dataclass(frozen=True)
class EncryptionKey:
    """An X25519 key pair for receiving HPKE-sealed payloads."""

    private_key: hpke.PrivateKey

    @classmethod
    def generate(cls) -> EncryptionKey:
        return cls(hpke.PrivateKey.generate())

    @property
    def public_key(self) -> hpke.PublicKey:
        return self.private_key.public_key

    @property
    def kid(self) -> str:
        # RFC 7638 thumbprint of the OKP X25519 JWK (RFC 8037 §2).
        x = b64url_encode(self.public_key.to_bytes())
        canonical = '{"crv":"X25519","kty":"OKP","x":"' + x + '"}'
        return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())

    def to_json(self) -> dict[str, str]:
        return {
            "alg": "X25519",
            "kid": self.kid,
            "seed": b64url_encode(self.private_key.to_bytes()),
        }

    @classmethod
    def from_json(cls, data: Any) -> EncryptionKey:
        if not isinstance(data, dict) or data.get("alg") != "X25519":
            raise InvalidInput("key file: encryption_key is not an X25519 key")
        seed = data.get("seed")
        if not isinstance(seed, str):
            raise InvalidInput("key file: encryption_key has no seed")
        key = cls(hpke.PrivateKey.from_bytes(b64url_decode(seed)))
        if data.get("kid") != key.kid:
            raise InvalidInput("key file: encryption_key kid does not match its key")
        return key


@dataclass(frozen=True)
class KeyFile:
    hub: str
    organisation: str
    person: str
    person_key: KeyPair
    organisation_key: KeyPair | None = None
    encryption_key: EncryptionKey | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": KEY_FILE_TYPE,
            "hub": self.hub,
            "organisation": self.organisation,
            "person": self.person,
            "person_key": self.person_key.to_json(),
        }
        if self.organisation_key is not None:
            data["organisation_key"] = self.organisation_key.to_json()
        if self.encryption_key is not None:
            data["encryption_key"] = self.encryption_key.to_json()
        return data

    @classmethod
    def from_json(cls, data: Any) -> KeyFile:
        if not isinstance(data, dict) or data.get("type") != KEY_FILE_TYPE:
            raise InvalidInput(f"not a Bayflow key file (expected type {KEY_FILE_TYPE})")
        for field in ("hub", "organisation", "person"):
            if not isinstance(data.get(field), str):
                raise InvalidInput(f"key file: missing {field}")
        org_key = data.get("organisation_key")
        enc_key = data.get("encryption_key")
        return cls(
            hub=data["hub"],
            organisation=data["organisation"],
            person=data["person"],
            person_key=KeyPair.from_json(data.get("person_key"), "person_key"),
            organisation_key=(
                KeyPair.from_json(org_key, "organisation_key") if org_key is not None else None
            ),
            encryption_key=EncryptionKey.from_json(enc_key) if enc_key is not None else None,
        )

    def write(self, path: Path, *, overwrite: bool = False) -> None:
        """Write the file readable by its owner only; refuses to replace one unless told."""
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError as exc:
            raise InvalidInput(f"{path} exists: refusing to overwrite a key file") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")

    @classmethod
    def read(cls, path: Path) -> KeyFile:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"key file {path} is not JSON") from exc
        return cls.from_json(data)
