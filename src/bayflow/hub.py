"""The hub's own identity: its signing key and its operator, created on first start.

On first start the hub makes an Ed25519 key (``keys/hub.key``, signing its access tokens and
credentials) and registers its operator as an organisation, writing the operator
administrator's key file to ``operator.key`` in the data directory. It also makes the
ledger's log key (``keys/ledger.skey``, a c2sp.org/signed-note private key named for the
ledger's origin), which signs every checkpoint. Later starts load them.
Several worker processes may start at once, so the work happens under a file lock and checks
again inside it.

The first start also creates the hub's organisational CA and its RFC 3161 time-stamp authority
under ``keys/ca/``: the CA certifies participants' PAdES signing keys, the TSA time-stamps
their signatures (:func:`open_signing_authorities`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from bayflow.clock import Clock, SystemClock
from bayflow.config import Settings
from bayflow.crypto.ed25519 import SEED_SIZE, SigningKey
from bayflow.crypto.jwt import ed25519_thumbprint
from bayflow.crypto.pki import CertifiedKey, OrganisationalCA
from bayflow.crypto.tsa import TimestampAuthority
from bayflow.errors import ConfigurationError
from bayflow.identity.keyfile import KeyFile, KeyPair
from bayflow.identity.models import City, Jurisdiction, RegistryIdentifiers
from bayflow.identity.service import IdentityService
from bayflow.ledger.cosignature import CosignatureVerifier
from bayflow.ledger.errors import LedgerError
from bayflow.ledger.note import Ed25519Signer
from bayflow.ledger.service import LogPolicy
from bayflow.logs import get_logger
from bayflow.store import Database
from bayflow.store.identity import SqlIdentityRepository

__all__ = [
    "HubKeys",
    "SigningAuthorities",
    "bootstrap",
    "ca_directory",
    "load_hub_keys",
    "open_signing_authorities",
]

_log = get_logger("bayflow.hub")

_TSA_KEY_FILE: Final = "tsa-key.pem"
_TSA_CERTIFICATE_FILE: Final = "tsa-cert.pem"


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


def ledger_key_path(settings: Settings) -> Path:
    return settings.keys_dir / "ledger.skey"


def _create_ledger_key(settings: Settings) -> None:
    path = ledger_key_path(settings)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = Ed25519Signer.generate(settings.ledger_origin)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"{signer.skey}\n")
    _log.info("created the ledger's log key", path=str(path), vkey=signer.verifier().vkey)


def load_log_policy(settings: Settings) -> LogPolicy:
    """The ledger's log key and witness policy, from the key file and the settings.

    The key is named for the origin it signs (tlog-checkpoint), so a key made for one origin
    is refused under another: changing the origin would silently start a different log.
    """
    path = ledger_key_path(settings)
    try:
        signer = Ed25519Signer.from_skey(path.read_text(encoding="ascii").strip())
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"the ledger has no log key at {path}: start the hub with `bayflow serve` once"
        ) from exc
    except (LedgerError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path} is not a signed-note private key") from exc
    if signer.name != settings.ledger_origin:
        raise ConfigurationError(
            f"the log key {path} signs for {signer.name!r}, but BAYFLOW_LEDGER_ORIGIN is "
            f"{settings.ledger_origin!r}"
        )
    try:
        witnesses = tuple(CosignatureVerifier.from_vkey(key) for key in settings.witness_keys)
    except LedgerError as exc:
        raise ConfigurationError(f"BAYFLOW_WITNESS_KEYS: {exc.message}") from exc
    return LogPolicy(signer, witnesses, settings.effective_witness_quorum)


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


@dataclass(frozen=True)
class SigningAuthorities:
    """The hub's organisational CA and the time-stamp authority it certified."""

    ca: OrganisationalCA
    tsa: TimestampAuthority


def ca_directory(settings: Settings) -> Path:
    """Where the CA and TSA keys and certificates live: ``keys/ca/`` in the data directory."""
    return settings.keys_dir / "ca"


def _open_signing_authorities(settings: Settings, now: datetime) -> SigningAuthorities:
    directory = ca_directory(settings)
    ca = OrganisationalCA.open(directory, now=now, organisation=settings.operator_name)
    key_path, certificate_path = directory / _TSA_KEY_FILE, directory / _TSA_CERTIFICATE_FILE
    if not key_path.exists() and not certificate_path.exists():
        issued = ca.issue_timestamping_certificate(now=now)
        _write_new(key_path, issued.key.to_pem(), mode=0o600)
        _write_new(certificate_path, issued.certificates_pem, mode=0o644)
        _log.info("created the hub's time-stamp authority", directory=str(directory))
    try:
        certified = CertifiedKey.from_pem(key_path.read_bytes(), certificate_path.read_bytes())
    except FileNotFoundError as exc:
        # Half a TSA is refused, not repaired: replacing its key silently would hide a problem.
        raise ConfigurationError(f"the time-stamp authority is incomplete: {exc.filename}") from exc
    if certified.chain[-1:] != (ca.certificate,):
        raise ConfigurationError(f"{certificate_path} was not issued by the hub's CA")
    if certified.certificate.not_valid_after_utc <= now:
        raise ConfigurationError(
            f"the time-stamp certificate in {certificate_path} has expired: move {_TSA_KEY_FILE} "
            f"and {_TSA_CERTIFICATE_FILE} aside and restart the hub to issue a new one"
        )
    return SigningAuthorities(ca, TimestampAuthority(certified))


def open_signing_authorities(settings: Settings, now: datetime) -> SigningAuthorities:
    """Load the CA and TSA under ``keys/ca/``, creating both on first use.

    Safe to call from several workers at once: creation happens under the bootstrap lock.
    """
    with _locked(settings.data_dir):
        return _open_signing_authorities(settings, now)


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    # O_EXCL with the final mode: a key is never readable by others, and never replaced.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def bootstrap(settings: Settings, database: Database, clock: Clock | None = None) -> HubKeys:
    """Create what a first start needs (idempotent); return the hub's keys.

    Needs a migrated database.
    """
    clock = clock or SystemClock()
    with _locked(settings.data_dir):
        _create_hub_key(settings)
        _create_ledger_key(settings)
        _create_operator(settings, database, clock)
        _open_signing_authorities(settings, clock.now())
    return load_hub_keys(settings)
