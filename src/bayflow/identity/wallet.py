"""The credential wallet: registry facts as SD-JWT VCs, and an organisation's own documents.

The hub issues two credential types from its registry (Corp ID §6):

- **business registration** (``urn:bayflow:vct:business-registration:1``) from the
  :class:`~bayflow.identity.models.Organisation` record: legal names, jurisdiction, city,
  registry numbers and LEI, each disclosable on its own; ``sub`` is the organisation's did:web.
- **authorised signatory** (``urn:bayflow:vct:authorised-signatory:1``) from a
  :class:`~bayflow.identity.models.Person` and a :class:`~bayflow.identity.models.Mandate`
  that lets them sign, alone or with others.

Holder keys (``cnf.jwk``): a business registration credential is bound to the
*organisation's* current key, which the organisation's administrators hold in their key files,
so any administrator can present it and nobody else can. An authorised-signatory credential is
bound to *that person's* key: only the signatory can present it. A credential made for a
pre-filled form (:mod:`bayflow.identity.forms`) is bound to the approving person's key, so
the key binding JWT is that person's own act. Rotating a key does not re-bind a credential:
issue a new one.

Revocation uses one Token Status List per 131,072 credentials with two bits an entry
(VALID, INVALID, SUSPENDED). Indices are drawn at random rather than in issue order, so a
verifier learns nothing about when or in what order credentials were issued (the "herd
privacy" of draft-ietf-oauth-status-list §12), and a list is retired once half full, keeping
the random draw cheap. The list is rebuilt from the credentials' recorded states each time it
is served, so a revocation is visible to the next fetch.

Documents (licences, permits, certificates) are stored whole with their SHA-256 digest and
visible only to their organisation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from bayflow.clock import Clock
from bayflow.crypto.jose import PublicJWK
from bayflow.errors import Conflict, InvalidInput, NotFound
from bayflow.identity.credentials import (
    AUTHORISED_SIGNATORY_VCT,
    BUSINESS_REGISTRATION_VCT,
    ClaimSet,
    authorised_signatory_claims,
    business_registration_claims,
    issue_credential,
)
from bayflow.identity.errors import DocumentTooLarge
from bayflow.identity.interfaces import WalletRepository
from bayflow.identity.issuer import CredentialIssuer
from bayflow.identity.models import KeyOwner, Mandate, Organisation, Person, PublicKey, Role
from bayflow.identity.service import IdentityService, did_for
from bayflow.identity.status_list import StatusList, StatusValue, issue_status_list_token
from bayflow.ids import new_id

__all__ = [
    "CREDENTIAL_LIFETIME",
    "MAX_DOCUMENT_BYTES",
    "STATUS_LIST_BITS",
    "STATUS_LIST_SIZE",
    "CredentialState",
    "CredentialType",
    "DocumentKind",
    "StatusListRecord",
    "StoredCredential",
    "WalletDocument",
    "WalletService",
]

CREDENTIAL_LIFETIME: Final = timedelta(days=365)
STATUS_LIST_SIZE: Final = 1 << 17
STATUS_LIST_BITS: Final = 2
MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
# How long a verifier may reuse a fetched list (§13.7), and how long the signed list is valid:
# revocation reaches a caching verifier within the ttl.
STATUS_LIST_TTL: Final = timedelta(minutes=5)
STATUS_LIST_VALIDITY: Final = timedelta(days=1)
_ALLOCATION_ATTEMPTS: Final = 16
# RFC 6838 §4.2 restricted names, type "/" subtype; parameters are dropped before the check.
_RESTRICTED_NAME: Final = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_CONTENT_TYPE: Final = re.compile(f"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}")


class CredentialType(StrEnum):
    BUSINESS_REGISTRATION = "business-registration"
    AUTHORISED_SIGNATORY = "authorised-signatory"

    @property
    def vct(self) -> str:
        if self is CredentialType.BUSINESS_REGISTRATION:
            return BUSINESS_REGISTRATION_VCT
        return AUTHORISED_SIGNATORY_VCT


class CredentialState(StrEnum):
    """A credential's entry in its status list; REVOKED is final, SUSPENDED is not."""

    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"

    @property
    def status_value(self) -> StatusValue:
        return {
            CredentialState.VALID: StatusValue.VALID,
            CredentialState.REVOKED: StatusValue.INVALID,
            CredentialState.SUSPENDED: StatusValue.SUSPENDED,
        }[self]


_TRANSITIONS: Final = {
    CredentialState.VALID: frozenset({CredentialState.REVOKED, CredentialState.SUSPENDED}),
    CredentialState.SUSPENDED: frozenset({CredentialState.VALID, CredentialState.REVOKED}),
    CredentialState.REVOKED: frozenset[CredentialState](),
}


class DocumentKind(StrEnum):
    LICENCE = "licence"
    PERMIT = "permit"
    CERTIFICATE = "certificate"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """An issued credential as the wallet keeps it.

    ``subject_id`` is the organisation (business registration) or the person (authorised
    signatory). ``holder_kid`` names the key in ``cnf``. ``mandate_id`` is the mandate an
    authorised-signatory credential rests on; ``form_request_id`` the pre-filled form a
    credential was made for; both are ``None`` otherwise. ``sd_jwt`` is the issued SD-JWT with
    every disclosure: only the holder's organisation ever reads it.
    """

    id: str
    organisation_id: str
    type: CredentialType
    subject_id: str
    holder_kid: str
    sd_jwt: str
    status_list_id: int
    status_idx: int
    state: CredentialState
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    mandate_id: str | None = None
    form_request_id: str | None = None
    state_changed_at: datetime | None = None
    state_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StatusListRecord:
    """One status list: its id (the last segment of its URI), shape and how many are used."""

    id: int
    bits: int
    size: int
    used: int = 0


@dataclass(frozen=True, slots=True)
class WalletDocument:
    """An uploaded document's record. ``issuer``, ``reference`` and ``expires_on`` are what
    the uploader said about it (``None``: not stated); the hub has not checked them."""

    id: str
    organisation_id: str
    kind: DocumentKind
    name: str
    content_type: str
    sha256: bytes
    size: int
    uploaded_by: str
    uploaded_at: datetime
    issuer: str | None = None
    reference: str | None = None
    expires_on: date | None = None
    content: bytes | None = field(default=None, repr=False)


def _newest(keys: list[PublicKey]) -> PublicKey:
    return max(keys, key=lambda k: k.created_at)


def _mandate_covers(mandate: Mandate, person: Person, now: datetime) -> bool:
    return (
        mandate.in_force_at(now)
        and (mandate.role is None or mandate.role in person.roles)
        and (not mandate.persons or person.id in mandate.persons)
    )


def _clean_text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def _document_name(name: str) -> str:
    # Only the last path component, without control characters: the name is shown to people
    # and offered back as a download name, never used as a path on the hub.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in base):
        raise InvalidInput("a document name may not contain control characters")
    clean = _clean_text(base, "document name", 255)
    if clean is None or clean in {".", ".."}:
        raise InvalidInput("a document needs a file name")
    return clean


class WalletService:
    """Issues, lists and revokes an organisation's credentials, and keeps its documents.

    The service never commits; access control (who may call) is the caller's, while every
    method that takes an ``organisation_id`` only ever returns that organisation's records.
    """

    def __init__(
        self,
        repository: WalletRepository,
        identity: IdentityService,
        issuer: CredentialIssuer,
        clock: Clock,
    ) -> None:
        self._repo = repository
        self._identity = identity
        self._issuer = issuer
        self._clock = clock

    @property
    def issuer(self) -> CredentialIssuer:
        return self._issuer

    # Issuance ---------------------------------------------------------------------------

    def issue_business_registration(
        self,
        organisation_id: str,
        *,
        issued_by: str,
        holder: PublicKey | None = None,
        form_request_id: str | None = None,
    ) -> StoredCredential:
        """Issue the organisation's business registration credential.

        ``holder`` defaults to the organisation's current key; a form approval passes the
        approving person's key instead.
        """
        org = self._identity.organisation(organisation_id)
        if holder is None:
            holder = self._current_key(org.id, KeyOwner.ORGANISATION)
        claims = self._business_registration(org)
        return self._issue(
            org.id,
            CredentialType.BUSINESS_REGISTRATION,
            claims,
            subject_id=org.id,
            holder=holder,
            issued_by=issued_by,
            expires_at=self._clock.now() + CREDENTIAL_LIFETIME,
            form_request_id=form_request_id,
        )

    def issue_authorised_signatory(
        self,
        organisation_id: str,
        person_id: str,
        *,
        issued_by: str,
        mandate_id: str | None = None,
    ) -> StoredCredential:
        """Issue ``person_id``'s authorised-signatory credential under a mandate in force.

        ``mandate_id`` picks the mandate; by default the one needing fewest signers. A person
        no mandate in force names (by role or by name) gets none: :class:`Conflict`.
        """
        org = self._identity.organisation(organisation_id)
        person = self._identity.person(person_id, organisation_id=org.id)
        now = self._clock.now()
        mandate = self._signing_mandate(org.id, person, mandate_id, now)
        role = mandate.role or next(
            (r for r in sorted(person.roles) if r is not Role.ADMINISTRATOR), Role.DELEGATE
        )
        valid_until = mandate.valid_until
        expires_at = now + CREDENTIAL_LIFETIME
        if valid_until is not None:
            expires_at = min(expires_at, valid_until)
        limit = None
        if mandate.limit is not None:
            limit = (str(mandate.limit.amount), mandate.limit.currency)
        summary = mandate.description
        if mandate.min_signers > 1:
            summary = f"{summary} (signs with {mandate.min_signers - 1} other signer(s))"
        claims = authorised_signatory_claims(
            person_id=person.id,
            person_name=person.name,
            role=role.value,
            organisation_id=did_for(self._issuer.issuer, org.id),
            organisation_name=org.legal_name_en,
            mandate_summary=summary,
            mandate_limit=limit,
            valid_from=mandate.valid_from.date(),
            valid_until=valid_until.date() if valid_until is not None else None,
        )
        return self._issue(
            org.id,
            CredentialType.AUTHORISED_SIGNATORY,
            claims,
            subject_id=person.id,
            holder=self._current_key(person.id, KeyOwner.PERSON),
            issued_by=issued_by,
            expires_at=expires_at,
            mandate_id=mandate.id,
        )

    def _business_registration(self, org: Organisation) -> ClaimSet:
        ids = org.identifiers
        registry = {
            name: value
            for name, value in (
                ("hk_brn", ids.hk_brn),
                ("cn_uscc", ids.cn_uscc),
                ("mo_reg", ids.mo_registration),
            )
            if value
        }
        if not registry:
            # The operator itself is admitted without a registry number.
            raise Conflict(f"{org.legal_name_en} has no registry number to attest")
        return business_registration_claims(
            organisation_id=did_for(self._issuer.issuer, org.id),
            legal_name_en=org.legal_name_en,
            legal_name_zh=org.legal_name_zh,
            jurisdiction=org.jurisdiction.value,
            city=org.city.value,
            registry_identifiers=registry,
            lei=ids.lei,
        )

    def _current_key(self, owner_id: str, owner: KeyOwner) -> PublicKey:
        keys = [k for k in self._identity.active_keys_of(owner_id) if k.owner is owner]
        if not keys:
            raise Conflict(f"{owner_id} has no key in force to bind a credential to")
        return _newest(keys)

    def _signing_mandate(
        self, organisation_id: str, person: Person, mandate_id: str | None, now: datetime
    ) -> Mandate:
        mandates = self._identity.mandates(organisation_id)
        if mandate_id is not None:
            chosen = next((m for m in mandates if m.id == mandate_id), None)
            if chosen is None:
                raise NotFound(f"no mandate {mandate_id}")
            if not _mandate_covers(chosen, person, now):
                raise Conflict(f"mandate {mandate_id} does not cover {person.name} now")
            return chosen
        covering = sorted(
            (m for m in mandates if _mandate_covers(m, person, now)),
            key=lambda m: (m.min_signers, m.id),
        )
        if not covering:
            raise Conflict(f"{person.name} holds no signing mandate in force")
        return covering[0]

    def _issue(
        self,
        organisation_id: str,
        credential_type: CredentialType,
        claims: ClaimSet,
        *,
        subject_id: str,
        holder: PublicKey,
        issued_by: str,
        expires_at: datetime,
        mandate_id: str | None = None,
        form_request_id: str | None = None,
    ) -> StoredCredential:
        now = self._clock.now()
        if expires_at <= now:
            raise Conflict("the credential would expire before it is issued")
        status_list = self._status_list_with_room(now)
        for _ in range(_ALLOCATION_ATTEMPTS):
            idx = secrets.randbelow(status_list.size)
            sd_jwt = issue_credential(
                self._issuer.key,
                self._issuer.issuer,
                claims.vct,
                claims.claims,
                disclosable=claims.disclosable,
                holder_jwk=PublicJWK.from_ed25519(holder.public_key),
                status=(self._issuer.status_list_uri(status_list.id), idx),
                now=now,
                expires_in=expires_at - now,
            )
            credential = StoredCredential(
                id=new_id("cred"),
                organisation_id=organisation_id,
                type=credential_type,
                subject_id=subject_id,
                holder_kid=holder.kid,
                sd_jwt=sd_jwt,
                status_list_id=status_list.id,
                status_idx=idx,
                state=CredentialState.VALID,
                issued_at=now,
                expires_at=expires_at,
                issued_by=issued_by,
                mandate_id=mandate_id,
                form_request_id=form_request_id,
            )
            if self._repo.add_credential(credential):
                return credential
        # At most half the entries are taken, so sixteen misses in a row are a 1 in 65,536
        # event: something else is wrong, and retrying forever would hide it.
        raise Conflict("could not allocate a status list entry; try again")

    def _status_list_with_room(self, now: datetime) -> StatusListRecord:
        current = self._repo.latest_status_list()
        if current is None or current.used >= current.size // 2:
            return self._repo.add_status_list(STATUS_LIST_SIZE, STATUS_LIST_BITS, now=now)
        return current

    # Reading ----------------------------------------------------------------------------

    def credentials(self, organisation_id: str) -> list[StoredCredential]:
        return self._repo.list_credentials(organisation_id)

    def credential(self, organisation_id: str | None, credential_id: str) -> StoredCredential:
        """One credential; ``organisation_id`` ``None`` means any organisation's (operator)."""
        found = self._repo.get_credential(credential_id)
        if found is None or (
            organisation_id is not None and found.organisation_id != organisation_id
        ):
            raise NotFound(f"no credential {credential_id}")
        return found

    # Status -----------------------------------------------------------------------------

    def set_state(
        self,
        organisation_id: str | None,
        credential_id: str,
        state: CredentialState,
        *,
        reason: str | None = None,
    ) -> StoredCredential:
        """Revoke, suspend or reinstate a credential; revocation is final."""
        credential = self.credential(organisation_id, credential_id)
        if state is credential.state:
            return credential
        if state not in _TRANSITIONS[credential.state]:
            raise Conflict(f"a {credential.state.value} credential cannot become {state.value}")
        now = self._clock.now()
        clean = _clean_text(reason, "reason", 300)
        self._repo.set_credential_state(credential.id, state, now=now, reason=clean)
        return replace(credential, state=state, state_changed_at=now, state_reason=clean)

    def revoke_lapsed_signatories(self, organisation_id: str, person_id: str) -> list[str]:
        """Revoke ``person_id``'s signatory credentials whose mandate no longer covers them.

        Called when a person's roles change; returns the ids revoked.
        """
        person = self._identity.person(person_id, organisation_id=organisation_id)
        now = self._clock.now()
        mandates = {m.id: m for m in self._identity.mandates(organisation_id)}
        revoked: list[str] = []
        for credential in self._repo.credentials_of_subject(person.id):
            if (
                credential.type is not CredentialType.AUTHORISED_SIGNATORY
                or credential.state is CredentialState.REVOKED
            ):
                continue
            mandate = mandates.get(credential.mandate_id or "")
            if mandate is not None and _mandate_covers(mandate, person, now):
                continue
            self._repo.set_credential_state(
                credential.id,
                CredentialState.REVOKED,
                now=now,
                reason="the person no longer holds the role or mandate it attests",
            )
            revoked.append(credential.id)
        return revoked

    def status_list_token(self, list_id: int) -> str:
        """The signed Status List Token for list ``list_id``, as of now."""
        record = self._repo.get_status_list(list_id)
        if record is None:
            raise NotFound(f"no status list {list_id}")
        statuses = StatusList(record.size, bits=record.bits)
        for idx, state in self._repo.status_entries(list_id):
            statuses.set(idx, state.status_value)
        return issue_status_list_token(
            self._issuer.key,
            statuses,
            uri=self._issuer.status_list_uri(list_id),
            now=self._clock.now(),
            issuer=self._issuer.issuer,
            expires_in=STATUS_LIST_VALIDITY,
            ttl=STATUS_LIST_TTL,
        )

    # Documents --------------------------------------------------------------------------

    def add_document(
        self,
        organisation_id: str,
        *,
        uploaded_by: str,
        kind: DocumentKind,
        name: str,
        content_type: str,
        content: bytes,
        issuer: str | None = None,
        reference: str | None = None,
        expires_on: date | None = None,
    ) -> WalletDocument:
        self._identity.organisation(organisation_id)
        if not content:
            raise InvalidInput("the document is empty")
        if len(content) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(
                f"a document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB"
            )
        media_type = content_type.split(";", 1)[0].strip().lower()
        if not _CONTENT_TYPE.fullmatch(media_type):
            raise InvalidInput(f"{content_type!r} is not a media type such as application/pdf")
        document = WalletDocument(
            id=new_id("doc"),
            organisation_id=organisation_id,
            kind=kind,
            name=_document_name(name),
            content_type=media_type,
            sha256=hashlib.sha256(content).digest(),
            size=len(content),
            uploaded_by=uploaded_by,
            uploaded_at=self._clock.now(),
            issuer=_clean_text(issuer, "issuer", 300),
            reference=_clean_text(reference, "reference", 100),
            expires_on=expires_on,
        )
        self._repo.add_document(document, content)
        return document

    def documents(self, organisation_id: str) -> list[WalletDocument]:
        return self._repo.list_documents(organisation_id)

    def document(
        self, organisation_id: str, document_id: str, *, with_content: bool = False
    ) -> WalletDocument:
        found = self._repo.get_document(document_id, with_content=with_content)
        if found is None or found.organisation_id != organisation_id:
            raise NotFound(f"no document {document_id}")
        return found
