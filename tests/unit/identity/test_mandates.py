from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.errors import InvalidInput
from bayflow.identity.errors import InvalidOrganisation, MandateNotSatisfied
from bayflow.identity.mandates import Authority, NoAuthority, check_authority, require_authority
from bayflow.identity.models import Mandate, Money, Person, Role

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BAYLINE = "org_bayline"


def person(pid: str, name: str, *roles: Role, org: str = BAYLINE) -> Person:
    return Person(pid, org, name, None, frozenset(roles), NOW - timedelta(days=30))


CHEN_WEI = person("per_chen", "Chen Wei", Role.DIRECTOR)
LI_NA = person("per_li", "Li Na", Role.DELEGATE)
ZHANG = person("per_zhang", "Zhang San", Role.DIRECTOR)
WONG = person("per_wong", "Wong Ka Ming", Role.DIRECTOR, org="org_lionrock")

SOLE_DIRECTOR_UP_TO_2M = Mandate(
    id="man_sole",
    organisation_id=BAYLINE,
    description="one director up to RMB 2,000,000",
    role=Role.DIRECTOR,
    min_signers=1,
    limit=Money("CNY", Decimal(2_000_000)),
    valid_from=NOW - timedelta(days=365),
)
ANY_TWO_DIRECTORS = Mandate(
    id="man_two",
    organisation_id=BAYLINE,
    description="any two directors",
    role=Role.DIRECTOR,
    min_signers=2,
    valid_from=NOW - timedelta(days=365),
)
MANDATES = [SOLE_DIRECTOR_UP_TO_2M, ANY_TWO_DIRECTORS]


class TestCheckAuthority:
    """Signers bind the organisation only under a mandate in force that covers the action."""

    def test_a_director_alone_may_approve_a_consent(self) -> None:
        result = check_authority(BAYLINE, MANDATES, [CHEN_WEI], action="consent:approve", now=NOW)
        assert isinstance(result, Authority)
        assert result.mandate is SOLE_DIRECTOR_UP_TO_2M
        assert result.signers == (CHEN_WEI,)
        assert "Chen Wei" in result.explain()

    def test_a_delegate_without_a_mandate_is_refused_with_reasons(self) -> None:
        result = check_authority(BAYLINE, MANDATES, [LI_NA], action="consent:approve", now=NOW)
        assert isinstance(result, NoAuthority)
        assert not result
        assert any("needs 1 signer(s) with role director; 0 signed" in r for r in result.reasons)
        assert any("needs 2 signer(s)" in r for r in result.reasons)

    def test_the_sole_limit_applies_to_larger_amounts(self) -> None:
        amount = Money("CNY", Decimal(3_000_000))
        alone = check_authority(
            BAYLINE, MANDATES, [CHEN_WEI], action="loan:sign", now=NOW, amount=amount
        )
        assert isinstance(alone, NoAuthority)
        assert any(
            "limited to CNY 2,000,000.00, below CNY 3,000,000.00" in r for r in alone.reasons
        )
        together = check_authority(
            BAYLINE, MANDATES, [CHEN_WEI, ZHANG], action="loan:sign", now=NOW, amount=amount
        )
        assert isinstance(together, Authority)
        assert together.mandate is ANY_TWO_DIRECTORS

    def test_amounts_in_another_currency_are_not_converted(self) -> None:
        result = check_authority(
            BAYLINE,
            [SOLE_DIRECTOR_UP_TO_2M],
            [CHEN_WEI],
            action="loan:sign",
            now=NOW,
            amount=Money("HKD", Decimal(10)),
        )
        assert isinstance(result, NoAuthority)
        assert "limited in CNY, the amount is in HKD" in result.reasons[0]

    def test_the_same_signer_twice_counts_once(self) -> None:
        result = check_authority(
            BAYLINE, [ANY_TWO_DIRECTORS], [CHEN_WEI, CHEN_WEI], action="loan:sign", now=NOW
        )
        assert isinstance(result, NoAuthority)

    def test_signers_of_another_organisation_never_count(self) -> None:
        result = check_authority(
            BAYLINE, [ANY_TWO_DIRECTORS], [CHEN_WEI, WONG], action="loan:sign", now=NOW
        )
        assert isinstance(result, NoAuthority)
        assert "Wong Ka Ming is not a member of this organisation" in result.reasons

    def test_mandates_not_yet_in_force_or_ended_do_not_apply(self) -> None:
        future = Mandate(
            id="man_future",
            organisation_id=BAYLINE,
            description="from next year",
            role=Role.DIRECTOR,
            min_signers=1,
            valid_from=NOW + timedelta(days=1),
        )
        ended = Mandate(
            id="man_ended",
            organisation_id=BAYLINE,
            description="last year",
            role=Role.DIRECTOR,
            min_signers=1,
            valid_from=NOW - timedelta(days=400),
            valid_until=NOW,
        )
        result = check_authority(BAYLINE, [future, ended], [CHEN_WEI], action="x:y", now=NOW)
        assert isinstance(result, NoAuthority)
        assert any("not in force until" in r for r in result.reasons)
        assert any("ended on" in r for r in result.reasons)
        later = check_authority(
            BAYLINE, [future], [CHEN_WEI], action="x:y", now=NOW + timedelta(days=2)
        )
        assert isinstance(later, Authority)

    def test_mandates_limited_to_actions_cover_only_those(self) -> None:
        consent_only = Mandate(
            id="man_consent",
            organisation_id=BAYLINE,
            description="consents only",
            persons=frozenset({LI_NA.id}),
            min_signers=1,
            actions=frozenset({"consent:approve"}),
            valid_from=NOW - timedelta(days=1),
        )
        assert check_authority(BAYLINE, [consent_only], [LI_NA], action="consent:approve", now=NOW)
        refused = check_authority(BAYLINE, [consent_only], [LI_NA], action="loan:sign", now=NOW)
        assert isinstance(refused, NoAuthority)
        assert "does not cover loan:sign (only consent:approve)" in refused.reasons[0]

    def test_an_organisation_without_mandates_cannot_be_bound(self) -> None:
        result = check_authority(BAYLINE, [], [CHEN_WEI], action="consent:approve", now=NOW)
        assert result == NoAuthority(("the organisation has no signing mandates",))

    def test_malformed_action_names_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="domain:verb"):
            check_authority(BAYLINE, MANDATES, [CHEN_WEI], action="Approve!", now=NOW)

    @given(
        extra=st.lists(st.sampled_from([CHEN_WEI, LI_NA, ZHANG, WONG]), min_size=0, max_size=4),
        base=st.lists(st.sampled_from([CHEN_WEI, LI_NA, ZHANG, WONG]), min_size=0, max_size=4),
        amount=st.one_of(st.none(), st.integers(1, 5_000_000)),
    )
    def test_more_signers_never_take_authority_away(
        self, base: list[Person], extra: list[Person], amount: int | None
    ) -> None:
        money = None if amount is None else Money("CNY", Decimal(amount))
        before = check_authority(BAYLINE, MANDATES, base, action="loan:sign", now=NOW, amount=money)
        after = check_authority(
            BAYLINE, MANDATES, base + extra, action="loan:sign", now=NOW, amount=money
        )
        assert not before or after


class TestRequireAuthority:
    """The raising form carries every reason."""

    def test_raises_mandate_not_satisfied_with_reasons(self) -> None:
        with pytest.raises(MandateNotSatisfied) as raised:
            require_authority(BAYLINE, MANDATES, [LI_NA], action="consent:approve", now=NOW)
        assert len(raised.value.reasons) == 2
        assert raised.value.exit_code != 0

    def test_returns_the_authority_when_satisfied(self) -> None:
        authority = require_authority(
            BAYLINE, MANDATES, [CHEN_WEI], action="consent:approve", now=NOW
        )
        assert authority.mandate is SOLE_DIRECTOR_UP_TO_2M


class TestMandate:
    """Mandates uphold their invariants when built."""

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"min_signers": 0, "role": Role.DIRECTOR}, "at least one signer"),
            ({"min_signers": 1}, "names a role, or people"),
            (
                {"min_signers": 1, "role": Role.DIRECTOR, "valid_until": NOW - timedelta(1)},
                "end after it starts",
            ),
            (
                {"min_signers": 1, "role": Role.DIRECTOR, "limit": Money("HKD", Decimal(0))},
                "limit must be positive",
            ),
        ],
    )
    def test_ill_formed_mandates_are_refused(self, kwargs: dict, message: str) -> None:
        with pytest.raises(InvalidOrganisation, match=message):
            Mandate(id="m", organisation_id=BAYLINE, description="d", valid_from=NOW, **kwargs)
