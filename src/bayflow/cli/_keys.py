"""Reading note keys given on the command line: a vkey itself, or a file holding one."""

from __future__ import annotations

import os
from pathlib import Path

from bayflow.errors import ConfigurationError, InvalidInput
from bayflow.ledger.cosignature import CosignatureSigner, CosignatureVerifier
from bayflow.ledger.note import Ed25519Verifier

__all__ = ["read_log_key", "read_witness_key", "read_witness_signer", "write_secret"]


def _key_text(value: str, what: str) -> str:
    """``value`` if it is a key, else the one line of the file it names.

    A vkey always holds two ``+`` and a file path rarely does; an existing file wins, so a
    file named like a key is still read.
    """
    path = Path(value)
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").split()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read {what} from {path}: {exc}") from exc
        if len(lines) != 1:
            raise InvalidInput(f"{path} must hold exactly one {what}")
        return lines[0]
    if value.count("+") < 2:
        raise InvalidInput(f"{value!r} is neither a {what} nor a file holding one")
    return value


def read_log_key(value: str) -> Ed25519Verifier:
    """A log's Ed25519 verifier key (signed-note type 0x01), given inline or as a file."""
    return Ed25519Verifier.from_vkey(_key_text(value, "log verifier key"))


def read_witness_key(value: str) -> CosignatureVerifier:
    """A witness's cosignature verifier key (type 0x04), given inline or as a file."""
    return CosignatureVerifier.from_vkey(_key_text(value, "witness verifier key"))


def read_witness_signer(path: Path) -> CosignatureSigner:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read witness key file {path}: {exc.strerror}") from exc
    return CosignatureSigner.from_skey(text)


def write_secret(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only; never replace an existing one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{path} exists: refusing to overwrite it") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
