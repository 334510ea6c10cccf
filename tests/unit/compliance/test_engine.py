"""The rules table, rule by rule, through the engine; worked cases; monotonicity properties."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.compliance.engine import RulesEngine, effective_volumes
from bayflow.compliance.models import (
    LEGAL_NOTICE,
    Confidence,
    Decision,
    Route,
    TransferDescription,
    Verdict,
    YearVolumes,
)
from bayflow.compliance.rules import load_packaged_rules

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ENGINE = RulesEngine(load_packaged_rules())

SHENZHEN = {"jurisdiction": "CN", "city": "Shenzhen"}
ZHUHAI = {"jurisdiction": "CN", "city": "Zhuhai"}
BEIJING = {"jurisdiction": "CN", "city": "outside GBA"}
HONG_KONG = {"jurisdiction": "HK", "city": "Hong Kong"}
MACAO = {"jurisdiction": "MO", "city": "Macao"}
SINGAPORE = {"jurisdiction": "OTHER", "city": "outside GBA"}


def describe(
    exporter: dict[str, Any] | None = None,
    recipient: dict[str, Any] | None = None,
    **data: Any,
) -> dict[str, Any]:
    """A Shenzhen -> Hong Kong transfer of personal information, with changes."""
    top = {k: data.pop(k) for k in ("purpose", "sector", "onward_recipients") if k in data}
    return {
        "exporter": exporter or SHENZHEN,
        "recipient": recipient or HONG_KONG,
        "data": {"personal_information": True, **data},
        **top,
    }


def decide(description: dict[str, Any], **volumes: int) -> Decision:
    transfer = TransferDescription.from_json(description)
    return ENGINE.decide(transfer, YearVolumes("org_x", 2026, **volumes), now=NOW)


def routes(decision: Decision) -> list[Route]:
    return list(decision.route_names)


def rule_citation(rule_id: str) -> str:
    return ENGINE.table.rule(rule_id).source


class TestRulesOneByOne:
    """Each rule of the table matches exactly in its situation and carries its citation."""

    def test_r0_anonymised_data_is_exempt_and_says_hashes_are_not_anonymous(self) -> None:
        decision = decide(describe(anonymised=True, individuals=2_000_000))
        assert "R0" in decision.matched_rules
        assert routes(decision) == [Route.EXEMPT]
        assert "PIPL Arts. 4 and 73" in rule_citation("R0")
        texts = " ".join(o.text for o in decision.routes[0].obligations)
        assert "not anonymised" in texts

    def test_r1_notified_important_data_needs_a_security_assessment_and_no_gba_sc(self) -> None:
        decision = decide(describe(important_data_notified=True))
        assert routes(decision) == [Route.SECURITY_ASSESSMENT]
        assert decision.route(Route.SECURITY_ASSESSMENT).rules == ("R1",)  # type: ignore[union-attr]
        assert "Arts. 2, 7, 9" in rule_citation("R1")

    def test_r2_a_ciio_exporting_personal_information_needs_a_security_assessment(self) -> None:
        decision = decide(describe({**SHENZHEN, "is_ciio": True}, individuals=10))
        assert routes(decision) == [Route.SECURITY_ASSESSMENT]
        assert "R2" in decision.matched_rules
        assert "Art. 7(1)" in rule_citation("R2")

    def test_r3_trade_data_without_personal_information_is_exempt(self) -> None:
        decision = decide(describe(personal_information=False, purpose="international_trade"))
        assert "R3" in decision.matched_rules
        assert routes(decision) == [Route.EXEMPT]
        assert rule_citation("R3") == "Provisions Art. 3"

    def test_r3b_other_data_without_personal_information_is_exempt_as_an_interpretation(
        self,
    ) -> None:
        decision = decide(describe(personal_information=False))
        assert decision.matched_rules == ("R3b",)
        assert decision.routes[0].confidence is Confidence.I

    def test_r4_reexported_foreign_personal_information_is_exempt(self) -> None:
        decision = decide(describe(collected_abroad=True), nonsensitive=5_000_000)
        assert "R4" in decision.matched_rules
        assert Route.SECURITY_ASSESSMENT not in routes(decision)
        assert rule_citation("R4") == "Provisions Art. 4"

    @pytest.mark.parametrize(
        "purpose", ["contract_with_individual", "cross_border_hr", "emergency"]
    )
    def test_r5_situations_of_article_5_are_exempt_whatever_the_volume(self, purpose: str) -> None:
        decision = decide(describe(purpose=purpose), nonsensitive=3_000_000, sensitive=50_000)
        assert "R5" in decision.matched_rules
        assert decision.verdict is Verdict.EXEMPT
        assert Route.SECURITY_ASSESSMENT not in routes(decision)
        assert "Art. 5(1)-(3)" in rule_citation("R5")

    def test_r6_a_free_trade_zone_exporter_off_the_negative_list_is_exempt(self) -> None:
        exporter = {**SHENZHEN, "ftz_zone": "Qianhai"}
        assert "R6" in decide(describe(exporter), nonsensitive=2_000_000).matched_rules
        listed = decide(describe(exporter, on_ftz_negative_list=True), nonsensitive=2_000_000)
        assert "R6" not in listed.matched_rules
        assert routes(listed)[0] is Route.SECURITY_ASSESSMENT
        assert "Art. 6" in rule_citation("R6")

    def test_r7_under_100000_without_sensitive_data_is_exempt(self) -> None:
        decision = decide(describe(individuals=1), nonsensitive=99_998)
        assert "R7" in decision.matched_rules
        assert decision.verdict is Verdict.EXEMPT
        assert rule_citation("R7") == "Provisions Art. 5(4)"

    def test_r8_at_100000_needs_the_national_contract_or_certification(self) -> None:
        decision = decide(describe(individuals=1), nonsensitive=99_999)
        assert "R8" in decision.matched_rules
        assert Route.EXEMPT not in routes(decision)
        assert {Route.NATIONAL_STANDARD_CONTRACT, Route.CERTIFICATION} <= set(routes(decision))
        assert "Art. 8" in rule_citation("R8")

    def test_r8_any_sensitive_personal_information_ends_the_exemption(self) -> None:
        decision = decide(describe(sensitive_categories=["medical-health"], individuals=3))
        assert "R7" not in decision.matched_rules
        assert "R8" in decision.matched_rules
        assert decision.volumes.sensitive == 3

    def test_r9_a_million_individuals_need_a_security_assessment(self) -> None:
        decision = decide(describe(), nonsensitive=1_000_000)
        assert "R9" in decision.matched_rules
        assert routes(decision)[0] is Route.SECURITY_ASSESSMENT
        assert rule_citation("R9") == "Provisions Art. 7(2)"

    def test_r9_ten_thousand_with_sensitive_data_need_a_security_assessment(self) -> None:
        decision = decide(describe(sensitive_categories=["financial-account"]), sensitive=9_999)
        assert "R9" in decision.matched_rules
        assert "R8" not in decision.matched_rules

    def test_r10_offers_the_gba_sc_between_the_nine_cities_and_hong_kong_in_both_directions(
        self,
    ) -> None:
        mainland_to_hk = decide(describe(), nonsensitive=5_000_000)
        assert Route.GBA_STANDARD_CONTRACT_HK in routes(mainland_to_hk)
        hk_to_mainland = decide(describe(HONG_KONG, ZHUHAI))
        assert Route.GBA_STANDARD_CONTRACT_HK in routes(hk_to_mainland)
        assert "2023 No. 3" in rule_citation("R10")
        texts = " ".join(o.text for o in mainland_to_hk.routes[1].obligations)
        assert "10 working days" in texts
        assert "Digital Policy Office" in texts

    def test_r11_offers_the_macao_version_between_the_nine_cities_and_macao(self) -> None:
        decision = decide(describe(ZHUHAI, MACAO))
        assert Route.GBA_STANDARD_CONTRACT_MO in routes(decision)
        assert Route.GBA_STANDARD_CONTRACT_HK not in routes(decision)
        assert "2024 No. 1" in rule_citation("R11")

    def test_r12_an_exporter_outside_the_nine_cities_gets_no_gba_sc(self) -> None:
        decision = decide(describe(BEIJING), nonsensitive=200_000)
        assert "R12" in decision.matched_rules
        assert Route.GBA_STANDARD_CONTRACT_HK not in routes(decision)
        assert Route.NATIONAL_STANDARD_CONTRACT in routes(decision)

    def test_r13_gba_sc_data_leaving_the_gba_is_prohibited(self) -> None:
        decision = decide(describe(HONG_KONG, SINGAPORE, lineage=["gba_sc_restricted"]))
        assert decision.verdict is Verdict.PROHIBITED
        assert routes(decision)[0] is Route.PROHIBITED
        assert "Art. 4(2)" in rule_citation("R13")

    def test_r13_also_catches_a_planned_onward_recipient_outside_the_gba(self) -> None:
        onward = [SINGAPORE]
        decision = decide(describe(lineage=["gba_sc_restricted"], onward_recipients=onward))
        assert decision.verdict is Verdict.PROHIBITED
        assert Route.GBA_STANDARD_CONTRACT_HK not in routes(decision)

    def test_r14_a_hong_kong_data_user_has_no_statutory_transfer_restriction(self) -> None:
        decision = decide(describe(HONG_KONG, SINGAPORE))
        assert decision.matched_rules == ("R14",)
        assert routes(decision) == [Route.EXEMPT]
        assert "s.33 not in force" in rule_citation("R14")

    def test_r15_a_macao_controller_follows_the_pdpa_transfer_conditions(self) -> None:
        decision = decide(describe(MACAO, HONG_KONG))
        assert routes(decision) == [Route.MACAO_PDPA_TRANSFER]
        assert decision.verdict is Verdict.MECHANISM_REQUIRED
        assert "Law 8/2005" in rule_citation("R15")

    def test_r16_sensitive_data_or_minors_add_separate_and_guardian_consent(self) -> None:
        decision = decide(describe(minors_under_14=True, individuals=5))
        assert "R16" in decision.overlays
        citations = {o.citation for r in decision.routes for o in r.obligations}
        assert {"PIPL Art. 29", "PIPL Art. 31"} <= citations

    @pytest.mark.parametrize(
        ("sector", "rule"),
        [("credit_referencing", "R17"), ("banking", "R18"), ("healthcare", "R19")],
    )
    def test_r17_to_r19_sector_overlays_add_their_constraints(self, sector: str, rule: str) -> None:
        decision = decide(describe(sector=sector))
        assert rule in decision.overlays
        assert any(o.rule == rule for r in decision.routes for o in r.obligations)
        assert ENGINE.table.rule(rule).confidence is Confidence.M

    def test_r20_and_r21_apply_to_every_mainland_export_of_personal_information(self) -> None:
        decision = decide(describe())
        assert {"R20", "R21"} <= set(decision.overlays)
        assert "PIPL Arts. 39, 56" in rule_citation("R21")

    def test_overlays_never_attach_to_a_prohibition(self) -> None:
        decision = decide(describe(lineage=["gba_sc_restricted"], onward_recipients=[SINGAPORE]))
        prohibited = decision.route(Route.PROHIBITED)
        assert prohibited is not None
        assert {o.rule for o in prohibited.obligations} == {"R13"}


class TestWorkedCases:
    """The scenario and the worked cases of COMPLIANCE.md come out as the notes say."""

    def test_scenario_step_4_is_exempt_with_the_gba_sc_also_available(self) -> None:
        decision = decide(describe(ZHUHAI, individuals=4_000, purpose="other"))
        assert decision.verdict is Verdict.EXEMPT
        assert routes(decision) == [Route.GBA_STANDARD_CONTRACT_HK, Route.EXEMPT]
        exempt = decision.route(Route.EXEMPT)
        assert exempt is not None
        assert exempt.rules == ("R7",)
        assert exempt.confidence is Confidence.V
        assert decision.volumes.nonsensitive == 4_000
        assert decision.to_json()["notice"] == LEGAL_NOTICE

    def test_a_transfer_inside_one_jurisdiction_matches_no_route(self) -> None:
        decision = decide(describe(SHENZHEN, ZHUHAI))
        assert decision.verdict is Verdict.NO_RULE
        assert decision.notes

    def test_every_decision_names_the_rules_version(self) -> None:
        assert decide(describe()).to_json()["rules_version"] == "2026.11.1"

    def test_routes_are_listed_strictest_first(self) -> None:
        decision = decide(describe(), nonsensitive=2_000_000)
        ranks = [ENGINE.table.routes[r].rank for r in routes(decision)]
        assert ranks == sorted(ranks)

    def test_an_unreported_sensitive_count_counts_as_every_individual(self) -> None:
        transfer = TransferDescription.from_json(
            describe(sensitive_categories=["biometric"], individuals=12)
        )
        volumes = effective_volumes(transfer, YearVolumes("org_x", 2026, 5, 1))
        assert (volumes.nonsensitive, volumes.sensitive) == (17, 13)


_STRICTNESS = {
    Verdict.NO_RULE: 0,
    Verdict.EXEMPT: 1,
    Verdict.MECHANISM_REQUIRED: 2,
    Verdict.PROHIBITED: 3,
}


def _strictest_required(decision: Decision) -> int:
    """How strict the least strict non-optional route is: exempt 0, contracts 1, assessment 2."""
    if decision.verdict is Verdict.PROHIBITED:
        return 3
    if decision.verdict is Verdict.EXEMPT:
        return 0
    national = set(decision.route_names) - {
        Route.GBA_STANDARD_CONTRACT_HK,
        Route.GBA_STANDARD_CONTRACT_MO,
    }
    return 2 if national == {Route.SECURITY_ASSESSMENT} else 1


_cities = st.sampled_from([SHENZHEN, ZHUHAI, BEIJING])
_purposes = st.sampled_from(["other", "contract_with_individual", "international_trade"])


class TestMonotonicity:
    """More individuals or more sensitive data never make the answer less strict."""

    @given(
        exporter=_cities,
        purpose=_purposes,
        nonsensitive=st.integers(0, 3_000_000),
        sensitive=st.integers(0, 30_000),
        extra=st.integers(0, 3_000_000),
    )
    def test_raising_the_volume_never_relaxes_the_route(
        self, exporter: dict[str, str], purpose: str, nonsensitive: int, sensitive: int, extra: int
    ) -> None:
        base = describe(exporter, purpose=purpose)
        before = decide(base, nonsensitive=nonsensitive, sensitive=sensitive)
        after = decide(base, nonsensitive=nonsensitive + extra, sensitive=sensitive)
        assert _strictest_required(after) >= _strictest_required(before)

    @given(
        exporter=_cities,
        purpose=_purposes,
        nonsensitive=st.integers(0, 3_000_000),
        category=st.sampled_from(["biometric", "medical-health", "financial-account"]),
        count=st.integers(1, 20_000),
    )
    def test_adding_sensitive_personal_information_never_relaxes_the_route(
        self, exporter: dict[str, str], purpose: str, nonsensitive: int, category: str, count: int
    ) -> None:
        plain = decide(describe(exporter, purpose=purpose), nonsensitive=nonsensitive)
        sensitive = decide(
            describe(
                exporter,
                purpose=purpose,
                sensitive_categories=[category],
                individuals=count,
                sensitive_individuals=count,
            ),
            nonsensitive=max(0, nonsensitive - count),
        )
        assert _strictest_required(sensitive) >= _strictest_required(plain)

    @given(nonsensitive=st.integers(0, 3_000_000), sensitive=st.integers(0, 30_000))
    def test_a_mainland_gba_export_to_hong_kong_always_has_exactly_one_verdict(
        self, nonsensitive: int, sensitive: int
    ) -> None:
        decision = decide(describe(), nonsensitive=nonsensitive, sensitive=sensitive)
        assert decision.verdict in {Verdict.EXEMPT, Verdict.MECHANISM_REQUIRED}
        assert Route.GBA_STANDARD_CONTRACT_HK in decision.route_names
        assert _STRICTNESS[decision.verdict] >= 1
