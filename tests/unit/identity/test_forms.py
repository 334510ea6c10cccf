from datetime import UTC, datetime, timedelta

import pytest

from bayflow.errors import InvalidInput
from bayflow.identity.forms import FORM_REQUEST_LIFETIME, FormRequest, FormState, check_fields

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _request(state: FormState = FormState.PENDING) -> FormRequest:
    return FormRequest(
        id="form_" + "a" * 26,
        requester_org="org_bank",
        requester_person="per_officer",
        subject_org="org_sme",
        fields=("legal_name", "city"),
        purpose="loan",
        audience="https://lionrock.example/loans",
        nonce="nonce-0123456789",
        state=state,
        created_at=NOW,
        expires_at=NOW + FORM_REQUEST_LIFETIME,
    )


class TestCheckFields:
    """Requested fields are business registration claim paths, normalised and deduplicated."""

    def test_keeps_known_fields_in_order_once(self) -> None:
        fields = [" city ", "legal_name.en", "city", "", "registry_identifiers.cn_uscc"]
        assert check_fields(fields) == ("city", "legal_name.en", "registry_identifiers.cn_uscc")

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ([], "at least one"),
            (["turnover"], "not a profile field"),
            (["legal_name.fr"], "not a profile field"),
            (["sub"], "not a profile field"),
            (["a..b"], "not a claim path"),
        ],
    )
    def test_refuses_what_is_not_a_profile_field(self, fields: list[str], message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            check_fields(fields)


class TestFormRequest:
    """An unanswered request reads as expired after its lifetime; an answer never expires."""

    def test_a_pending_request_expires(self) -> None:
        request = _request()
        assert request.state_at(NOW + FORM_REQUEST_LIFETIME - timedelta(seconds=1)) is (
            FormState.PENDING
        )
        assert request.state_at(NOW + FORM_REQUEST_LIFETIME) is FormState.EXPIRED

    def test_an_answer_stays_as_it_was(self) -> None:
        later = NOW + FORM_REQUEST_LIFETIME * 10
        assert _request(FormState.APPROVED).state_at(later) is FormState.APPROVED
        assert _request(FormState.DECLINED).state_at(later) is FormState.DECLINED
