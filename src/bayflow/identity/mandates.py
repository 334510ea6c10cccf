"""May these signers bind this organisation for this action, now?

One question, one function: :func:`check_authority` answers it from mandates held as data and
says why not for every mandate that does not apply. :func:`require_authority` is the raising
form for code paths that must stop (approving a consent, signing a contract).

The answer follows a company's signing rules as a company secretary writes them: a mandate
names a role ("any two directors") or people, a number of signers, optionally the actions it
covers, a monetary limit, and the dates it is in force. Limits never convert currencies: an
amount in another currency than the limit's is outside the mandate, because an exchange rate
is not the mandate's to choose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bayflow.errors import InvalidInput
from bayflow.identity.errors import MandateNotSatisfied
from bayflow.identity.models import Mandate, Money, Person

__all__ = ["Authority", "NoAuthority", "check_action", "check_authority", "require_authority"]

# Actions are "domain:subject:verb"-style names, e.g. "consent:approve", "document:sign".
_ACTION = re.compile(r"[a-z][a-z_]*(:[a-z][a-z_]*)+")


def check_action(action: str) -> str:
    if not _ACTION.fullmatch(action):
        msg = f"action {action!r} is not of the form domain:verb (e.g. consent:approve)"
        raise InvalidInput(msg)
    return action


@dataclass(frozen=True, slots=True)
class Authority:
    """The signers may bind the organisation, under ``mandate``."""

    mandate: Mandate
    signers: tuple[Person, ...]

    def __bool__(self) -> bool:
        return True

    def explain(self) -> str:
        names = ", ".join(p.name for p in self.signers)
        return f"{names} under mandate {self.mandate.id} ({self.mandate.description})"


@dataclass(frozen=True, slots=True)
class NoAuthority:
    """The signers may not; ``reasons`` has one line per obstacle."""

    reasons: tuple[str, ...]

    def __bool__(self) -> bool:
        return False


def _obstacle(  # noqa: PLR0911 - one guard, one reason: flatter than nesting.
    mandate: Mandate, action: str, amount: Money | None, now: datetime
) -> str | None:
    """Why ``mandate`` cannot cover this action at all, whoever signs; ``None`` if it can."""
    if now < mandate.valid_from:
        return f"is not in force until {mandate.valid_from.isoformat()}"
    if mandate.valid_until is not None and now >= mandate.valid_until:
        return f"ended on {mandate.valid_until.isoformat()}"
    if mandate.actions and action not in mandate.actions:
        return f"does not cover {action} (only {', '.join(sorted(mandate.actions))})"
    if amount is None or mandate.limit is None:
        return None
    if amount.currency != mandate.limit.currency:
        return f"is limited in {mandate.limit.currency}, the amount is in {amount.currency}"
    if amount.amount > mandate.limit.amount:
        return f"is limited to {mandate.limit}, below {amount}"
    return None


def _why_not(
    mandate: Mandate,
    signers: Sequence[Person],
    action: str,
    amount: Money | None,
    now: datetime,
) -> tuple[str | None, tuple[Person, ...]]:
    label = f"mandate {mandate.id} ({mandate.description})"
    obstacle = _obstacle(mandate, action, amount, now)
    if obstacle is not None:
        return f"{label} {obstacle}", ()
    eligible = tuple(
        p
        for p in signers
        if (mandate.role is None or mandate.role in p.roles)
        and (not mandate.persons or p.id in mandate.persons)
    )
    if len(eligible) < mandate.min_signers:
        who = f"with role {mandate.role.label.lower()}" if mandate.role else "named in it"
        have = ", ".join(p.name for p in eligible) or "none"
        needed = f"needs {mandate.min_signers} signer(s) {who}"
        return f"{label} {needed}; {len(eligible)} signed ({have})", ()
    return None, eligible[: mandate.min_signers]


def check_authority(
    organisation_id: str,
    mandates: Iterable[Mandate],
    signers: Iterable[Person],
    *,
    action: str,
    now: datetime,
    amount: Money | None = None,
) -> Authority | NoAuthority:
    """Whether ``signers`` together may bind ``organisation_id`` for ``action`` at ``now``.

    ``amount`` is the action's value where it has one (a loan, a contract); ``None`` means the
    action has no monetary value, and then limits do not restrict it. Signers from another
    organisation never count. When several mandates suffice, the one needing fewest signers
    is reported.
    """
    check_action(action)
    reasons: list[str] = []
    members: list[Person] = []
    seen: set[str] = set()
    for person in signers:
        if person.id in seen:
            continue
        seen.add(person.id)
        if person.organisation_id != organisation_id:
            reasons.append(f"{person.name} is not a member of this organisation")
        else:
            members.append(person)

    own = [m for m in mandates if m.organisation_id == organisation_id]
    if not own:
        return NoAuthority((*reasons, "the organisation has no signing mandates"))
    if not members:
        return NoAuthority((*reasons, "no signer of this organisation signed"))

    granted: list[Authority] = []
    for mandate in sorted(own, key=lambda m: (m.min_signers, m.id)):
        reason, used = _why_not(mandate, members, action, amount, now)
        if reason is None:
            granted.append(Authority(mandate, used))
        else:
            reasons.append(reason)
    if granted:
        return granted[0]
    return NoAuthority(tuple(reasons))


def require_authority(
    organisation_id: str,
    mandates: Iterable[Mandate],
    signers: Iterable[Person],
    *,
    action: str,
    now: datetime,
    amount: Money | None = None,
) -> Authority:
    """As :func:`check_authority`, raising :class:`MandateNotSatisfied` with every reason."""
    result = check_authority(
        organisation_id, mandates, signers, action=action, now=now, amount=amount
    )
    if isinstance(result, NoAuthority):
        raise MandateNotSatisfied(
            f"the signers may not bind the organisation for {action}: {result.reasons[-1]}",
            reasons=list(result.reasons),
        )
    return result
