"""The routing table (data/routing.yml): which unit answers which intent, first matching rule wins."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from actions.datafile import DATA_DIR, DataFileError, EntryNamer, check_schema, line_of, read_yaml
from actions.directory import CONTACTS_FILE, load_directory
from actions.intents import TOPIC_DEPENDENT_INTENTS, TOPICAL_INTENTS
from actions.schemas import ROUTING_SCHEMA
from actions.taxes import scope_of, slot_values

ROUTING_FILE = DATA_DIR / "routing.yml"


@dataclass(frozen=True)
class Rule:
    """One routing rule: ``intent`` (+ optional conditions) -> primary and secondary units."""

    intent: str
    primary: str
    secondary: tuple[str, ...] = ()
    industry: frozenset[str] | None = None
    district: frozenset[str] | None = None
    employees_min: int | None = None
    employees_max: int | None = None
    tax: frozenset[str] | None = None

    @property
    def unconditional(self) -> bool:
        return (
            self.industry is None
            and self.district is None
            and (self.employees_min is None and self.employees_max is None)
            and self.tax is None
        )

    def matches(self, slots: Mapping[str, Any]) -> bool:
        """True if every condition of the rule holds for ``slots`` (a missing slot fails it)."""
        if self.industry is not None and _norm(slots.get("industry")) not in self.industry:
            return False
        if self.district is not None and _norm(slots.get("district")) not in self.district:
            return False
        if self.tax is not None and scope_of(slot_values(slots.get("tax_type"))) not in self.tax:
            return False
        if self.employees_min is not None or self.employees_max is not None:
            count = parse_employees(slots.get("employees"))
            if count is None:
                return False
            if self.employees_min is not None and count < self.employees_min:
                return False
            if self.employees_max is not None and count > self.employees_max:
                return False
        return True


@dataclass(frozen=True)
class Route:
    """Result of routing: the unit to contact first, further helpful units, the deciding topic."""

    primary: str
    secondary: tuple[str, ...] = ()
    topic: str | None = None


@dataclass(frozen=True)
class RoutingTable:
    default_unit: str
    rules: tuple[Rule, ...]
    topic_dependent: tuple[str, ...] = field(default=TOPIC_DEPENDENT_INTENTS)

    def route(self, intent: str | None, slots: Mapping[str, Any]) -> Route:
        """First matching rule for ``intent``; topic-dependent intents use slot current_topic."""
        if intent in self.topic_dependent or intent not in TOPICAL_INTENTS:
            intent = slots.get("current_topic")
            if intent not in TOPICAL_INTENTS:
                return Route(self.default_unit)
        for rule in self.rules:
            if rule.intent == intent and rule.matches(slots):
                return Route(rule.primary, rule.secondary, intent)
        return Route(self.default_unit, (), intent)


def _norm(value: Any) -> str | None:
    return None if value is None else str(value).strip().casefold()


def parse_employees(value: Any) -> int | None:
    """Number of employees from a slot value ('12', 12.0, 'ca. 12 Leute'); None if unknown."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    match = re.search(r"\d+", str(value).replace(".", ""))
    return int(match.group()) if match else None


def _check(path: Path, data: Any, unit_ids: set[str]) -> None:
    namer = EntryNamer("routes", keyed_by="intent")

    def fail(message: str, *where: str | int) -> None:
        entry, fld = namer(data, where)
        raise DataFileError(path, message, entry=entry, field=fld, line=line_of(data, where))

    if data["default_unit"] not in unit_ids:
        fail(f"unknown unit id '{data['default_unit']}'", "default_unit")
    settled: dict[str, int] = {}
    for index, raw in enumerate(data["routes"]):
        if raw["primary"] not in unit_ids:
            fail(f"unknown unit id '{raw['primary']}'", "routes", index, "primary")
        for pos, unit in enumerate(raw.get("secondary") or []):
            if unit not in unit_ids:
                fail(f"unknown unit id '{unit}'", "routes", index, "secondary", pos)
            if unit == raw["primary"]:
                fail(f"'{unit}' is already the primary unit", "routes", index, "secondary", pos)
        when = raw.get("when") or {}
        low, high = when.get("employees_min"), when.get("employees_max")
        if low is not None and high is not None and low > high:
            fail("employees_min is greater than employees_max", "routes", index, "when")
        if raw["intent"] in settled:
            fail(
                f"unreachable: rule {settled[raw['intent']]} already matches every "
                f"'{raw['intent']}' question",
                "routes",
                index,
                "intent",
            )
        if not when:
            settled[raw["intent"]] = index
    missing = [intent for intent in TOPICAL_INTENTS if intent not in settled]
    if missing:
        fail(f"no rule without 'when' for: {', '.join(missing)}", "routes")


def _build(path: Path, data: Any, unit_ids: set[str]) -> RoutingTable:
    check_schema(path, data, ROUTING_SCHEMA, EntryNamer("routes", keyed_by="intent"))
    _check(path, data, unit_ids)
    rules = []
    for raw in data["routes"]:
        when = raw.get("when") or {}
        rules.append(
            Rule(
                intent=raw["intent"],
                primary=raw["primary"],
                secondary=tuple(raw.get("secondary") or ()),
                industry=frozenset(when["industry"]) if "industry" in when else None,
                district=frozenset(d.casefold() for d in when["district"]) if "district" in when else None,
                employees_min=when.get("employees_min"),
                employees_max=when.get("employees_max"),
                tax=frozenset(when["tax"]) if "tax" in when else None,
            )
        )
    return RoutingTable(
        default_unit=data["default_unit"],
        rules=tuple(rules),
        topic_dependent=tuple(data.get("topic_dependent") or TOPIC_DEPENDENT_INTENTS),
    )


@lru_cache(maxsize=16)
def _load_cached(path: Path, _mtime: int, contacts: Path, _contacts_mtime: int) -> RoutingTable:
    directory = load_directory(contacts)
    data = read_yaml(path)
    table = _build(path, data, set(directory.units))
    if not directory.get(table.default_unit).handles_cases:
        raise DataFileError(
            path,
            f"'{table.default_unit}' does not work cases in the staff console (handles_cases: false in "
            f"{contacts.name}); the default unit receives and forwards the cases of outside bodies",
            field="default_unit",
            line=line_of(data, ("default_unit",)),
        )
    return table


def load_routing(path: Path | str | None = None, contacts_path: Path | str | None = None) -> RoutingTable:
    """Load and validate data/routing.yml against the contact directory; cached until a file changes."""
    resolved = Path(path or ROUTING_FILE).resolve()
    contacts = Path(contacts_path or CONTACTS_FILE).resolve()
    try:
        mtimes = resolved.stat().st_mtime_ns, contacts.stat().st_mtime_ns
    except OSError as exc:
        raise DataFileError(exc.filename or resolved, f"cannot read file ({exc.strerror or exc})") from exc
    return _load_cached(resolved, mtimes[0], contacts, mtimes[1])


def route(intent: str | None, slots: Mapping[str, Any], table: RoutingTable | None = None) -> Route:
    """Route ``intent`` with the conversation's ``slots`` (default table: data/routing.yml)."""
    return (table or load_routing()).route(intent, slots)
