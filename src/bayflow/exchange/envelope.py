"""The payload envelope: a provider's answer, sealed to the consumer and signed, as relayed.

Three parties read an envelope, and each must learn exactly what it needs:

- the **hub** routes it and writes a receipt, and must check that the provider signed *this*
  ciphertext for *this* consent and request, without seeing the plaintext;
- the **consumer** opens it, and must know that the provider signed the *plaintext*, in a way
  it can later show a third party (a regulator, a court) without giving up its private key;
- anyone holding a copy must be unable to pass it off as the answer to another request.

**Commit, encrypt, then sign.** Neither textbook order serves all three. Sign-then-encrypt
hides the signature from the hub, and a signature on a bare plaintext says nothing of the
recipient (a consumer could re-encrypt it to someone else: "surreptitious forwarding").
Encrypt-then-sign lets the hub check the signature but binds only the ciphertext: to prove the
plaintext, the consumer would have to reveal a decryption key no third party can check against
the signature, and AES-GCM is not key-committing (a crafted ciphertext opens to two plaintexts
under two keys), so a key that opens a ciphertext does not by itself pin what was sent. So the
provider:

1. sets up HPKE (RFC 9180 §5.1.1, base mode) to the consumer's X25519 key, with ``info``
   binding the consent id, request id, consumer key id, provider key id and content type, so a
   ciphertext opens only in the request it was made for;
2. commits to the plaintext with ``HMAC-SHA256(K, plaintext)``, where ``K`` is an HPKE exported
   secret (RFC 9180 §5.3, exporter context :data:`_COMMITMENT_LABEL`), known only to provider
   and consumer: the hub sees a value it cannot test guesses against, while the consumer can
   later reveal ``K`` and the plaintext to prove what the provider signed;
3. encrypts the plaintext in one AEAD pass (``aad`` is empty: everything to bind is in ``info``);
4. signs a small header holding both the commitment and the SHA-256 of the ciphertext, plus
   the consent id, request id, content type, both key ids, the consumer's public key, the suite,
   ``enc`` and the sizes, as a detached JWS with ``alg`` ``Ed25519`` (RFC 7515 Appendix F,
   RFC 9864 §2.2), ``typ`` :data:`ENVELOPE_TYP`.

The hub verifies the signature and the ciphertext digest (:meth:`Envelope.check_relay`); the
consumer does the same, decrypts, and recomputes the commitment (:func:`open_payload`).
HPKE's auth mode is not used: the providers' identity keys are Ed25519 signing keys, and an
auth-mode tag convinces only the recipient (RFC 9180 §9.1.1), where a signature convinces anyone.

**Wire format, version 1.** Binary, so a 1 MiB ciphertext travels as it is; base64 inside
JSON would add a third to its size and a pass over it on each side. Integers are big-endian::

    offset          size   field
    0               4      magic "BFEN"
    4               1      version, 0x01
    5               4      H, the header length (at most 8 KiB)
    9               H      header: UTF-8 JSON, described below
    9+H             2      S, the signature length (at most 1 KiB)
    11+H            S      detached compact JWS over the header bytes, ASCII
    11+H+S          rest   ciphertext, exactly ``ciphertext_size`` bytes

The header is a JSON object with exactly these members, keys sorted, no whitespace, so each
header has one encoding and a parser refuses any other::

    ciphertext_sha256     SHA-256 of the ciphertext, base64url
    ciphertext_size       bytes of ciphertext: plaintext_size + 16 (the AEAD tag)
    consent_id            the consent the request was made under
    consumer_key          the consumer's X25519 public key (32 bytes), base64url
    consumer_kid          the consumer's id for that key, for lookup
    content_type          the plaintext's media type, e.g. "application/json"
    enc                   HPKE encapsulated key (32 bytes), base64url
    plaintext_commitment  HMAC-SHA256 commitment to the plaintext (32 bytes), base64url
    plaintext_size        bytes of plaintext
    provider_kid          the key id the JWS names too
    request_id            the data request this answers
    suite                 {"aead": 1, "kdf": 1, "kem": 32}: RFC 9180 identifiers
    v                     1, the version, also inside the signature

The sizes reveal the plaintext's length, as the ciphertext's length would anyway: HPKE does not
hide it (RFC 9180 §9.7.6), and a provider that must hide it pads the payload before sealing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bayflow.crypto import hpke
from bayflow.crypto.errors import (
    DecryptionFailed,
    EnvelopeMismatch,
    InvalidSignature,
    MalformedEnvelope,
    MalformedJOSE,
    UnsupportedAlgorithm,
    WrongRecipient,
)
from bayflow.crypto.jose import (
    ED25519,
    CompactJWS,
    PrivateJWK,
    PublicJWK,
    b64url_decode,
    b64url_encode,
    loads_json_object,
    sign_detached,
)

__all__ = [
    "ENVELOPE_TYP",
    "MAX_PLAINTEXT_SIZE",
    "VERSION",
    "Envelope",
    "EnvelopeHeader",
    "open_payload",
    "seal_payload",
]

VERSION: Final = 1
ENVELOPE_TYP: Final = "bayflow-envelope+json"
"""The JWS ``typ`` of an envelope signature, so it cannot be mistaken for another signed object."""

MAX_PLAINTEXT_SIZE: Final = 64 * 1024 * 1024
"""The largest payload an envelope carries; a provider splits anything bigger across requests."""

_MAGIC: Final = b"BFEN"
_PREFIX: Final = struct.Struct(">4sBI")  # magic, version, header length
_SIGNATURE_LENGTH: Final = struct.Struct(">H")
_MAX_HEADER: Final = 8 * 1024
_MAX_SIGNATURE: Final = 1024
_DIGEST_SIZE: Final = 32
_KEY_SIZE: Final = 32
_AEAD_TAG: Final = 16

# Labels for the HPKE info and the exporter. They name the format version, so a version 2 can
# never derive the same keys from the same inputs.
_INFO_LABEL: Final = b"bayflow/exchange/envelope/v1"
_COMMITMENT_LABEL: Final = b"bayflow/exchange/envelope/v1 plaintext commitment"
_AAD: Final = b""

# Identifiers and key ids: printable ASCII without spaces, as Bayflow ids and RFC 7638
# thumbprints are. Content types: RFC 6838 §4.2 names with optional parameters.
_ID: Final = re.compile(r"[\x21-\x7e]{1,256}")
_MEDIA_NAME: Final = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_CONTENT_TYPE: Final = re.compile(
    rf"{_MEDIA_NAME}/{_MEDIA_NAME}(?:; ?{_MEDIA_NAME}=[\x21-\x7e]{{1,128}})*"
)
_MAX_CONTENT_TYPE: Final = 256

_MEMBERS: Final = frozenset(
    {
        "ciphertext_sha256",
        "ciphertext_size",
        "consent_id",
        "consumer_key",
        "consumer_kid",
        "content_type",
        "enc",
        "plaintext_commitment",
        "plaintext_size",
        "provider_kid",
        "request_id",
        "suite",
        "v",
    }
)
_SUITE_MEMBERS: Final = frozenset({"aead", "kdf", "kem"})

Ciphertext = bytes | memoryview
"""A ciphertext as sealed (``bytes``) or as parsed, without a copy (``memoryview``)."""


def _dumps(value: Mapping[str, Any]) -> bytes:
    # The canonical header form: sorted keys, no whitespace. Every value is an ASCII string, an
    # integer or an object of integers, so this is also its RFC 8785 form.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _check_text(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise MalformedEnvelope(f"{what} must be 1-256 printable ASCII characters, no spaces")
    return value


def _check_content_type(value: str) -> str:
    if len(value) > _MAX_CONTENT_TYPE or not _CONTENT_TYPE.fullmatch(value):
        raise MalformedEnvelope(f"content type {value!r} is not a media type")
    return value


def _info(
    consent_id: str, request_id: str, consumer_kid: str, provider_kid: str, ctype: str
) -> bytes:
    # Length-prefixed fields, so no two different tuples encode alike (RFC 9180 §8.1 leaves
    # the structure of info to the application).
    out = bytearray(_INFO_LABEL)
    for field in (consent_id, request_id, consumer_kid, provider_kid, ctype):
        data = field.encode("ascii")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def _commitment(context: hpke.SenderContext | hpke.RecipientContext, plaintext: bytes) -> bytes:
    return hmac.digest(context.export(_COMMITMENT_LABEL, _DIGEST_SIZE), plaintext, "sha256")


def _member(obj: Mapping[str, Any], name: str, kind: type) -> Any:
    value = obj[name]
    # `type(...) is` rather than isinstance: JSON true is not the integer 1 here.
    if type(value) is not kind:
        raise MalformedEnvelope(f"header member {name!r} must be a {kind.__name__}")
    return value


def _binary(obj: Mapping[str, Any], name: str, size: int) -> bytes:
    try:
        value = b64url_decode(_member(obj, name, str), what=f"header member {name!r}")
    except MalformedJOSE as exc:
        raise MalformedEnvelope(exc.message) from exc
    if len(value) != size:
        raise MalformedEnvelope(f"header member {name!r} must decode to {size} bytes")
    return value


def _size(obj: Mapping[str, Any], name: str) -> int:
    value: int = _member(obj, name, int)
    if not 0 <= value <= MAX_PLAINTEXT_SIZE + _AEAD_TAG:
        raise MalformedEnvelope(f"header member {name!r} is out of range")
    return value


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """The signed, cleartext part of an envelope: everything the hub may see and check.

    ``ciphertext_sha256`` and ``plaintext_commitment`` are what the provider *claims*; they are
    trustworthy only after :meth:`Envelope.check_relay` or :func:`open_payload` has compared
    them with the ciphertext and the plaintext.
    """

    suite: hpke.Suite
    consent_id: str
    request_id: str
    content_type: str
    consumer_key: hpke.PublicKey
    consumer_kid: str
    provider_kid: str
    enc: bytes
    plaintext_size: int
    plaintext_commitment: bytes
    ciphertext_size: int
    ciphertext_sha256: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "ciphertext_sha256": b64url_encode(self.ciphertext_sha256),
            "ciphertext_size": self.ciphertext_size,
            "consent_id": self.consent_id,
            "consumer_key": b64url_encode(self.consumer_key.to_bytes()),
            "consumer_kid": self.consumer_kid,
            "content_type": self.content_type,
            "enc": b64url_encode(self.enc),
            "plaintext_commitment": b64url_encode(self.plaintext_commitment),
            "plaintext_size": self.plaintext_size,
            "provider_kid": self.provider_kid,
            "request_id": self.request_id,
            "suite": {
                "aead": int(self.suite.aead),
                "kdf": int(self.suite.kdf),
                "kem": int(self.suite.kem),
            },
            "v": VERSION,
        }

    def to_bytes(self) -> bytes:
        return _dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> EnvelopeHeader:
        """Parse a header strictly: exact members and types, canonical encoding only."""
        try:
            obj = loads_json_object(data, what="envelope header")
        except MalformedJOSE as exc:
            raise MalformedEnvelope(exc.message) from exc
        if obj.keys() != _MEMBERS:
            extra, missing = obj.keys() - _MEMBERS, _MEMBERS - obj.keys()
            raise MalformedEnvelope(
                f"envelope header members differ: unknown {sorted(extra)}, "
                f"missing {sorted(missing)}"
            )
        if _member(obj, "v", int) != VERSION:
            raise MalformedEnvelope(f"envelope header version {obj['v']} is not {VERSION}")
        header = cls(
            suite=cls._suite(_member(obj, "suite", dict)),
            consent_id=_check_text(_member(obj, "consent_id", str), "consent id"),
            request_id=_check_text(_member(obj, "request_id", str), "request id"),
            content_type=_check_content_type(_member(obj, "content_type", str)),
            consumer_key=hpke.PublicKey(_binary(obj, "consumer_key", _KEY_SIZE)),
            consumer_kid=_check_text(_member(obj, "consumer_kid", str), "consumer key id"),
            provider_kid=_check_text(_member(obj, "provider_kid", str), "provider key id"),
            enc=_binary(obj, "enc", _KEY_SIZE),
            plaintext_size=_size(obj, "plaintext_size"),
            plaintext_commitment=_binary(obj, "plaintext_commitment", _DIGEST_SIZE),
            ciphertext_size=_size(obj, "ciphertext_size"),
            ciphertext_sha256=_binary(obj, "ciphertext_sha256", _DIGEST_SIZE),
        )
        if header.plaintext_size > MAX_PLAINTEXT_SIZE:
            raise MalformedEnvelope("plaintext is larger than an envelope may carry")
        if header.ciphertext_size != header.plaintext_size + header.suite.overhead:
            raise MalformedEnvelope("ciphertext size does not fit the plaintext size and suite")
        # One header, one encoding: a second spelling of the same values would give the same
        # envelope two ciphertext-independent signatures and two digests in receipts.
        if header.to_bytes() != data:
            raise MalformedEnvelope("envelope header is not in canonical form")
        return header

    @staticmethod
    def _suite(obj: Mapping[str, Any]) -> hpke.Suite:
        if obj.keys() != _SUITE_MEMBERS:
            raise MalformedEnvelope("header member 'suite' must have exactly aead, kdf and kem")
        try:
            return hpke.Suite(
                hpke.AEADId(_member(obj, "aead", int)),
                hpke.KEMId(_member(obj, "kem", int)),
                hpke.KDFId(_member(obj, "kdf", int)),
            )
        except ValueError as exc:
            raise MalformedEnvelope(f"HPKE suite is not supported: {exc}") from exc

    @property
    def info(self) -> bytes:
        """The HPKE ``info`` this header's ciphertext was sealed under."""
        return _info(
            self.consent_id,
            self.request_id,
            self.consumer_kid,
            self.provider_kid,
            self.content_type,
        )


class Envelope:
    """A sealed, signed payload; constructing one checks its form, not yet its signature.

    ``ciphertext`` is ``bytes`` or, after :meth:`from_bytes`, a read-only view into the parsed
    bytes: a 1 MiB payload is not copied on its way to the hash and the AEAD.
    """

    __slots__ = ("_digest", "_jws", "ciphertext", "header", "header_bytes", "signature")

    def __init__(self, header_bytes: bytes, signature: str, ciphertext: Ciphertext) -> None:
        if len(header_bytes) > _MAX_HEADER:
            raise MalformedEnvelope(f"envelope header is longer than {_MAX_HEADER} bytes")
        self._assemble(EnvelopeHeader.from_bytes(header_bytes), header_bytes, signature, ciphertext)

    def _assemble(
        self, header: EnvelopeHeader, header_bytes: bytes, signature: str, ciphertext: Ciphertext
    ) -> None:
        # Everything the constructor checks except parsing the header, which seal_payload has
        # just built from values it checked: re-parsing it would cost a third of a small seal.
        self.header = header
        self.header_bytes = header_bytes
        self.signature = signature
        self.ciphertext = ciphertext
        self._digest: bytes | None = None
        try:
            self._jws = CompactJWS.parse(signature, detached_payload=header_bytes)
            self._jws.check_typ(ENVELOPE_TYP)
        except MalformedJOSE as exc:
            raise MalformedEnvelope(f"envelope signature: {exc.message}") from exc
        if self._jws.alg != ED25519:
            raise MalformedEnvelope(f"envelope signature uses {self._jws.alg!r}, not {ED25519!r}")
        if self._jws.kid != header.provider_kid:
            raise MalformedEnvelope("the signature's kid is not the header's provider_kid")
        if len(ciphertext) != header.ciphertext_size:
            raise MalformedEnvelope(
                f"ciphertext is {len(ciphertext)} bytes; the header says {header.ciphertext_size}"
            )

    @property
    def ciphertext_digest(self) -> bytes:
        """SHA-256 of the ciphertext as carried, computed once: what receipts record."""
        if self._digest is None:
            self._digest = hashlib.sha256(self.ciphertext).digest()
        return self._digest

    def receipt(self) -> str:
        """The provider's signed header as an ordinary compact JWS: the delivery receipt.

        The detached signature with its header re-attached (RFC 7515 Appendix F, reversed):
        anyone with the provider's public key can check it, and it names the consent, the
        request and the SHA-256 of the ciphertext, without a byte of the payload.
        """
        protected, _, signature = self.signature.split(".")
        return f"{protected}.{b64url_encode(self.header_bytes)}.{signature}"

    def to_bytes(self) -> bytes:
        signature = self.signature.encode("ascii")
        return b"".join(
            (
                _PREFIX.pack(_MAGIC, VERSION, len(self.header_bytes)),
                self.header_bytes,
                _SIGNATURE_LENGTH.pack(len(signature)),
                signature,
                self.ciphertext,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse the version 1 wire format; anything else raises ``MalformedEnvelope``."""
        # The ciphertext stays a view into `data`, checked once and decrypted later, so `data`
        # must be immutable: a bytearray changed in between would defeat the digest check.
        view = memoryview(data if type(data) is bytes else bytes(data))
        if len(view) < _PREFIX.size:
            raise MalformedEnvelope("envelope is too short")
        magic, version, header_length = _PREFIX.unpack_from(view)
        if magic != _MAGIC:
            raise MalformedEnvelope("not a Bayflow payload envelope")
        if version != VERSION:
            raise MalformedEnvelope(f"envelope version {version} is not supported")
        if header_length > _MAX_HEADER:
            raise MalformedEnvelope(f"envelope header is longer than {_MAX_HEADER} bytes")
        offset = _PREFIX.size + header_length
        if len(view) < offset + _SIGNATURE_LENGTH.size:
            raise MalformedEnvelope("envelope is truncated in its header")
        header_bytes = bytes(view[_PREFIX.size : offset])
        (signature_length,) = _SIGNATURE_LENGTH.unpack_from(view, offset)
        offset += _SIGNATURE_LENGTH.size
        if signature_length > _MAX_SIGNATURE:
            raise MalformedEnvelope(f"envelope signature is longer than {_MAX_SIGNATURE} bytes")
        if len(view) < offset + signature_length:
            raise MalformedEnvelope("envelope is truncated in its signature")
        try:
            signature = bytes(view[offset : offset + signature_length]).decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedEnvelope("envelope signature is not ASCII") from exc
        # The ciphertext runs to the end; the constructor checks its length against the header.
        return cls(header_bytes, signature, view[offset + signature_length :])

    def _check_signed(self, provider_public: PublicJWK) -> None:
        try:
            self._jws.verify(provider_public, algorithms={ED25519})
        except (MalformedJOSE, InvalidSignature) as exc:
            raise InvalidSignature(
                f"envelope is not signed by provider key {provider_public.kid!r}: {exc.message}"
            ) from exc
        if not hmac.compare_digest(self.ciphertext_digest, self.header.ciphertext_sha256):
            raise DecryptionFailed("ciphertext is not the one the provider signed")

    def _check_binding(self, consent_id: str, request_id: str) -> None:
        if self.header.consent_id != consent_id or self.header.request_id != request_id:
            raise EnvelopeMismatch(
                f"envelope answers consent {self.header.consent_id!r}, request "
                f"{self.header.request_id!r}; expected {consent_id!r}, {request_id!r}"
            )

    def check_relay(
        self,
        consent_id: str,
        request_id: str,
        provider_public: PublicJWK,
        *,
        consumer_public: hpke.PublicKey | None = None,
    ) -> None:
        """What the hub checks before relaying: authentic, unaltered, for this request.

        No private key and no plaintext is needed. With ``consumer_public`` (the key the hub
        has on record for the consumer), also check the provider sealed to that key.
        """
        # 1. The provider signed the header, and the ciphertext is the one the header names.
        self._check_signed(provider_public)
        # 2. The envelope answers the consent and request the hub routed, not another one.
        self._check_binding(consent_id, request_id)
        # 3. It is sealed to the consumer's registered key.
        if consumer_public is not None and self.header.consumer_key != consumer_public:
            raise WrongRecipient("envelope is sealed to another key than the consumer's")

    def __repr__(self) -> str:
        return (
            f"Envelope(consent_id={self.header.consent_id!r}, "
            f"request_id={self.header.request_id!r}, ciphertext_size={len(self.ciphertext)})"
        )


def seal_payload(
    plaintext: bytes,
    *,
    content_type: str,
    consent_id: str,
    request_id: str,
    consumer_public_x25519: hpke.PublicKey,
    consumer_kid: str,
    provider_key: PrivateJWK,
    suite: hpke.Suite = hpke.DEFAULT_SUITE,
    unsafe_ephemeral: hpke.PrivateKey | None = None,
) -> Envelope:
    """Seal ``plaintext`` to the consumer and sign it as the provider (see the module docstring).

    ``unsafe_ephemeral`` fixes the HPKE ephemeral key, for reproducible test vectors only; it
    warns on every use.
    """
    # 0. Inputs are what the header can carry, and the provider signs with Ed25519.
    if provider_key.alg != ED25519:
        raise UnsupportedAlgorithm(f"envelopes are signed with {ED25519}, not {provider_key.alg}")
    if len(plaintext) > MAX_PLAINTEXT_SIZE:
        raise MalformedEnvelope(f"payload is larger than {MAX_PLAINTEXT_SIZE} bytes")
    for value, what in (
        (consent_id, "consent id"),
        (request_id, "request id"),
        (consumer_kid, "consumer key id"),
        (provider_key.kid, "provider key id"),
    ):
        _check_text(value, what)
    _check_content_type(content_type)
    # 1. HPKE to the consumer's key, with info binding the request.
    info = _info(consent_id, request_id, consumer_kid, provider_key.kid, content_type)
    enc, context = hpke.setup_sender(
        consumer_public_x25519, info, suite=suite, unsafe_ephemeral=unsafe_ephemeral
    )
    # 2. The hidden commitment to the plaintext, then 3. the single AEAD pass.
    commitment = _commitment(context, plaintext)
    ciphertext = context.seal(_AAD, plaintext)
    # 4. The signed header.
    header = EnvelopeHeader(
        suite=suite,
        consent_id=consent_id,
        request_id=request_id,
        content_type=content_type,
        consumer_key=consumer_public_x25519,
        consumer_kid=consumer_kid,
        provider_kid=provider_key.kid,
        enc=enc,
        plaintext_size=len(plaintext),
        plaintext_commitment=commitment,
        ciphertext_size=len(ciphertext),
        ciphertext_sha256=hashlib.sha256(ciphertext).digest(),
    )
    header_bytes = header.to_bytes()
    signature = sign_detached(provider_key, header_bytes, typ=ENVELOPE_TYP)
    envelope = Envelope.__new__(Envelope)
    envelope._assemble(header, header_bytes, signature, ciphertext)  # noqa: SLF001 - see there
    return envelope


def open_payload(
    envelope: Envelope,
    *,
    consumer_private_x25519: hpke.PrivateKey,
    provider_public: PublicJWK,
    consent_id: str,
    request_id: str,
) -> tuple[bytes, str]:
    """Verify and decrypt an envelope; returns ``(plaintext, content_type)`` or raises.

    Raises :class:`~bayflow.crypto.errors.InvalidSignature` if the provider did not sign it (or
    its signature does not cover the plaintext), :class:`~bayflow.crypto.errors.EnvelopeMismatch`
    if it answers another consent or request, :class:`~bayflow.crypto.errors.WrongRecipient` if
    it is sealed to another key, and :class:`~bayflow.crypto.errors.DecryptionFailed` if the
    ciphertext was altered or does not open.
    """
    header = envelope.header
    # 1. The provider signed the header, and the ciphertext is the one it names.
    envelope._check_signed(provider_public)  # noqa: SLF001 - the same checks the hub makes
    # 2. It answers this consent and request.
    envelope._check_binding(consent_id, request_id)  # noqa: SLF001 - as above
    # 3. It is sealed to this consumer's key: say so, rather than fail as a bad ciphertext.
    if header.consumer_key != consumer_private_x25519.public_key:
        raise WrongRecipient(f"envelope is sealed to consumer key {header.consumer_kid!r}")
    # 4. Decrypt; the info binds the request, so a ciphertext moved to another header fails.
    context = hpke.setup_recipient(
        consumer_private_x25519, header.enc, header.info, suite=header.suite
    )
    plaintext = context.open(_AAD, envelope.ciphertext)
    # 5. The plaintext is the one the provider committed to in the signed header.
    if not hmac.compare_digest(_commitment(context, plaintext), header.plaintext_commitment):
        raise InvalidSignature("the provider's signature does not cover the decrypted plaintext")
    return plaintext, header.content_type
