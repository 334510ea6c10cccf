"""Hybrid Public Key Encryption (RFC 9180) for the one KEM and KDF Bayflow uses.

What this module implements, and what it leaves out:

- **KEM** DHKEM(X25519, HKDF-SHA256), ``0x0020`` (RFC 9180 §4.1, §7.1), with
  ``DeriveKeyPair`` (§7.1.3) and the all-zero shared-secret check of §7.1.4.
- **KDF** HKDF-SHA256, ``0x0001`` (§7.2), written here over :mod:`hmac` from RFC 5869: HPKE
  calls Extract and Expand with labelled inputs many times per setup, and ``hmac.digest`` does
  each in one C call, where the ``cryptography`` HKDF objects cost an allocation apiece.
- **AEAD** AES-128-GCM ``0x0001``, AES-256-GCM ``0x0002`` and ChaCha20-Poly1305 ``0x0003``
  (§7.3), all from ``cryptography`` (OpenSSL).
- **Modes** ``mode_base`` (§5.1.1) and ``mode_auth`` (§5.1.3). The PSK modes are not
  implemented: Bayflow has no pre-shared keys between participants, and an unused code path
  is one more to get wrong.
- The context API with sequence numbers (§5.2), the secret exporter (§5.3), and the
  single-shot :func:`seal` / :func:`open` (§6.1).

**Bayflow's suite** is DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM
(``0x0020``, ``0x0001``, ``0x0001``), :data:`DEFAULT_SUITE`. Why:

- X25519 gives about 128-bit classical security, so AES-128 already matches the weakest link;
  AES-256's extra key length buys nothing against an attacker who breaks the KEM instead.
- It is the suite of RFC 9180 Appendix A.1 (every mode has official vectors; there are none
  for X25519 with AES-256-GCM) and of MLS's mandatory cipher suite (RFC 9420 §17.1), so any
  HPKE library a bank or provider already runs interoperates with it.
- On x86-64 and ARMv8 servers with AES instructions, OpenSSL's AES-GCM is faster than
  ChaCha20-Poly1305 on large payloads, which is what a data provider sends.

ChaCha20-Poly1305 (Appendix A.2 vectors) is supported for hosts without AES instructions;
AES-256-GCM for parties whose policy demands 256-bit symmetric keys. An envelope names its suite,
so a recipient never has to guess.

Keys are raw 32-byte strings (§7.1.1, §7.1.2). A private key is kept as given: X25519 clamps
the scalar when it uses it (RFC 7748 §5), so clamped and unclamped bytes denote the same key,
and keeping them lets ``DeriveKeyPair`` output compare byte for byte with Appendix A.

Every failure raises: :class:`~bayflow.crypto.errors.DecryptionFailed` when a ciphertext does
not open (whatever was altered), :class:`~bayflow.crypto.errors.MalformedKey` for unusable key
bytes, :class:`~bayflow.crypto.errors.MessageLimitReached` when a context's sequence number
would overflow.
"""

from __future__ import annotations

import hmac
import warnings
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from bayflow.crypto.errors import DecryptionFailed, MalformedKey, MessageLimitReached
from bayflow.errors import DevelopmentModeWarning

__all__ = [
    "DEFAULT_SUITE",
    "AEADId",
    "KDFId",
    "KEMId",
    "Mode",
    "PrivateKey",
    "PublicKey",
    "RecipientContext",
    "SenderContext",
    "Suite",
    "open",
    "seal",
    "setup_recipient",
    "setup_sender",
]


class KEMId(IntEnum):
    """KEM identifiers (RFC 9180 §7.1, Table 2) this module implements."""

    DHKEM_X25519_HKDF_SHA256 = 0x0020


class KDFId(IntEnum):
    """KDF identifiers (RFC 9180 §7.2, Table 3) this module implements."""

    HKDF_SHA256 = 0x0001


class AEADId(IntEnum):
    """AEAD identifiers (RFC 9180 §7.3, Table 5) this module implements."""

    AES_128_GCM = 0x0001
    AES_256_GCM = 0x0002
    CHACHA20_POLY1305 = 0x0003


class Mode(IntEnum):
    """HPKE modes (RFC 9180 §5, Table 1); the PSK modes 0x01 and 0x03 are not implemented."""

    BASE = 0x00
    AUTH = 0x02


# RFC 9180 §4 and §7.1: sizes for DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256.
_NSECRET: Final = 32
_NENC: Final = 32
_NPK: Final = 32
_NSK: Final = 32
_NH: Final = 32
_NN: Final = 12  # Every AEAD here takes a 96-bit nonce.
_NT: Final = 16
_MAX_EXPORT: Final = 255 * _NH  # RFC 9180 §5.3 (and RFC 5869 §2.3).
# RFC 9180 §5.2: the sequence number may not reach 2^(8*Nn) - 1.
_MAX_SEQ: Final = (1 << (8 * _NN)) - 1

_VERSION_LABEL: Final = b"HPKE-v1"
_KEM_SUITE_ID: Final = b"KEM" + KEMId.DHKEM_X25519_HKDF_SHA256.to_bytes(2, "big")
_ZERO_DH: Final = bytes(32)

_AEAD_KEY_SIZES: Final = {
    AEADId.AES_128_GCM: 16,
    AEADId.AES_256_GCM: 32,
    AEADId.CHACHA20_POLY1305: 32,
}


# HKDF-SHA256 (RFC 5869 §2) and the labelled forms of RFC 9180 §4.


def _extract(salt: bytes, ikm: bytes) -> bytes:
    # RFC 5869 §2.2: an absent salt is HashLen zero bytes, which HMAC pads to the same key as "".
    return hmac.digest(salt, ikm, "sha256")


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    # RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i), output the first L bytes.
    if length > _MAX_EXPORT:
        raise ValueError(f"HKDF-SHA256 can expand to at most {_MAX_EXPORT} bytes")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), "sha256")
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, _VERSION_LABEL + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = length.to_bytes(2, "big") + _VERSION_LABEL + suite_id + label + info
    return _expand(prk, labeled_info, length)


# Keys (RFC 9180 §7.1.1-§7.1.3).


class PublicKey:
    """An X25519 public key: 32 raw bytes (RFC 9180 §7.1.1 serialises them as they are)."""

    __slots__ = ("_key", "_raw")

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes) or len(raw) != _NPK:
            raise MalformedKey(f"an X25519 public key is {_NPK} bytes")
        self._raw = raw
        # Built on first Diffie-Hellman only: the hub reads, compares and forwards consumers'
        # keys on every data request but never computes with them.
        self._key: X25519PublicKey | None = None

    @classmethod
    def from_bytes(cls, raw: bytes) -> PublicKey:
        return cls(raw)

    def _x25519(self) -> X25519PublicKey:
        if self._key is None:
            self._key = X25519PublicKey.from_public_bytes(self._raw)
        return self._key

    def to_bytes(self) -> bytes:
        return self._raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey({self._raw.hex()})"


class PrivateKey:
    """An X25519 private key and its public key; ``repr`` never shows the secret."""

    __slots__ = ("_key", "_raw", "public_key")

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes) or len(raw) != _NSK:
            raise MalformedKey(f"an X25519 private key is {_NSK} bytes")
        self._set(X25519PrivateKey.from_private_bytes(raw), raw)

    def _set(self, key: X25519PrivateKey, raw: bytes) -> None:
        self._raw = raw
        self._key = key
        self.public_key = PublicKey(key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh key pair from the operating system's CSPRNG (``GenerateKeyPair``)."""
        # Loading raw bytes costs OpenSSL a second scalar multiplication to find the public
        # key, which would double the cost of every ephemeral key; keep the generated object.
        key = X25519PrivateKey.generate()
        self = cls.__new__(cls)
        self._set(key, key.private_bytes_raw())
        return self

    @classmethod
    def from_bytes(cls, raw: bytes) -> PrivateKey:
        return cls(raw)

    @classmethod
    def derive(cls, ikm: bytes) -> PrivateKey:
        """``DeriveKeyPair(ikm)`` for X25519 (RFC 9180 §7.1.3): deterministic, for vectors.

        The key has only as much entropy as ``ikm``, which should hold at least 32 bytes of it.
        """
        dkp_prk = _labeled_extract(_KEM_SUITE_ID, b"", b"dkp_prk", ikm)
        return cls(_labeled_expand(_KEM_SUITE_ID, dkp_prk, b"sk", b"", _NSK))

    def to_bytes(self) -> bytes:
        """The raw private key. Treat it as a secret."""
        return self._raw

    def _dh(self, public: PublicKey) -> bytes:
        # RFC 9180 §7.1.4 and RFC 7748 §6.1: a small-order peer key yields the all-zero secret,
        # which must be refused. OpenSSL refuses it with a ValueError; compare as well, so the
        # check does not depend on the backend's choice.
        try:
            shared = self._key.exchange(public._x25519())  # noqa: SLF001 - same module's key type
        except ValueError as exc:
            raise MalformedKey("X25519 public key is of small order") from exc
        if hmac.compare_digest(shared, _ZERO_DH):  # pragma: no cover - OpenSSL raises first
            raise MalformedKey("X25519 public key is of small order")
        return shared

    def __repr__(self) -> str:
        return f"PrivateKey(public={self.public_key.to_bytes().hex()})"


# DHKEM(X25519, HKDF-SHA256) (RFC 9180 §4.1).


def _extract_and_expand(dh: bytes, kem_context: bytes) -> bytes:
    eae_prk = _labeled_extract(_KEM_SUITE_ID, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE_ID, eae_prk, b"shared_secret", kem_context, _NSECRET)


def _encap(
    recipient: PublicKey, sender: PrivateKey | None, ephemeral: PrivateKey
) -> tuple[bytes, bytes]:
    """``Encap`` or, with a sender key, ``AuthEncap``; returns ``(shared_secret, enc)``."""
    enc = ephemeral.public_key.to_bytes()
    dh = ephemeral._dh(recipient)  # noqa: SLF001 - module-private helper
    kem_context = enc + recipient.to_bytes()
    if sender is not None:
        dh += sender._dh(recipient)  # noqa: SLF001 - module-private helper
        kem_context += sender.public_key.to_bytes()
    return _extract_and_expand(dh, kem_context), enc


def _decap(enc: bytes, recipient: PrivateKey, sender: PublicKey | None) -> bytes:
    """``Decap`` or, with a sender public key, ``AuthDecap``; returns the shared secret."""
    if len(enc) != _NENC:
        raise DecryptionFailed(f"encapsulated key is {len(enc)} bytes, expected {_NENC}")
    try:
        dh = recipient._dh(PublicKey(enc))  # noqa: SLF001 - module-private helper
        if sender is not None:
            dh += recipient._dh(sender)  # noqa: SLF001 - module-private helper
    except MalformedKey as exc:
        # A small-order enc is an altered or forged ciphertext, not a caller's mistake.
        raise DecryptionFailed("encapsulated key is not usable") from exc
    kem_context = enc + recipient.public_key.to_bytes()
    if sender is not None:
        kem_context += sender.to_bytes()
    return _extract_and_expand(dh, kem_context)


# Suites, the key schedule and contexts (RFC 9180 §5.1-§5.3).


@dataclass(frozen=True, slots=True)
class Suite:
    """An HPKE ciphersuite (RFC 9180 §4): the KEM and KDF are fixed, the AEAD is a choice."""

    aead: AEADId = AEADId.AES_128_GCM
    kem: KEMId = KEMId.DHKEM_X25519_HKDF_SHA256
    kdf: KDFId = KDFId.HKDF_SHA256

    def __post_init__(self) -> None:
        # Enum conversion rejects identifiers this module does not implement.
        object.__setattr__(self, "aead", AEADId(self.aead))
        object.__setattr__(self, "kem", KEMId(self.kem))
        object.__setattr__(self, "kdf", KDFId(self.kdf))

    @property
    def suite_id(self) -> bytes:
        """``concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))`` (§5.1)."""
        return (
            b"HPKE"
            + self.kem.to_bytes(2, "big")
            + self.kdf.to_bytes(2, "big")
            + self.aead.to_bytes(2, "big")
        )

    @property
    def key_size(self) -> int:
        """``Nk``, the AEAD key length in bytes."""
        return _AEAD_KEY_SIZES[self.aead]

    @property
    def overhead(self) -> int:
        """``Nt``: how many bytes longer a ciphertext is than its plaintext."""
        return _NT


DEFAULT_SUITE: Final = Suite()
"""DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM: the suite Bayflow seals with."""


def _aead(aead_id: AEADId, key: bytes) -> AESGCM | ChaCha20Poly1305:
    if aead_id is AEADId.CHACHA20_POLY1305:
        return ChaCha20Poly1305(key)
    return AESGCM(key)


class _Context:
    """The state both roles share (RFC 9180 §5.2): key, base nonce, sequence number, exporter."""

    __slots__ = ("_aead", "_base_nonce", "_exporter_secret", "_key", "_seq", "suite")

    def __init__(self, suite: Suite, key: bytes, base_nonce: bytes, exporter_secret: bytes) -> None:
        self.suite = suite
        self._key = key
        self._base_nonce = int.from_bytes(base_nonce, "big")
        self._exporter_secret = exporter_secret
        self._seq = 0
        self._aead = _aead(suite.aead, key)

    @property
    def seq(self) -> int:
        """The sequence number the next seal or open will use."""
        return self._seq

    def _nonce(self) -> bytes:
        # ComputeNonce (§5.2): base_nonce XOR I2OSP(seq, Nn), done on integers.
        if self._seq >= _MAX_SEQ:
            raise MessageLimitReached("this HPKE context has used all its sequence numbers")
        return (self._base_nonce ^ self._seq).to_bytes(_NN, "big")

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """``Context.Export`` (§5.3): a secret of ``length`` bytes bound to this context."""
        if not 0 < length <= _MAX_EXPORT:
            raise ValueError(f"export length must be between 1 and {_MAX_EXPORT}")
        return _labeled_expand(
            self.suite.suite_id, self._exporter_secret, b"sec", exporter_context, length
        )


class SenderContext(_Context):
    """A sender's encryption context; it seals messages in sequence and never opens them."""

    __slots__ = ()

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        """``ContextS.Seal`` (§5.2): encrypt under the next nonce, then advance the sequence."""
        ciphertext = self._aead.encrypt(self._nonce(), plaintext, aad)
        self._seq += 1
        return ciphertext


class RecipientContext(_Context):
    """A recipient's decryption context; it opens messages in the order they were sealed."""

    __slots__ = ()

    def open(self, aad: bytes, ciphertext: bytes | memoryview) -> bytes:
        """``ContextR.Open`` (§5.2); the sequence advances only when a message opens."""
        try:
            plaintext = self._aead.decrypt(self._nonce(), ciphertext, aad)
        except InvalidTag:
            raise DecryptionFailed("ciphertext does not open under this HPKE context") from None
        self._seq += 1
        return plaintext


_C = TypeVar("_C", SenderContext, RecipientContext)


def _key_schedule(
    context_class: type[_C], suite: Suite, mode: Mode, shared_secret: bytes, info: bytes
) -> _C:
    # KeySchedule (§5.1) with psk = psk_id = "" as mode_base and mode_auth require
    # (VerifyPSKInputs): the PSK modes are not offered, so the check holds by construction.
    suite_id = suite.suite_id
    psk_id_hash = _labeled_extract(suite_id, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite_id, b"", b"info_hash", info)
    key_schedule_context = bytes((mode,)) + psk_id_hash + info_hash
    secret = _labeled_extract(suite_id, shared_secret, b"secret", b"")
    key = _labeled_expand(suite_id, secret, b"key", key_schedule_context, suite.key_size)
    base_nonce = _labeled_expand(suite_id, secret, b"base_nonce", key_schedule_context, _NN)
    exporter_secret = _labeled_expand(suite_id, secret, b"exp", key_schedule_context, _NH)
    return context_class(suite, key, base_nonce, exporter_secret)


def setup_sender(
    recipient_public: PublicKey,
    info: bytes,
    *,
    suite: Suite = DEFAULT_SUITE,
    sender_private: PrivateKey | None = None,
    unsafe_ephemeral: PrivateKey | None = None,
) -> tuple[bytes, SenderContext]:
    """``SetupBaseS`` (§5.1.1), or ``SetupAuthS`` (§5.1.3) with ``sender_private``.

    Returns ``enc``, the encapsulated key the recipient needs, and the sender's context.
    ``unsafe_ephemeral`` fixes the ephemeral key so that test vectors are reproducible; reusing
    an ephemeral key across messages destroys their confidentiality (§9.7.5), so every use
    emits a :class:`~bayflow.errors.DevelopmentModeWarning`.
    """
    if unsafe_ephemeral is None:
        ephemeral = PrivateKey.generate()
    else:
        warnings.warn(
            "HPKE sender uses a fixed ephemeral key: for test vectors only",
            DevelopmentModeWarning,
            stacklevel=2,
        )
        ephemeral = unsafe_ephemeral
    shared_secret, enc = _encap(recipient_public, sender_private, ephemeral)
    mode = Mode.BASE if sender_private is None else Mode.AUTH
    return enc, _key_schedule(SenderContext, suite, mode, shared_secret, info)


def setup_recipient(
    recipient_private: PrivateKey,
    enc: bytes,
    info: bytes,
    *,
    suite: Suite = DEFAULT_SUITE,
    sender_public: PublicKey | None = None,
) -> RecipientContext:
    """``SetupBaseR`` (§5.1.1), or ``SetupAuthR`` (§5.1.3) with ``sender_public``."""
    shared_secret = _decap(enc, recipient_private, sender_public)
    mode = Mode.BASE if sender_public is None else Mode.AUTH
    return _key_schedule(RecipientContext, suite, mode, shared_secret, info)


def seal(
    recipient_public: PublicKey,
    info: bytes,
    aad: bytes,
    plaintext: bytes,
    *,
    suite: Suite = DEFAULT_SUITE,
    sender_private: PrivateKey | None = None,
) -> tuple[bytes, bytes]:
    """Single-shot ``SealBase`` / ``SealAuth`` (§6.1): returns ``(enc, ciphertext)``."""
    enc, context = setup_sender(recipient_public, info, suite=suite, sender_private=sender_private)
    return enc, context.seal(aad, plaintext)


def open(  # noqa: A001 - RFC 9180 §6.1 names it Open; callers write hpke.open(...)
    recipient_private: PrivateKey,
    enc: bytes,
    info: bytes,
    aad: bytes,
    ciphertext: bytes | memoryview,
    *,
    suite: Suite = DEFAULT_SUITE,
    sender_public: PublicKey | None = None,
) -> bytes:
    """Single-shot ``OpenBase`` / ``OpenAuth`` (§6.1); raises rather than return garbage."""
    context = setup_recipient(
        recipient_private, enc, info, suite=suite, sender_public=sender_public
    )
    return context.open(aad, ciphertext)
