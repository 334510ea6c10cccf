"""The transfer rules table: a strict loader for ``rules/gba-transfer-rules.yaml``.

The table is data, so a threshold or a citation changes without a code change (and with a new
``version``). This module turns the YAML into frozen values and refuses anything it does not
understand: an unknown field, operator, fact, route, threshold or predicate; a duplicate rule
id or precedence; a comparison whose value does not fit the fact's type; a missing citation.
The condition language is described at the top of the YAML file; :mod:`.engine` evaluates it.
Nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from importlib import resources
from typing import Any, Final

import yaml

from bayflow.compliance.errors import RulesTableInvalid
from bayflow.compliance.models import Confidence, Purpose, Region, Route, Sector
from bayflow.identity.models import City

__all__ = [
    "COMPARISONS",
    "FACTS",
    "All",
    "Any_",
    "Comparison",
    "Condition",
    "FactType",
    "Not",
    "ObligationSpec",
    "PredicateRef",
    "RouteSpec",
    "RuleSpec",
    "RulesTable",
    "Truth",
    "load_packaged_rules",
    "load_rules",
    "parse_rules",
]

PACKAGED_RULES: Final = "gba-transfer-rules.yaml"


class FactType(Enum):
    BOOL = "bool"
    INT = "int"
    ENUM = "enum"  # one string from a closed set
    TAGS = "tags"  # a set of strings from a closed set


@dataclass(frozen=True, slots=True)
class _Fact:
    type: FactType
    values: frozenset[str] = frozenset()


def _enum(values: Sequence[Enum]) -> _Fact:
    return _Fact(FactType.ENUM, frozenset(str(v.value) for v in values))


_B = _Fact(FactType.BOOL)
_N = _Fact(FactType.INT)

# Every fact a condition may name, with its type. The engine computes exactly these from a
# transfer description and the exporter's volumes (``engine.facts_of``).
FACTS: Final[Mapping[str, _Fact]] = {
    "exporter.jurisdiction": _enum(list(Region)),
    "exporter.city": _enum(list(City)),
    "exporter.in_gba": _B,
    "exporter.in_mainland_gba": _B,
    "exporter.is_ciio": _B,
    "exporter.in_ftz": _B,
    "recipient.jurisdiction": _enum(list(Region)),
    "recipient.city": _enum(list(City)),
    "recipient.in_gba": _B,
    "recipient.in_mainland_gba": _B,
    "transfer.crosses_boundary": _B,
    "data.personal_information": _B,
    "data.is_pi": _B,
    "data.anonymised": _B,
    "data.important_data_notified": _B,
    "data.sensitive": _B,
    "data.minors_under_14": _B,
    "data.collected_abroad": _B,
    "data.on_ftz_negative_list": _B,
    "data.sensitive_categories": _Fact(
        FactType.TAGS,
        frozenset(
            {
                "biometric",
                "religious-belief",
                "specific-identity",
                "medical-health",
                "financial-account",
                "location-tracking",
                "minor-under-14",
                "other-sensitive",
            }
        ),
    ),
    "data.lineage": _Fact(FactType.TAGS, frozenset({"gba_sc_restricted"})),
    "purpose": _enum(list(Purpose)),
    "sector": _enum(list(Sector)),
    "onward.outside_gba": _B,
    "onward.count": _N,
    "volume.nonsensitive_ytd": _N,
    "volume.sensitive_ytd": _N,
}

# Comparison operators and the fact types each accepts.
COMPARISONS: Final[Mapping[str, frozenset[FactType]]] = {
    "eq": frozenset({FactType.BOOL, FactType.INT, FactType.ENUM}),
    "ne": frozenset({FactType.BOOL, FactType.INT, FactType.ENUM}),
    "in": frozenset({FactType.ENUM}),
    "not_in": frozenset({FactType.ENUM}),
    "contains": frozenset({FactType.TAGS}),
    "gte": frozenset({FactType.INT}),
    "gt": frozenset({FactType.INT}),
    "lt": frozenset({FactType.INT}),
    "lte": frozenset({FactType.INT}),
}

_VERSION = re.compile(r"\d{4}\.\d{1,2}\.\d{1,3}")
_RULE_ID = re.compile(r"R\d{1,3}[a-z]?")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


# --- Conditions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class All:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Any_:  # noqa: N801 - ``Any`` is typing's; the trailing underscore keeps the YAML name.
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


@dataclass(frozen=True, slots=True)
class PredicateRef:
    name: str


@dataclass(frozen=True, slots=True)
class Truth:
    """``is_true`` (``expected=True``) or ``is_false`` on a boolean fact."""

    fact: str
    expected: bool


@dataclass(frozen=True, slots=True)
class Comparison:
    """``fact OP value``; ``threshold`` names the threshold ``value`` came from, if any."""

    fact: str
    op: str
    value: str | int | bool | frozenset[str]
    threshold: str | None = None


Condition = All | Any_ | Not | PredicateRef | Truth | Comparison


# --- The table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObligationSpec:
    text: str
    citation: str
    confidence: Confidence


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One row of the table. ``routes`` empty makes the rule an overlay (obligations only)."""

    id: str
    title: str
    precedence: int
    confidence: Confidence
    source: str
    routes: tuple[Route, ...]
    conditions: Condition
    obligations: tuple[ObligationSpec, ...]
    notes: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_overlay(self) -> bool:
        return not self.routes


@dataclass(frozen=True, slots=True)
class RouteSpec:
    route: Route
    rank: int
    label: str


@dataclass(frozen=True, slots=True)
class RulesTable:
    """A loaded, checked rules table. ``rules`` are in ascending precedence."""

    version: str
    title: str
    published: date
    notice: str
    thresholds: Mapping[str, int]
    routes: Mapping[Route, RouteSpec]
    predicates: Mapping[str, Condition]
    rules: tuple[RuleSpec, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def rule(self, rule_id: str) -> RuleSpec:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def to_yaml(self) -> str:
        """The table as YAML; :func:`parse_rules` of it gives an equal table."""
        return yaml.safe_dump(dict(self.raw), allow_unicode=True, sort_keys=False)


# --- Parsing -------------------------------------------------------------------------------


class _Parser:
    def __init__(self) -> None:
        self.thresholds: dict[str, int] = {}
        self.predicates: dict[str, Condition] = {}

    @staticmethod
    def fail(where: str, message: str) -> RulesTableInvalid:
        return RulesTableInvalid(f"rules table: {where}: {message}")

    def mapping(
        self,
        value: object,
        where: str,
        required: set[str],
        optional: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        keys = {str(k) for k in value}
        unknown = keys - required - optional
        if unknown:
            raise self.fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
        missing = required - keys
        if missing:
            raise self.fail(where, f"missing field(s) {', '.join(sorted(missing))}")
        return {str(k): v for k, v in value.items()}

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "expected non-empty text")
        return " ".join(value.split())

    def integer(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, "expected an integer")
        return value

    def confidence(self, value: object, where: str) -> Confidence:
        if not isinstance(value, str):
            raise self.fail(where, "expected a confidence tag V, S, M or I")
        try:
            return Confidence.parse(value)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def condition(self, value: object, where: str) -> Condition:  # noqa: C901
        if not isinstance(value, dict) or not value:
            raise self.fail(where, "a condition is a non-empty mapping")
        keys = set(value)
        if keys in ({"all"}, {"any"}):
            (name,) = keys
            items = value[name]
            if not isinstance(items, list) or not items:
                # An empty `all` would always hold and an empty `any` never: both are mistakes.
                raise self.fail(where, f"'{name}' needs a non-empty list")
            parts = tuple(
                self.condition(item, f"{where}.{name}[{i}]") for i, item in enumerate(items)
            )
            return All(parts) if name == "all" else Any_(parts)
        if keys == {"not"}:
            return Not(self.condition(value["not"], f"{where}.not"))
        if keys == {"predicate"}:
            name = value["predicate"]
            if name not in self.predicates:
                raise self.fail(where, f"unknown predicate {name!r} (define it earlier)")
            return PredicateRef(str(name))
        if keys in ({"is_true"}, {"is_false"}):
            (op,) = keys
            fact = self.fact(value[op], where)
            if FACTS[fact].type is not FactType.BOOL:
                raise self.fail(where, f"{op} needs a boolean fact, {fact} is not")
            return Truth(fact, expected=op == "is_true")
        if "fact" in keys and len(keys) == 2:
            (op,) = keys - {"fact"}
            if op not in COMPARISONS:
                raise self.fail(where, f"unknown operator {op!r}")
            fact = self.fact(value["fact"], where)
            spec = FACTS[fact]
            if spec.type not in COMPARISONS[op]:
                raise self.fail(where, f"{op} does not apply to {fact} ({spec.type.value})")
            operand, threshold = self.operand(value[op], spec, op, where)
            return Comparison(fact, op, operand, threshold)
        raise self.fail(where, f"unknown condition with field(s) {', '.join(sorted(keys))}")

    def fact(self, value: object, where: str) -> str:
        if not isinstance(value, str) or value not in FACTS:
            raise self.fail(where, f"unknown fact {value!r}")
        return value

    def operand(
        self, value: object, spec: _Fact, op: str, where: str
    ) -> tuple[str | int | bool | frozenset[str], str | None]:
        if spec.type is FactType.INT:
            if isinstance(value, dict):
                ref = self.mapping(value, f"{where}.{op}", {"threshold"})
                name = ref["threshold"]
                if name not in self.thresholds:
                    raise self.fail(where, f"unknown threshold {name!r}")
                return self.thresholds[name], str(name)
            return self.integer(value, f"{where}.{op}"), None
        if spec.type is FactType.BOOL:
            if not isinstance(value, bool):
                raise self.fail(where, f"{op} on a boolean fact needs true or false")
            return value, None
        if op in {"in", "not_in"}:
            if not isinstance(value, list) or not value:
                raise self.fail(where, f"{op} needs a non-empty list")
            return frozenset(self.member(v, spec, where) for v in value), None
        return self.member(value, spec, where), None

    def member(self, value: object, spec: _Fact, where: str) -> str:
        if not isinstance(value, str) or value not in spec.values:
            allowed = ", ".join(sorted(spec.values))
            raise self.fail(where, f"{value!r} is not one of {allowed}")
        return value

    def obligation(self, value: object, where: str, default: Confidence) -> ObligationSpec:
        spec = self.mapping(value, where, {"text", "citation"}, {"confidence"})
        confidence = default
        if "confidence" in spec:
            confidence = self.confidence(spec["confidence"], f"{where}.confidence")
        return ObligationSpec(
            self.text(spec["text"], f"{where}.text"),
            self.text(spec["citation"], f"{where}.citation"),
            confidence,
        )

    def rule(self, value: object, where: str, routes: Mapping[Route, RouteSpec]) -> RuleSpec:
        spec = self.mapping(
            value,
            where,
            {
                "id",
                "title",
                "precedence",
                "confidence",
                "source",
                "routes",
                "conditions",
                "obligations",
            },
            {"notes"},
        )
        rule_id = spec["id"]
        if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
            raise self.fail(where, f"rule id {rule_id!r} is not R<number>[letter]")
        where = f"rule {rule_id}"
        confidence = self.confidence(spec["confidence"], f"{where}.confidence")
        names = spec["routes"]
        if not isinstance(names, list):
            raise self.fail(where, "routes is a list (empty for an overlay)")
        rule_routes: list[Route] = []
        for name in names:
            try:
                route = Route(name)
            except ValueError:
                raise self.fail(where, f"unknown route {name!r}") from None
            if route not in routes:
                raise self.fail(where, f"route {name!r} is not in the routes section")
            if route in rule_routes:
                raise self.fail(where, f"route {name!r} listed twice")
            rule_routes.append(route)
        obligations = spec["obligations"]
        if not isinstance(obligations, list) or not obligations:
            raise self.fail(where, "obligations is a non-empty list")
        return RuleSpec(
            id=rule_id,
            title=self.text(spec["title"], f"{where}.title"),
            precedence=self.integer(spec["precedence"], f"{where}.precedence"),
            confidence=confidence,
            source=self.text(spec["source"], f"{where}.source"),
            routes=tuple(rule_routes),
            conditions=self.condition(spec["conditions"], f"{where}.conditions"),
            obligations=tuple(
                self.obligation(o, f"{where}.obligations[{i}]", confidence)
                for i, o in enumerate(obligations)
            ),
            notes=self.text(spec["notes"], f"{where}.notes") if "notes" in spec else None,
            raw=spec,
        )

    def table(self, document: object) -> RulesTable:
        top = self.mapping(
            document,
            "top level",
            {"version", "title", "published", "thresholds", "routes", "rules"},
            {"notice", "predicates"},
        )
        version = str(top["version"])
        if not _VERSION.fullmatch(version):
            raise self.fail("version", f"{version!r} is not YYYY.M.N")
        published = top["published"]
        if not isinstance(published, date):
            raise self.fail("published", "expected a date (YYYY-MM-DD)")
        thresholds = top["thresholds"]
        if not isinstance(thresholds, dict):
            raise self.fail("thresholds", "expected a mapping")
        for name, value in thresholds.items():
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise self.fail("thresholds", f"bad threshold name {name!r}")
            number = self.integer(value, f"thresholds.{name}")
            if number < 0:
                raise self.fail(f"thresholds.{name}", "must not be negative")
            self.thresholds[name] = number
        routes = self.routes(top["routes"])
        predicates = top.get("predicates") or {}
        if not isinstance(predicates, dict):
            raise self.fail("predicates", "expected a mapping")
        for name, value in predicates.items():
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise self.fail("predicates", f"bad predicate name {name!r}")
            # Defined in order, and a predicate may use only earlier ones: no cycles.
            self.predicates[name] = self.condition(value, f"predicates.{name}")
        rules = self.rules(top["rules"], routes)
        return RulesTable(
            version=version,
            title=self.text(top["title"], "title"),
            published=published,
            notice=self.text(top.get("notice", ""), "notice") if "notice" in top else "",
            thresholds=dict(self.thresholds),
            routes=routes,
            predicates=dict(self.predicates),
            rules=rules,
            raw=top,
        )

    def routes(self, value: object) -> dict[Route, RouteSpec]:
        if not isinstance(value, dict) or not value:
            raise self.fail("routes", "expected a non-empty mapping")
        routes: dict[Route, RouteSpec] = {}
        for name, body in value.items():
            try:
                route = Route(name)
            except ValueError:
                raise self.fail("routes", f"unknown route {name!r}") from None
            spec = self.mapping(body, f"routes.{name}", {"rank", "label"})
            routes[route] = RouteSpec(
                route,
                self.integer(spec["rank"], f"routes.{name}.rank"),
                self.text(spec["label"], f"routes.{name}.label"),
            )
        # Precedence between routes: prohibited is strictest and exempt the least strict.
        if Route.PROHIBITED in routes and any(
            spec.rank <= routes[Route.PROHIBITED].rank
            for r, spec in routes.items()
            if r is not Route.PROHIBITED
        ):
            raise self.fail("routes", "prohibited must rank strictly before every other route")
        if Route.EXEMPT in routes and any(
            spec.rank >= routes[Route.EXEMPT].rank
            for r, spec in routes.items()
            if r is not Route.EXEMPT
        ):
            raise self.fail("routes", "exempt must rank strictly after every other route")
        return routes

    def rules(self, value: object, routes: Mapping[Route, RouteSpec]) -> tuple[RuleSpec, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("rules", "expected a non-empty list")
        parsed = [self.rule(item, f"rules[{i}]", routes) for i, item in enumerate(value)]
        seen_ids: set[str] = set()
        seen_precedence: dict[int, str] = {}
        for rule in parsed:
            if rule.id in seen_ids:
                raise self.fail(f"rule {rule.id}", "duplicate rule id")
            seen_ids.add(rule.id)
            if rule.precedence in seen_precedence:
                other = seen_precedence[rule.precedence]
                raise self.fail(f"rule {rule.id}", f"same precedence as {other}")
            seen_precedence[rule.precedence] = rule.id
        return tuple(sorted(parsed, key=lambda r: r.precedence))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise RulesTableInvalid(
                f"rules table: line {key_node.start_mark.line + 1}: key {key!r} repeated"
            )
        mapping[key] = loader.construct_object(value_node)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def parse_rules(text: str) -> RulesTable:
    """Parse and check a rules table from YAML text."""
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass.
    except yaml.YAMLError as exc:
        raise RulesTableInvalid(f"rules table: not YAML: {exc}") from exc
    return _Parser().table(document)


def load_rules(path: str) -> RulesTable:
    """Load a rules table from a file."""
    try:
        with open(path, encoding="utf-8") as handle:  # noqa: PTH123 - str paths from the CLI.
            return parse_rules(handle.read())
    except OSError as exc:
        raise RulesTableInvalid(f"cannot read rules table {path}: {exc.strerror}") from exc


def load_packaged_rules() -> RulesTable:
    """The rules table shipped with this version of Bayflow."""
    text = (
        resources.files("bayflow.compliance")
        .joinpath("rules", PACKAGED_RULES)
        .read_text(encoding="utf-8")
    )
    return parse_rules(text)
