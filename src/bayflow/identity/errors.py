"""Errors raised by :mod:`bayflow.identity` (Corp ID).

::

    InvalidInput (bayflow.errors)
    └── InvalidOrganisation        an organisation's details are inconsistent
    NotFound (bayflow.errors)
    └── UnknownKey                 no key with this id is registered
    AuthenticationFailed (bayflow.errors)
    ├── InvalidClientAssertion     an RFC 7523 client assertion was refused
    └── InvalidAccessToken         a bearer token is malformed, forged or expired
    PermissionDenied (bayflow.errors)
    ├── MandateNotSatisfied        these signers may not bind the organisation for this action
    └── InsufficientScope          the token lacks a scope the call needs

Further classes are appended below by the credential and PDF modules.
"""

from __future__ import annotations

from bayflow.errors import (
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationFailed,
)

__all__ = [
    "InsufficientScope",
    "InvalidAccessToken",
    "InvalidClientAssertion",
    "InvalidOrganisation",
    "MandateNotSatisfied",
    "UnknownKey",
]


class InvalidOrganisation(InvalidInput):
    slug = "invalid-organisation"
    title = "Invalid organisation details"


class UnknownKey(NotFound):
    slug = "unknown-identity-key"
    title = "Unknown key"


class InvalidClientAssertion(AuthenticationFailed):
    slug = "invalid-client-assertion"
    title = "Client assertion refused"


class InvalidAccessToken(AuthenticationFailed):
    slug = "invalid-access-token"
    title = "Invalid access token"


class MandateNotSatisfied(PermissionDenied):
    """The signers do not satisfy any mandate in force; ``reasons`` says why for each."""

    slug = "mandate-not-satisfied"
    title = "Signing mandate not satisfied"

    def __init__(self, message: str, *, reasons: list[str] | None = None) -> None:
        self.reasons = reasons or []
        super().__init__(message, detail="\n".join(self.reasons) or None)


class InsufficientScope(PermissionDenied):
    slug = "insufficient-scope"
    title = "Insufficient scope"


# Verifiable credentials (SD-JWT VC, RFC 9901) and their status lists, raised by
# bayflow.identity.credentials and bayflow.identity.status_list. Each verification failure a
# verifier may want to tell apart has its own class::
#
#     VerificationFailed, from bayflow.errors
#     └── CredentialError              a credential or presentation does not hold
#         ├── MalformedCredential      breaks RFC 9901 or SD-JWT VC syntax (also InvalidInput)
#         ├── UntrustedIssuer          no trusted key for the issuer and kid
#         ├── IssuerSignatureInvalid   the issuer-signed JWT's signature does not verify
#         ├── DisclosureNotReferenced  a disclosure's digest appears nowhere in the payload
#         ├── DuplicateDisclosure      a disclosure or digest occurs twice
#         ├── CredentialExpired        past exp, before nbf, or issued in the future
#         ├── UnexpectedCredentialType the vct is not the one the verifier asked for
#         ├── KeyBindingInvalid        the KB-JWT does not bind this presentation to the holder
#         │   ├── KeyBindingMissing    no KB-JWT, or the credential has no cnf key
#         │   ├── AudienceMismatch     aud is not this verifier
#         │   ├── NonceMismatch        nonce is not the one this verifier issued
#         │   ├── SdHashMismatch       sd_hash does not cover the presented SD-JWT
#         │   └── KeyBindingStale      iat is too old or in the future
#         ├── CredentialRevoked        the status list says INVALID
#         ├── CredentialSuspended      the status list says SUSPENDED
#         └── StatusUnavailable        the status list token is missing, forged or stale
#     InvalidInput, from bayflow.errors
#     └── ClaimNotDisclosable          a holder asked to disclose a claim it cannot


class CredentialError(VerificationFailed):
    """A verifiable credential or its presentation does not hold."""

    slug = "credential-invalid"
    title = "Credential invalid"


class MalformedCredential(InvalidInput, CredentialError):
    slug = "credential-malformed"
    title = "Malformed credential"


class UntrustedIssuer(CredentialError):
    slug = "credential-untrusted-issuer"
    title = "Untrusted credential issuer"


class IssuerSignatureInvalid(CredentialError):
    slug = "credential-issuer-signature-invalid"
    title = "Credential issuer signature invalid"


class DisclosureNotReferenced(CredentialError):
    """RFC 9901 §7.1 step 4: every disclosure must be referenced by a digest in the payload."""

    slug = "credential-disclosure-not-referenced"
    title = "Disclosure not referenced by the credential"


class DuplicateDisclosure(CredentialError):
    slug = "credential-duplicate-disclosure"
    title = "Duplicate disclosure or digest"


class CredentialExpired(CredentialError):
    slug = "credential-expired"
    title = "Credential expired or not yet valid"


class UnexpectedCredentialType(CredentialError):
    slug = "credential-unexpected-type"
    title = "Unexpected credential type"


class KeyBindingInvalid(CredentialError):
    """RFC 9901 §7.3: the KB-JWT does not bind this presentation to the holder's key."""

    slug = "credential-key-binding-invalid"
    title = "Key binding invalid"


class KeyBindingMissing(KeyBindingInvalid):
    slug = "credential-key-binding-missing"
    title = "Key binding missing"


class AudienceMismatch(KeyBindingInvalid):
    slug = "credential-audience-mismatch"
    title = "Presentation meant for another verifier"


class NonceMismatch(KeyBindingInvalid):
    slug = "credential-nonce-mismatch"
    title = "Presentation nonce mismatch"


class SdHashMismatch(KeyBindingInvalid):
    slug = "credential-sd-hash-mismatch"
    title = "Key binding does not cover this presentation"


class KeyBindingStale(KeyBindingInvalid):
    slug = "credential-key-binding-stale"
    title = "Key binding too old"


class CredentialRevoked(CredentialError):
    slug = "credential-revoked"
    title = "Credential revoked"


class CredentialSuspended(CredentialError):
    slug = "credential-suspended"
    title = "Credential suspended"


class StatusUnavailable(CredentialError):
    """The credential's status cannot be established, so it must not be accepted."""

    slug = "credential-status-unavailable"
    title = "Credential status unavailable"


class ClaimNotDisclosable(InvalidInput):
    slug = "credential-claim-not-disclosable"
    title = "Claim cannot be disclosed"


# Appended by the credential module, so the list sits next to its classes.
__all__ += [
    "AudienceMismatch",
    "ClaimNotDisclosable",
    "CredentialError",
    "CredentialExpired",
    "CredentialRevoked",
    "CredentialSuspended",
    "DisclosureNotReferenced",
    "DuplicateDisclosure",
    "IssuerSignatureInvalid",
    "KeyBindingInvalid",
    "KeyBindingMissing",
    "KeyBindingStale",
    "MalformedCredential",
    "NonceMismatch",
    "SdHashMismatch",
    "StatusUnavailable",
    "UnexpectedCredentialType",
    "UntrustedIssuer",
]


# PAdES signatures on PDF documents (ETSI EN 319 142), raised by bayflow.identity.pdf. Each
# reason a company secretary must be told apart has its own class::
#
#     InvalidInput, from bayflow.errors
#     └── InvalidPDF                   the bytes are not a PDF that can be read or signed
#     VerificationFailed, from bayflow.errors
#     └── PDFSignatureInvalid          a PDF signature does not hold; ``reports`` says why
#         ├── PDFNotSigned             the document carries no signature to verify
#         ├── PDFSignatureBroken       the signed bytes or the signature value do not verify
#         ├── PDFModifiedAfterSigning  a later revision changes what a signature covers
#         ├── PDFSignerUntrusted       the signer's certificate does not chain to a trust root
#         └── PDFTimestampInvalid      the signature time-stamp does not hold

# Appended by the PDF module; its imports stay next to the classes that need them.
from collections.abc import Sequence  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from bayflow.identity.pdf import PDFSignatureReport

__all__ += [
    "InvalidPDF",
    "PDFModifiedAfterSigning",
    "PDFNotSigned",
    "PDFSignatureBroken",
    "PDFSignatureInvalid",
    "PDFSignerUntrusted",
    "PDFTimestampInvalid",
]


class InvalidPDF(InvalidInput):
    slug = "invalid-pdf"
    title = "Invalid PDF"


class PDFSignatureInvalid(VerificationFailed):
    """A signature in a PDF does not hold.

    ``reports`` holds the report of every signature in the document (valid ones included), so
    a caller can show the whole picture; ``detail`` lists the problems found.
    """

    slug = "pdf-signature-invalid"
    title = "PDF signature invalid"

    def __init__(
        self,
        message: str,
        *,
        reports: Sequence[PDFSignatureReport] = (),
        detail: str | None = None,
    ) -> None:
        self.reports = tuple(reports)
        super().__init__(message, detail=detail)


class PDFNotSigned(PDFSignatureInvalid):
    slug = "pdf-not-signed"
    title = "PDF not signed"


class PDFSignatureBroken(PDFSignatureInvalid):
    """The bytes a signature covers were changed, or its value does not verify under its key."""

    slug = "pdf-signature-broken"
    title = "PDF signature broken"


class PDFModifiedAfterSigning(PDFSignatureInvalid):
    """A revision added after signing changes content, beyond further signatures or forms."""

    slug = "pdf-modified-after-signing"
    title = "PDF modified after signing"


class PDFSignerUntrusted(PDFSignatureInvalid):
    """The signer's certificate does not chain to a trust root, or the chain is not valid now."""

    slug = "pdf-signer-untrusted"
    title = "PDF signer untrusted"


class PDFTimestampInvalid(PDFSignatureInvalid):
    """The signature time-stamp token does not verify or its TSA is not trusted."""

    slug = "pdf-timestamp-invalid"
    title = "PDF time-stamp invalid"


# The credential wallet (bayflow.identity.wallet)::
#
#     InvalidInput, from bayflow.errors
#     └── DocumentTooLarge             an uploaded document is over the wallet's size limit


class DocumentTooLarge(InvalidInput):
    slug = "document-too-large"
    title = "Document too large"


__all__ += ["DocumentTooLarge"]
