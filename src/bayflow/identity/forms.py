"""Pre-filled forms: a service asks for an organisation's profile, an authorised person shares.

Corp ID's "authorised data retrieval for pre-filled forms". A service (a bank's loan
application) asks for named profile fields of an organisation, with a purpose, its own
audience string and a fresh nonce. A person of that organisation whose mandate covers the
action ``profile:share`` approves, choosing which of the asked fields to share, and the
service receives an SD-JWT VC presentation disclosing just those fields.

Why a presentation rather than a hub-signed copy of the fields: the requester can check it
offline with the hub's published issuer key like any other presentation, and its key binding
JWT is signed by the approving person's own key over the request's nonce and audience, so the
record proves who shared what with whom, not merely that the hub said so.

The exchange, in order:

0. The requester creates the request (``PENDING``; it expires after a week unanswered).
1. The approver asks for a credential for it: the hub checks the mandate and issues a business
   registration credential bound to the approver's current key (reused if asked again).
2. The approver's client makes the presentation locally, disclosing the chosen fields.
3. The approver submits it: the hub checks the mandate again, verifies the presentation
   (issuer, the credential made in step 1, holder key, audience, nonce, and that exactly the
   chosen fields are disclosed) and stores it (``APPROVED``). Or the approver declines.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from bayflow.clock import Clock
from bayflow.crypto.jose import b64url_encode
from bayflow.errors import Conflict, InvalidInput, NotFound
from bayflow.identity.credentials import (
    BUSINESS_REGISTRATION_VCT,
    format_claim_path,
    parse_claim_path,
    verify_presentation,
)
from bayflow.identity.errors import ClaimNotDisclosable, CredentialError, MandateNotSatisfied
from bayflow.identity.interfaces import FormRepository
from bayflow.identity.mandates import NoAuthority
from bayflow.identity.models import KeyOwner
from bayflow.identity.service import IdentityService
from bayflow.identity.wallet import CredentialState, StoredCredential, WalletService
from bayflow.ids import new_id

__all__ = [
    "FORM_REQUEST_LIFETIME",
    "PROFILE_FIELDS",
    "SHARE_ACTION",
    "FormRequest",
    "FormService",
    "FormState",
    "check_fields",
]

SHARE_ACTION: Final = "profile:share"
FORM_REQUEST_LIFETIME: Final = timedelta(days=7)
PROFILE_FIELDS: Final = frozenset(
    {
        "legal_name",
        "legal_name.en",
        "legal_name.zh",
        "jurisdiction",
        "city",
        "registry_identifiers",
        "registry_identifiers.hk_brn",
        "registry_identifiers.cn_uscc",
        "registry_identifiers.mo_reg",
        "lei",
    }
)
"""What may be asked for: claim paths of the business registration credential."""

_MAX_TEXT: Final = 500
_MAX_NONCE: Final = 128
_MIN_NONCE: Final = 8


class FormState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class FormRequest:
    """A request for profile fields and, once answered, the answer.

    ``shared_fields`` and ``presentation`` are set on approval; ``decided_by`` and
    ``decided_at`` on approval or refusal; ``reason`` only on refusal. The stored ``state``
    stays PENDING past ``expires_at``; :meth:`state_at` says EXPIRED then.
    """

    id: str
    requester_org: str
    requester_person: str
    subject_org: str
    fields: tuple[str, ...]
    purpose: str
    audience: str
    nonce: str
    state: FormState
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    shared_fields: tuple[str, ...] = ()
    credential_id: str | None = None
    presentation: str | None = None
    reason: str | None = None

    def state_at(self, now: datetime) -> FormState:
        if self.state is FormState.PENDING and now >= self.expires_at:
            return FormState.EXPIRED
        return self.state


def _inside(path: str, container: str) -> bool:
    return path == container or path.startswith(container + ".")


def check_fields(fields: Iterable[str]) -> tuple[str, ...]:
    """Validate and normalise field names; refuse unknown ones and empty lists."""
    seen: list[str] = []
    for name in fields:
        text = name.strip()
        if not text:
            continue
        try:
            normal = format_claim_path(parse_claim_path(text))
        except ClaimNotDisclosable as exc:
            raise InvalidInput(exc.message) from exc
        if normal not in PROFILE_FIELDS:
            known = ", ".join(sorted(PROFILE_FIELDS))
            raise InvalidInput(f"{text!r} is not a profile field; ask for one of {known}")
        if normal not in seen:
            seen.append(normal)
    if not seen:
        raise InvalidInput("name at least one profile field")
    return tuple(seen)


def _clean(value: str, what: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(value.split())
    if not text:
        raise InvalidInput(f"{what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


class FormService:
    """Records form requests and their answers; the caller owns the transaction."""

    def __init__(
        self,
        repository: FormRepository,
        wallet: WalletService,
        identity: IdentityService,
        clock: Clock,
    ) -> None:
        self._repo = repository
        self._wallet = wallet
        self._identity = identity
        self._clock = clock

    def create(
        self,
        *,
        requester_org: str,
        requester_person: str,
        subject_org: str,
        fields: Sequence[str],
        purpose: str,
        audience: str,
        nonce: str | None = None,
    ) -> FormRequest:
        """Ask ``subject_org`` for ``fields``. ``nonce`` ``None`` draws 128 random bits."""
        self._identity.organisation(subject_org)
        if subject_org == requester_org:
            raise InvalidInput("an organisation reads its own profile directly, not by request")
        if nonce is None:
            nonce = b64url_encode(secrets.token_bytes(16))
        if not _MIN_NONCE <= len(nonce) <= _MAX_NONCE or not nonce.isprintable() or " " in nonce:
            raise InvalidInput(
                f"a nonce is {_MIN_NONCE} to {_MAX_NONCE} printable characters without spaces"
            )
        now = self._clock.now()
        request = FormRequest(
            id=new_id("form"),
            requester_org=requester_org,
            requester_person=requester_person,
            subject_org=subject_org,
            fields=check_fields(fields),
            purpose=_clean(purpose, "purpose"),
            audience=_clean(audience, "audience", 300),
            nonce=nonce,
            state=FormState.PENDING,
            created_at=now,
            expires_at=now + FORM_REQUEST_LIFETIME,
        )
        self._repo.add_form_request(request)
        return request

    def request(self, request_id: str, viewer_org: str) -> FormRequest:
        """The request, if ``viewer_org`` asked or was asked; otherwise it does not exist."""
        found = self._repo.get_form_request(request_id)
        if found is None or viewer_org not in {found.requester_org, found.subject_org}:
            raise NotFound(f"no form request {request_id}")
        return found

    def requests(self, viewer_org: str, *, role: str | None = None) -> list[FormRequest]:
        """Requests ``viewer_org`` made (``role="requester"``), received (``"subject"``) or
        both (``None``), newest first."""
        if role not in {None, "requester", "subject"}:
            raise InvalidInput("role is requester or subject")
        return self._repo.list_form_requests(
            viewer_org,
            as_requester=role in {None, "requester"},
            as_subject=role in {None, "subject"},
        )

    def _pending_for(self, request_id: str, organisation_id: str) -> FormRequest:
        request = self.request(request_id, organisation_id)
        if request.subject_org != organisation_id:
            raise Conflict("only the organisation asked can answer a form request")
        state = request.state_at(self._clock.now())
        if state is not FormState.PENDING:
            raise Conflict(f"the form request is {state.value}")
        return request

    def _require_share_authority(self, organisation_id: str, person_id: str) -> None:
        result = self._identity.check_authority(organisation_id, [person_id], action=SHARE_ACTION)
        if isinstance(result, NoAuthority):
            raise MandateNotSatisfied(
                f"you may not share the organisation's profile: {result.reasons[-1]}",
                reasons=list(result.reasons),
            )

    def prepare(self, request_id: str, organisation_id: str, person_id: str) -> StoredCredential:
        """Step 1: the credential the approver presents, bound to their current key."""
        request = self._pending_for(request_id, organisation_id)
        self._require_share_authority(organisation_id, person_id)
        keys = [k for k in self._identity.active_keys_of(person_id) if k.owner is KeyOwner.PERSON]
        if not keys:
            raise Conflict("you have no key in force to present with")
        key = max(keys, key=lambda k: k.created_at)
        for existing in self._wallet.credentials(organisation_id):
            if (
                existing.form_request_id == request.id
                and existing.holder_kid == key.kid
                and existing.state is CredentialState.VALID
            ):
                return existing
        return self._wallet.issue_business_registration(
            organisation_id, issued_by=person_id, holder=key, form_request_id=request.id
        )

    def approve(
        self,
        request_id: str,
        organisation_id: str,
        person_id: str,
        *,
        fields: Sequence[str],
        presentation: str,
    ) -> FormRequest:
        """Step 3: accept the approver's presentation of ``fields`` and record the answer."""
        # 0. The request is pending and addressed to the approver's organisation.
        # 1. The approver's mandate covers profile:share now.
        # 2. The chosen fields are among those asked for.
        # 3. The presentation verifies for this request's audience and nonce.
        # 4. It is the credential prepared for this request, bound to the approver's key.
        # 5. It discloses exactly the chosen fields.
        # (0):
        request = self._pending_for(request_id, organisation_id)
        # (1):
        self._require_share_authority(organisation_id, person_id)
        # (2):
        chosen = check_fields(fields)
        extra = [f for f in chosen if not any(_inside(f, asked) for asked in request.fields)]
        if extra:
            raise InvalidInput(f"{extra[0]!r} was not asked for")
        # (3):
        now = self._clock.now()
        try:
            verified = verify_presentation(
                presentation,
                self._wallet.issuer.trusted,
                audience=request.audience,
                nonce=request.nonce,
                now=now,
                vct=BUSINESS_REGISTRATION_VCT,
            )
        except CredentialError as exc:
            raise InvalidInput(f"the presentation does not verify: {exc.message}") from exc
        # (4):
        credential = next(
            (
                c
                for c in self._wallet.credentials(organisation_id)
                if c.form_request_id == request.id
                and c.holder_kid == verified.holder.kid
                and verified.status is not None
                and verified.status.idx == c.status_idx
                and verified.status.uri == self._wallet.issuer.status_list_uri(c.status_list_id)
            ),
            None,
        )
        if credential is None or credential.state is not CredentialState.VALID:
            raise InvalidInput("present the credential the hub made for this request")
        approver_kids = {k.kid for k in self._identity.active_keys_of(person_id)}
        if credential.holder_kid not in approver_kids:
            raise InvalidInput("the presentation is bound to another person's key")
        # (5):
        disclosed = verified.disclosed
        stray = sorted(d for d in disclosed if not any(_inside(d, f) for f in chosen))
        if stray:
            raise InvalidInput(f"the presentation discloses {stray[0]!r}, which was not chosen")
        missing = [f for f in chosen if not any(_inside(d, f) for d in disclosed)]
        if missing:
            raise InvalidInput(f"the presentation does not disclose {missing[0]!r}")
        approved = replace(
            request,
            state=FormState.APPROVED,
            decided_at=now,
            decided_by=person_id,
            shared_fields=chosen,
            credential_id=credential.id,
            presentation=presentation,
        )
        self._repo.update_form_request(approved)
        return approved

    def decline(
        self, request_id: str, organisation_id: str, person_id: str, *, reason: str | None = None
    ) -> FormRequest:
        """Refuse the request; like approval, it takes a mandate covering profile:share."""
        request = self._pending_for(request_id, organisation_id)
        self._require_share_authority(organisation_id, person_id)
        declined = replace(
            request,
            state=FormState.DECLINED,
            decided_at=self._clock.now(),
            decided_by=person_id,
            reason=_clean(reason, "reason") if reason and reason.strip() else None,
        )
        self._repo.update_form_request(declined)
        return declined
