"""The rules table loader: strict, versioned, and round-tripping."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.errors import RulesTableInvalid
from bayflow.compliance.models import Route, TransferDescription, Verdict, YearVolumes
from bayflow.compliance.rules import load_packaged_rules, load_rules, parse_rules

PACKAGED = load_packaged_rules()
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _document() -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(dict(PACKAGED.raw))
    return document


def _parse(document: dict[str, Any]) -> Any:
    return parse_rules(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def _rule(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in document["rules"] if r["id"] == rule_id)
    return found


class TestPackagedTable:
    """The shipped table is versioned, complete and cited."""

    def test_it_has_a_version_and_every_rule_from_r0_to_r21(self) -> None:
        assert PACKAGED.version == "2026.11.1"
        ids = {r.id for r in PACKAGED.rules}
        assert {f"R{n}" for n in range(22)} <= ids

    def test_every_rule_and_obligation_carries_a_citation_and_a_confidence(self) -> None:
        for rule in PACKAGED.rules:
            assert rule.source
            assert rule.obligations
            for obligation in rule.obligations:
                assert obligation.citation
                assert obligation.confidence

    def test_the_thresholds_live_in_the_data(self) -> None:
        assert PACKAGED.thresholds == {
            "exemption_nonsensitive_individuals": 100_000,
            "assessment_nonsensitive_individuals": 1_000_000,
            "assessment_sensitive_individuals": 10_000,
            "filing_working_days": 10,
        }

    def test_rules_come_out_in_ascending_precedence(self) -> None:
        precedences = [r.precedence for r in PACKAGED.rules]
        assert precedences == sorted(precedences)

    def test_prohibited_ranks_first_and_exempt_last(self) -> None:
        ranks = {route: spec.rank for route, spec in PACKAGED.routes.items()}
        assert min(ranks, key=ranks.__getitem__) is Route.PROHIBITED
        assert max(ranks, key=ranks.__getitem__) is Route.EXEMPT

    def test_it_loads_from_a_file_too(self, tmp_path: Any) -> None:
        path = tmp_path / "rules.yaml"
        path.write_text(PACKAGED.to_yaml(), encoding="utf-8")
        assert load_rules(str(path)) == PACKAGED

    def test_a_missing_file_is_a_rules_error(self, tmp_path: Any) -> None:
        with pytest.raises(RulesTableInvalid, match="cannot read"):
            load_rules(str(tmp_path / "absent.yaml"))


class TestStrictLoader:
    """Anything the loader does not understand is refused with the rule and field named."""

    def test_an_unknown_rule_field_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["severity"] = "high"
        with pytest.raises(RulesTableInvalid, match=r"rules\[\d+\]: unknown field\(s\) severity"):
            _parse(document)

    def test_an_unknown_top_level_field_is_refused(self) -> None:
        document = _document()
        document["extends"] = "other.yaml"
        with pytest.raises(RulesTableInvalid, match="unknown field"):
            _parse(document)

    def test_an_unknown_operator_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {"fact": "volume.nonsensitive_ytd", "approx": 5}
        with pytest.raises(RulesTableInvalid, match="unknown operator 'approx'"):
            _parse(document)

    def test_an_unknown_fact_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {"is_true": "data.secret_sauce"}
        with pytest.raises(RulesTableInvalid, match="unknown fact"):
            _parse(document)

    def test_an_operator_on_the_wrong_type_of_fact_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {"fact": "exporter.city", "gte": 3}
        with pytest.raises(RulesTableInvalid, match="gte does not apply"):
            _parse(document)

    def test_a_value_outside_an_enumerated_fact_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {"fact": "exporter.jurisdiction", "eq": "TW"}
        with pytest.raises(RulesTableInvalid, match="'TW' is not one of"):
            _parse(document)

    def test_a_duplicate_rule_id_is_refused(self) -> None:
        document = _document()
        clone = copy.deepcopy(_rule(document, "R7"))
        clone["precedence"] = 999
        document["rules"].append(clone)
        with pytest.raises(RulesTableInvalid, match="rule R7: duplicate rule id"):
            _parse(document)

    def test_a_duplicate_precedence_is_refused(self) -> None:
        document = _document()
        _rule(document, "R8")["precedence"] = _rule(document, "R7")["precedence"]
        with pytest.raises(RulesTableInvalid, match="same precedence as"):
            _parse(document)

    def test_an_unknown_threshold_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {
            "fact": "volume.nonsensitive_ytd",
            "lt": {"threshold": "typo"},
        }
        with pytest.raises(RulesTableInvalid, match="unknown threshold 'typo'"):
            _parse(document)

    def test_an_undefined_predicate_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {"predicate": "nowhere"}
        with pytest.raises(RulesTableInvalid, match="unknown predicate"):
            _parse(document)

    def test_an_empty_all_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["conditions"] = {"all": []}
        with pytest.raises(RulesTableInvalid, match="non-empty list"):
            _parse(document)

    def test_an_unknown_route_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["routes"] = ["whitelist"]
        with pytest.raises(RulesTableInvalid, match="unknown route 'whitelist'"):
            _parse(document)

    def test_an_unknown_confidence_tag_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["confidence"] = "X"
        with pytest.raises(RulesTableInvalid, match="unknown confidence tag"):
            _parse(document)

    def test_an_obligation_without_a_citation_is_refused(self) -> None:
        document = _document()
        _rule(document, "R7")["obligations"] = [{"text": "Be careful."}]
        with pytest.raises(RulesTableInvalid, match="missing field"):
            _parse(document)

    def test_a_repeated_yaml_key_is_refused(self) -> None:
        text = PACKAGED.to_yaml().replace("version:", "version: 2026.1.1\nversion:", 1)
        with pytest.raises(RulesTableInvalid, match="repeated"):
            parse_rules(text)

    def test_a_version_that_is_not_year_month_number_is_refused(self) -> None:
        document = _document()
        document["version"] = "latest"
        with pytest.raises(RulesTableInvalid, match=r"YYYY\.M\.N"):
            _parse(document)

    def test_exempt_must_be_the_least_strict_route(self) -> None:
        document = _document()
        document["routes"]["exempt"]["rank"] = 0
        with pytest.raises(RulesTableInvalid, match="rank"):
            _parse(document)

    def test_yaml_tags_that_build_objects_are_not_loaded(self) -> None:
        with pytest.raises(RulesTableInvalid, match="not YAML"):
            parse_rules("version: !!python/object/apply:os.getcwd []\n")


class TestRulesAsData:
    """Changing a threshold is a data change: a new version, and new decisions."""

    def test_a_lower_exemption_threshold_changes_the_decision(self) -> None:
        document = _document()
        document["version"] = "2026.12.1"
        document["thresholds"]["exemption_nonsensitive_individuals"] = 1_000
        stricter = RulesEngine(_parse(document))
        transfer = TransferDescription.from_json(
            {
                "exporter": {"jurisdiction": "CN", "city": "Zhuhai"},
                "recipient": {"jurisdiction": "HK", "city": "Hong Kong"},
                "data": {"personal_information": True, "individuals": 4_000},
            }
        )
        volumes = YearVolumes("org_x", 2026)
        assert RulesEngine(PACKAGED).decide(transfer, volumes, now=NOW).verdict is Verdict.EXEMPT
        decision = stricter.decide(transfer, volumes, now=NOW)
        assert decision.verdict is Verdict.MECHANISM_REQUIRED
        assert decision.rules_version == "2026.12.1"

    @given(
        exemption=st.integers(0, 10**7),
        assessment=st.integers(0, 10**8),
        sensitive=st.integers(0, 10**6),
        version=st.from_regex(r"20[2-9]\d\.(1[0-2]|[1-9])\.[1-9]\d{0,2}", fullmatch=True),
    )
    def test_the_loader_round_trips_any_thresholds_and_version(
        self, exemption: int, assessment: int, sensitive: int, version: str
    ) -> None:
        document = _document()
        document["version"] = version
        document["thresholds"].update(
            exemption_nonsensitive_individuals=exemption,
            assessment_nonsensitive_individuals=assessment,
            assessment_sensitive_individuals=sensitive,
        )
        table = _parse(document)
        again = parse_rules(table.to_yaml())
        assert again == table
        assert again.thresholds["exemption_nonsensitive_individuals"] == exemption
        assert again.version == version
