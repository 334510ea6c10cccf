"""The hub's own identity: its signing key and its operator, created on first start.

On first start the hub makes an Ed25519 key (``keys/hub.key``, signing its access tokens and
credentials) and registers its operator as an organisation, writing the operator
administrator's key file to ``operator.key`` in the data directory. Later starts load them.
Several worker processes may start at once, so the work happens under a file lock and checks
again inside it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bayflow.clock import Clock, SystemClock
from bayflow.config import Settings
from bayflow.crypto.ed25519 import SEED_SIZE, SigningKey
from bayflow.crypto.jwt import ed25519_thumbprint
from bayflow.errors import ConfigurationError
from bayflow.identity.keyfile import KeyFile, KeyPair
from bayflow.identity.models import City, Jurisdiction, RegistryIdentifiers
from bayflow.identity.service import IdentityService
from bayflow.logs import get_logger
from bayflow.store import Database
from bayflow.store.identity import SqlIdentityRepository

__all__ = ["HubKeys", "bootstrap", "load_hub_keys"]

_log = get_logger("bayflow.hub")


@dataclass(frozen=True)
class HubKeys:
    signing_key: SigningKey

    @property
    def kid(self) -> str:
        return ed25519_thumbprint(self.signing_key.public_key)

    @property
    def public_keys(self) -> dict[str, bytes]:
        return {self.kid: self.signing_key.public_key}


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / ".bootstrap.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _hub_key_path(settings: Settings) -> Path:
    return settings.keys_dir / "hub.key"


def load_hub_keys(settings: Settings) -> HubKeys:
    path = _hub_key_path(settings)
    try:
        seed = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"the hub has no signing key at {path}: start it with `bayflow serve` once"
        ) from exc
    if len(seed) != SEED_SIZE:
        raise ConfigurationError(f"{path} is not an Ed25519 seed ({SEED_SIZE} bytes)")
    return HubKeys(SigningKey.from_seed(seed))


def _create_hub_key(settings: Settings) -> None:
    path = _hub_key_path(settings)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(SigningKey.generate().seed)
    _log.info("created the hub signing key", path=str(path))


def _create_operator(settings: Settings, database: Database, clock: Clock) -> None:
    with database.transaction() as session:
        service = IdentityService(SqlIdentityRepository(session), clock)
        if service.operator() is not None:
            return
        admin, org_key = KeyPair.generate(), KeyPair.generate()
        registration = service.register_organisation(
            legal_name_en=settings.operator_name,
            legal_name_zh=None,
            jurisdiction=Jurisdiction.HK,
            city=City.HONG_KONG,
            identifiers=RegistryIdentifiers(),
            administrator_name="Hub operator",
            administrator_name_zh=None,
            administrator_public_key=admin.public_key,
            organisation_public_key=org_key.public_key,
            is_operator=True,
        )
        # Written inside the transaction: if the file cannot be written, no operator exists
        # without a key to act as it.
        KeyFile(
            hub=settings.effective_public_url,
            organisation=registration.organisation.id,
            person=registration.administrator.id,
            person_key=admin,
            organisation_key=org_key,
        ).write(settings.operator_key_file, overwrite=True)
    _log.info(
        "created the hub operator",
        organisation=registration.organisation.id,
        key_file=str(settings.operator_key_file),
    )


def bootstrap(settings: Settings, database: Database, clock: Clock | None = None) -> HubKeys:
    """Create what a first start needs (idempotent); return the hub's keys.

    Needs a migrated database.
    """
    with _locked(settings.data_dir):
        _create_hub_key(settings)
        _create_operator(settings, database, clock or SystemClock())
    return load_hub_keys(settings)
