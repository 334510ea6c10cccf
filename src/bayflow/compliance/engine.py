"""The transfer rules engine: a transfer description and volumes in, every applicable route out.

Plain Python over the loaded table (:mod:`.rules`): compute the facts, evaluate each rule's
condition, then group the matched rules by route. The answer lists *every* route that applies,
strictest first, because the routes a table opens are alternatives a person chooses between
(for example the exemption under 100,000 individuals and the GBA Standard Contract); only
``prohibited`` overrides the others. Not legal advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from bayflow.compliance.models import (
    Decision,
    Obligation,
    Route,
    RouteOption,
    TransferDescription,
    Verdict,
    YearVolumes,
)
from bayflow.compliance.rules import (
    All,
    Any_,
    Comparison,
    Condition,
    Not,
    PredicateRef,
    RuleSpec,
    RulesTable,
    Truth,
)
from bayflow.ids import new_id

__all__ = ["FactValue", "RulesEngine", "effective_volumes", "facts_of"]

FactValue = bool | int | str | frozenset[str]

_NO_LIMIT: Final = 10**15


def effective_volumes(transfer: TransferDescription, stored: YearVolumes) -> YearVolumes:
    """The stored year-to-date volumes plus this transfer's individuals.

    Every individual of the transfer is counted as new (the stored pseudonyms are not compared
    with counts), which can only over-count. Sensitive data with no count given counts as
    every individual of the transfer, or as one: any sensitive PI at all takes a transfer out
    of the Art. 5(4) exemption.
    """
    data = transfer.data
    if not data.is_pi:
        return stored
    sensitive = 0
    if data.sensitive:
        sensitive = data.sensitive_individuals or data.individuals or 1
    return YearVolumes(
        exporter=stored.exporter,
        year=stored.year,
        nonsensitive=min(stored.nonsensitive + data.individuals, _NO_LIMIT),
        sensitive=min(stored.sensitive + sensitive, _NO_LIMIT),
    )


def facts_of(transfer: TransferDescription, volumes: YearVolumes) -> dict[str, FactValue]:
    """The facts the rules table's conditions may name (``rules.FACTS``), for one transfer."""
    exporter, recipient, data = transfer.exporter, transfer.recipient, transfer.data
    return {
        "exporter.jurisdiction": exporter.jurisdiction.value,
        "exporter.city": exporter.city.value,
        "exporter.in_gba": exporter.in_gba,
        "exporter.in_mainland_gba": exporter.in_mainland_gba,
        "exporter.is_ciio": exporter.is_ciio,
        "exporter.in_ftz": exporter.ftz_zone is not None,
        "recipient.jurisdiction": recipient.jurisdiction.value,
        "recipient.city": recipient.city.value,
        "recipient.in_gba": recipient.in_gba,
        "recipient.in_mainland_gba": recipient.in_mainland_gba,
        "transfer.crosses_boundary": transfer.crosses_boundary,
        "data.personal_information": data.personal_information,
        "data.is_pi": data.is_pi,
        "data.anonymised": data.anonymised,
        "data.important_data_notified": data.important_data_notified,
        "data.sensitive": data.sensitive,
        "data.minors_under_14": data.minors_under_14,
        "data.collected_abroad": data.collected_abroad,
        "data.on_ftz_negative_list": data.on_ftz_negative_list,
        "data.sensitive_categories": frozenset(data.sensitive_categories),
        "data.lineage": frozenset(data.lineage),
        "purpose": transfer.purpose.value,
        "sector": transfer.sector.value,
        "onward.outside_gba": any(not r.in_gba for r in transfer.onward_recipients),
        "onward.count": len(transfer.onward_recipients),
        "volume.nonsensitive_ytd": volumes.nonsensitive,
        "volume.sensitive_ytd": volumes.sensitive,
    }


def _compare(op: str, actual: FactValue, expected: object) -> bool:  # noqa: PLR0911
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        assert isinstance(expected, frozenset)
        return actual in expected
    if op == "not_in":
        assert isinstance(expected, frozenset)
        return actual not in expected
    if op == "contains":
        assert isinstance(actual, frozenset)
        return expected in actual
    assert isinstance(actual, int)
    assert isinstance(expected, int)
    if op == "gte":
        return actual >= expected
    if op == "gt":
        return actual > expected
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    raise AssertionError(op)  # The loader admits no other operator.


class RulesEngine:
    """Evaluates one loaded rules table. Stateless: safe to share between threads."""

    def __init__(self, table: RulesTable) -> None:
        self.table = table

    @property
    def version(self) -> str:
        return self.table.version

    def holds(self, condition: Condition, facts: Mapping[str, FactValue]) -> bool:
        match condition:
            case All(parts):
                return all(self.holds(p, facts) for p in parts)
            case Any_(parts):
                return any(self.holds(p, facts) for p in parts)
            case Not(inner):
                return not self.holds(inner, facts)
            case PredicateRef(name):
                return self.holds(self.table.predicates[name], facts)
            case Truth(fact, expected):
                return facts[fact] is expected
            case Comparison(fact, op, value, _):
                return _compare(op, facts[fact], value)
        raise AssertionError(condition)  # pragma: no cover - the union above is exhaustive.

    def matching(self, facts: Mapping[str, FactValue]) -> tuple[RuleSpec, ...]:
        """The rules whose conditions hold, in ascending precedence."""
        return tuple(r for r in self.table.rules if self.holds(r.conditions, facts))

    def decide(
        self,
        transfer: TransferDescription,
        stored: YearVolumes,
        *,
        now: datetime,
        requested_by: str | None = None,
        decision_id: str | None = None,
    ) -> Decision:
        """Decide on ``transfer`` given the exporter's stored year-to-date volumes."""
        volumes = effective_volumes(transfer, stored)
        matched = self.matching(facts_of(transfer, volumes))
        overlays = [r for r in matched if r.is_overlay]
        by_route: dict[Route, list[RuleSpec]] = {}
        for rule in matched:
            for route in rule.routes:
                by_route.setdefault(route, []).append(rule)
        prohibited = Route.PROHIBITED in by_route
        options = [
            self._option(route, rules, [] if route is Route.PROHIBITED else overlays)
            for route, rules in by_route.items()
        ]
        options.sort(
            key=lambda o: (
                self.table.routes[o.route].rank,
                min(self.table.rule(r).precedence for r in o.rules),
            )
        )
        if prohibited:
            verdict = Verdict.PROHIBITED
        elif Route.EXEMPT in by_route:
            verdict = Verdict.EXEMPT
        elif by_route:
            verdict = Verdict.MECHANISM_REQUIRED
        else:
            verdict = Verdict.NO_RULE
        notes: list[str] = []
        if not transfer.crosses_boundary:
            notes.append("Exporter and recipient are in the same jurisdiction.")
        if verdict is Verdict.NO_RULE and transfer.crosses_boundary:
            notes.append("No route rule covers this transfer: treat it as not cleared.")
        return Decision(
            id=decision_id or new_id("dec"),
            rules_version=self.table.version,
            decided_at=now,
            transfer=transfer,
            volumes=volumes,
            verdict=verdict,
            routes=tuple(options),
            overlays=tuple(r.id for r in overlays),
            matched_rules=tuple(r.id for r in matched),
            requested_by=requested_by,
            notes=tuple(notes),
        )

    def _option(self, route: Route, rules: list[RuleSpec], overlays: list[RuleSpec]) -> RouteOption:
        obligations: list[Obligation] = []
        seen: set[str] = set()
        for rule in [*rules, *overlays]:
            for spec in rule.obligations:
                if spec.text in seen:
                    continue
                seen.add(spec.text)
                obligations.append(Obligation(spec.text, spec.citation, spec.confidence, rule.id))
        return RouteOption(
            route=route,
            label=self.table.routes[route].label,
            rules=tuple(r.id for r in rules),
            obligations=tuple(obligations),
            citations=tuple(dict.fromkeys(r.source for r in rules)),
            confidence=max(r.confidence for r in rules),
        )
