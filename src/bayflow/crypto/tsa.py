"""The hub's own RFC 3161 time-stamp authority.

A PAdES B-T signature (ETSI EN 319 142-1 §6.3) carries a signature time-stamp: a token from a
time-stamp authority (TSA) binding a hash of the signature value to a time. Bayflow's hub is
that TSA for its participants, so B-T needs no third party and works offline in tests.

:meth:`TimestampAuthority.respond` turns a DER ``TimeStampReq`` into a DER ``TimeStampResp``
(RFC 3161 §2.4); the ``POST /tsa`` endpoint (``application/timestamp-query`` in,
``application/timestamp-reply`` out, RFC 3161 §3.4) calls it. :class:`LocalTimeStamper` is the
same authority as a pyHanko ``TimeStamper``, for signing in process: it encodes each request to
DER and decodes the reply, so local and HTTP time-stamps take the same path.
:class:`RemoteTimeStamper` hands the DER request to a callable instead (the hub client's
``POST /tsa``), so this module stays free of HTTP.

The token (RFC 3161 §2.4.2) is a CMS ``SignedData`` (RFC 5652) over a ``TSTInfo`` with:

- ``genTime`` from the caller's ``now`` and an accuracy of one second;
- a random 127-bit ``serialNumber``, unique without coordination between hub workers;
- the request's ``nonce`` echoed, and the TSA's name in the ``tsa`` field;
- an ESS ``signing-certificate-v2`` signed attribute naming the TSA certificate (RFC 5816),
  which RFC 3161 §2.4.1 requires so the signer's certificate cannot be substituted;
- an ECDSA P-256 / SHA-256 signature by a certificate whose only EKU is ``id-kp-timeStamping``.

A request the TSA will not serve gets a ``rejection`` reply with the RFC 3161 ``failInfo`` bit
saying why (unknown hash, wrong digest length, another policy, extensions, malformed DER); a
reply is always returned, never an exception, because that is how RFC 3161 clients learn why.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from bayflow.clock import Clock, SystemClock
from bayflow.crypto.pki import CertifiedKey

__all__ = [
    "ACCEPTED_DIGESTS",
    "DEFAULT_POLICY",
    "LocalTimeStamper",
    "RemoteTimeStamper",
    "TimeStampResp",
    "TimestampAuthority",
]

# The hub's time-stamp policy (RFC 3161 §2.1 item 5). Bayflow owns no registered OID arc, so
# the identifier is a UUID OID under 2.25 (ITU-T X.667), which needs no registration and
# cannot clash. Operators with their own policy arc pass ``policy=``.
DEFAULT_POLICY: Final = "2.25.213602853035876044480066057226684562434"

# Message-imprint algorithms served, with their digest sizes. SHA-1 and MD5 are refused
# (badAlg): a collision in the imprint hash would let one token vouch for two documents.
ACCEPTED_DIGESTS: Final = {"sha256": 32, "sha384": 48, "sha512": 64}

_SERIAL_BITS: Final = 127


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 §2.4.2 ``TimeStampResp``, with the token OPTIONAL as the RFC has it.

    asn1crypto's ``tsp.TimeStampResp`` makes ``timeStampToken`` mandatory, so it can neither
    encode nor read a rejection, which by definition carries no token.
    """

    _fields = [  # noqa: RUF012 - asn1crypto reads this class attribute as the ASN.1 schema.
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimestampAuthority:
    """An RFC 3161 TSA that signs with ``certified_key``.

    ``certified_key`` should come from ``OrganisationalCA.issue_timestamping_certificate``;
    pyHanko and other validators reject tokens whose signer lacks the critical
    ``id-kp-timeStamping`` EKU. ``accuracy`` of ``None`` omits the field (RFC 3161 then leaves
    the accuracy to the policy).
    """

    __slots__ = ("_accuracy", "_certificate", "_certified_key", "_policy", "_tsa_name")

    def __init__(
        self,
        certified_key: CertifiedKey,
        *,
        policy: str = DEFAULT_POLICY,
        accuracy: timedelta | None = timedelta(seconds=1),
    ) -> None:
        self._certified_key = certified_key
        self._certificate = asn1_x509.Certificate.load(certified_key.certificate_der)
        self._policy: str = core.ObjectIdentifier(policy).dotted
        self._accuracy = accuracy
        self._tsa_name = asn1_x509.GeneralName(
            name="directory_name", value=self._certificate.subject
        )

    @property
    def policy(self) -> str:
        """The dotted OID every token names as its policy."""
        return self._policy

    @property
    def certified_key(self) -> CertifiedKey:
        return self._certified_key

    def respond(self, request_der: bytes, now: datetime) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp`` (RFC 3161 §2.4).

        ``now`` becomes the token's ``genTime``; it must be timezone-aware.
        """
        if now.tzinfo is None:
            raise ValueError("a time-stamp needs a timezone-aware datetime")
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            # asn1crypto parses lazily; reading .native forces every field to be decoded now,
            # inside this try, instead of failing later while building the token.
            _ = request.native
        except (ValueError, TypeError, OverflowError):
            reply = _rejection("bad_data_format", "the request is not a DER TimeStampReq")
        else:
            reply = self.response_for(request, now)
        der: bytes = reply.dump()
        return der

    def response_for(self, request: tsp.TimeStampReq, now: datetime) -> TimeStampResp:
        """Answer a parsed request: a granted reply with a token, or a rejection saying why."""
        # 0. The request is version 1.
        # 1. The imprint uses an accepted hash and has that hash's length.
        # 2. Any requested policy is ours.
        # 3. No extensions: this TSA understands none, and RFC 3161 says to reject them.
        # 4. Build the TSTInfo and sign it.
        # (0):
        if request["version"].native != "v1":
            return _rejection("bad_request", "only version 1 requests are served")
        # (1):
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in ACCEPTED_DIGESTS:
            return _rejection("bad_alg", f"hash algorithm {algorithm} is not accepted")
        if len(imprint["hashed_message"].native) != ACCEPTED_DIGESTS[algorithm]:
            return _rejection("bad_data_format", f"the imprint is not a {algorithm} digest")
        # (2):
        requested_policy = request["req_policy"].native
        if requested_policy is not None and request["req_policy"].dotted != self._policy:
            return _rejection("unaccepted_policy", f"this TSA serves policy {self._policy} only")
        # (3):
        if request["extensions"].native:
            return _rejection("unaccepted_extensions", "this TSA accepts no request extensions")
        # (4):
        token = self._token(request, now)
        status = tsp.PKIStatusInfo({"status": "granted"})
        return TimeStampResp({"status": status, "time_stamp_token": token})

    def _token(self, request: tsp.TimeStampReq, now: datetime) -> cms.ContentInfo:
        tst_info: dict[str, object] = {
            "version": "v1",
            "policy": self._policy,
            # Copied whole, so the hash algorithm's parameters come back exactly as sent.
            "message_imprint": request["message_imprint"],
            "serial_number": secrets.randbits(_SERIAL_BITS) or 1,
            "gen_time": now.astimezone(UTC),
            "tsa": self._tsa_name,
        }
        if self._accuracy is not None:
            tst_info["accuracy"] = _accuracy(self._accuracy)
        if request["nonce"].native is not None:
            tst_info["nonce"] = request["nonce"]
        tst_info_der = tsp.TSTInfo(tst_info).dump()

        certificate_der = self._certified_key.certificate_der
        issuer_serial = tsp.IssuerSerial(
            {
                "issuer": [
                    asn1_x509.GeneralName(name="directory_name", value=self._certificate.issuer)
                ],
                "serial_number": self._certificate.serial_number,
            }
        )
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(tst_info_der).digest()]}
                ),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [
                            {
                                "certs": [
                                    {
                                        "cert_hash": hashlib.sha256(certificate_der).digest(),
                                        "issuer_serial": issuer_serial,
                                    }
                                ]
                            }
                        ],
                    }
                ),
            ]
        )
        # RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF.
        signature = self._certified_key.key.sign(signed_attrs.dump())
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value=cms.IssuerAndSerialNumber(
                        {
                            "issuer": self._certificate.issuer,
                            "serial_number": self._certificate.serial_number,
                        }
                    ),
                ),
                "digest_algorithm": digest_algorithm,
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }
        )
        signed_data: dict[str, object] = {
            # v3 because the encapsulated content type is not id-data (RFC 5652 §5.1).
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_info_der),
            },
            "signer_infos": [signer_info],
        }
        if request["cert_req"].native:
            # RFC 3161 §2.4.1: with certReq the TSA's certificate MUST be in the token.
            signed_data["certificates"] = [self._certificate]
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


class LocalTimeStamper(TimeStamper):
    """The hub's TSA as a pyHanko ``TimeStamper``, for PAdES B-T signing in process.

    Requests go through :meth:`TimestampAuthority.respond` as DER, exactly as over HTTP, and
    pyHanko then checks the reply's status and nonce. The token's time is ``clock.now()``.
    """

    def __init__(self, authority: TimestampAuthority, clock: Clock | None = None) -> None:
        # pyHanko leaves TimeStamper.__init__ unannotated.
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._authority = authority
        self._clock = clock or SystemClock()

    @property
    def authority(self) -> TimestampAuthority:
        return self._authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> TimeStampResp:
        reply = self._authority.respond(req.dump(), self._clock.now())
        response: TimeStampResp = TimeStampResp.load(reply)
        return response


class RemoteTimeStamper(TimeStamper):
    """An RFC 3161 TSA reached through ``exchange``: DER ``TimeStampReq`` in, DER reply out.

    ``exchange`` is the transport (an HTTP POST of ``application/timestamp-query``); replies
    are parsed with :class:`TimeStampResp`, so a rejection without a token is read, and pyHanko
    then checks the status, the imprint and the nonce.
    """

    def __init__(self, exchange: Callable[[bytes], bytes]) -> None:
        # pyHanko leaves TimeStamper.__init__ unannotated.
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._exchange = exchange

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> TimeStampResp:
        reply = self._exchange(req.dump())
        try:
            response: TimeStampResp = TimeStampResp.load(reply, strict=True)
            _ = response.native  # Parse everything here, not deep inside pyHanko.
        except (ValueError, TypeError) as exc:
            msg = "the time-stamp authority's reply is not a DER TimeStampResp"
            raise TimestampRequestError(msg) from exc
        return response


def _rejection(fail_info: str, reason: str) -> TimeStampResp:
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [reason],
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        }
    )
    return TimeStampResp({"status": status})


def _accuracy(accuracy: timedelta) -> tsp.Accuracy:
    micros_total = accuracy // timedelta(microseconds=1)
    if micros_total <= 0:
        raise ValueError("a time-stamp accuracy must be positive")
    seconds, micros = divmod(micros_total, 1_000_000)
    millis, micros = divmod(micros, 1000)
    fields = {"seconds": seconds, "millis": millis, "micros": micros}
    # RFC 3161 §2.4.2: absent fields mean zero, and millis/micros must be 1..999 when present.
    return tsp.Accuracy({k: v for k, v in fields.items() if v})
