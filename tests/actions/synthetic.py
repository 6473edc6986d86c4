"""Synthetic contact data for tests of logic: units and a contacts.yml whose every value is known.

data/contacts.yml holds researched facts that change when a page changes; tests of opening hours, service
levels, cards and escalation wording build their own units here instead of relying on those values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from actions.directory import DAYS, Unit
from actions.routing import ROUTING_FILE
from actions.schemas import SOURCED_UNIT_FIELDS
from actions.sources import Source

RETRIEVED = date(2026, 12, 8)
PAGE = "https://example.org/page"

Hours = Mapping[str, tuple[tuple[str, str], ...]]


def hours(**days: tuple[tuple[str, str], ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Opening hours mon..sun; days not given are closed."""
    return {day: tuple(days.get(day, ())) for day in DAYS}


#: Mon-Thu 08-12 and 13-16, Fri 08-12 (the hours the Wirtschaftsförderung tests count with).
WIFOE_HOURS = hours(
    **{d: (("08:00", "12:00"), ("13:00", "16:00")) for d in DAYS[:4]}, fri=(("08:00", "12:00"),)
)
#: Mon-Fri 08-18 (a hotline).
WEEKDAY_HOURS = hours(**{d: (("08:00", "18:00"),) for d in DAYS[:5]})
#: Mon-Fri 08-12, Thu also 14-17.
MORNING_HOURS = hours(
    **{d: (("08:00", "12:00"),) for d in DAYS[:5]} | {"thu": (("08:00", "12:00"), ("14:00", "17:00"))}
)


def source(*, url: str = PAGE, retrieved: date = RETRIEVED, as_of: date | None = None) -> Source:
    return Source(url=url, retrieved=retrieved, as_of=as_of)


def unit(**changes: Any) -> Unit:
    """A unit whose every value has a source (``sources`` given explicitly replaces that)."""
    base: dict[str, Any] = dict(
        id="x",
        name="Testamt",
        description="Test.",
        phone="0621 123456",
        email=None,
        web="https://example.org/testamt",
        address=None,
        opening_hours=None,
        languages=("de",),
        handles_cases=True,
    )
    base.update(changes)
    if "sources" not in changes:
        base["sources"] = {f: source() for f in SOURCED_UNIT_FIELDS if base.get(f) not in (None, "")}
    base["sources"] = MappingProxyType(dict(base["sources"]))
    return Unit(**base)


def with_hours(u: Unit, opening_hours: Hours | None, *, as_of: date | None = None) -> Unit:
    """``u`` with opening hours stated on a cited page (its own date ``as_of``)."""
    sources = {k: v for k, v in u.sources.items() if k != "opening_hours"}
    if opening_hours is not None:
        sources["opening_hours"] = source(as_of=as_of)
    return replace(u, opening_hours=opening_hours, sources=MappingProxyType(sources))


# --- a whole contacts.yml ---------------------------------------------------------------------------

#: unit id -> (name, handles_cases). The ids are those data/routing.yml routes to (never renamed).
UNITS: dict[str, tuple[str, bool]] = {
    "employment_agency": ("Agentur für Arbeit Mannheim", False),
    "business_development": ("Wirtschaftsförderung der Stadt Mannheim", True),
    "tax_office": ("Stadt Mannheim – Steuern", True),
    "state_tax_office": ("Finanzamt Mannheim", False),
    "citizen_services": ("Bürgerdienste Mannheim", True),
    "trade_office": ("Gewerbeamt Mannheim", True),
    "health_office": ("Gesundheitsamt Mannheim", True),
    "accounts_payable": ("Zentraler Rechnungseingang Mannheim", True),
    "digital_office": ("Fachbereich Informationstechnologie Mannheim", True),
    "data_protection_officer": ("Datenschutzbeauftragter der Stadt Mannheim", True),
    "startup_centres": ("NEXT MANNHEIM", False),
    "chamber_of_commerce": ("IHK Rhein-Neckar", False),
    "chamber_of_crafts": ("Handwerkskammer Mannheim", False),
    "police_cybercrime": ("Zentrale Ansprechstelle Cybercrime", False),
    "data_protection_authority": ("Landesbeauftragter für den Datenschutz", False),
    "cyber_first_aid": ("Cyber-Ersthilfe BW", False),
}


def routed_unit_ids(routing_file: Path = ROUTING_FILE) -> set[str]:
    """Every unit id data/routing.yml names (the synthetic directory must have them all)."""
    data = yaml.safe_load(routing_file.read_text(encoding="utf-8"))
    ids = {data["default_unit"]}
    for rule in data["routes"]:
        ids |= {rule["primary"], *(rule.get("secondary") or ())}
    return ids


def unit_data(unit_id: str, **changes: Any) -> dict[str, Any]:
    """The YAML mapping of one synthetic unit; ``sources`` is filled in for every value unless given."""
    name, handles_cases = UNITS.get(unit_id, (unit_id.replace("_", " ").title(), False))
    raw: dict[str, Any] = {
        "name": name,
        "description": f"Synthetische Stelle {unit_id} für Tests.",
        "handles_cases": handles_cases,
        "phone": "0621 000000",
        "email": None,
        "web": f"https://example.org/{unit_id.replace('_', '-')}",
        "address": None,
        "opening_hours": None,
        "languages": ["de"],
    }
    old: dict[str, date] = changes.pop("as_of", {})
    raw.update(changes)
    if "sources" not in changes:
        raw["sources"] = {
            field: {"url": f"https://example.org/{unit_id.replace('_', '-')}/{field}", "retrieved": RETRIEVED}
            | ({"as_of": old[field]} if field in old else {})
            for field in SOURCED_UNIT_FIELDS
            if raw.get(field) not in (None, "")
        }
    return raw


def _flow(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def render_contacts(units: Mapping[str, Mapping[str, Any]]) -> str:
    """contacts.yml text: one line per field, opening hours one line per day, one line per source."""
    lines = ["# synthetic contact directory (tests/actions/synthetic.py)", "units:"]
    for unit_id, raw in units.items():
        lines.append(f"  {unit_id}:")
        for key, value in raw.items():
            if key == "opening_hours" and value is not None:
                lines.append("    opening_hours:")
                lines += [f"      {day}: {_flow(value[day])}" for day in value]
            elif key == "sources":
                lines.append("    sources:")
                lines += [f"      {field}: {_flow(src)}" for field, src in value.items()]
            else:
                lines.append(f"    {key}: {_flow(value)}")
        lines.append("")
    return "\n".join(lines)


def write_contacts(path: Path, changes: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Write a synthetic contacts.yml with every unit of UNITS; ``changes`` per unit id (see unit_data)."""
    changes = changes or {}
    ids = [*UNITS, *sorted(routed_unit_ids() - set(UNITS)), *(uid for uid in changes if uid not in UNITS)]
    units = {uid: unit_data(uid, **dict(changes.get(uid, {}))) for uid in dict.fromkeys(ids)}
    path.write_text(render_contacts(units), encoding="utf-8")
    return path

#: Keys of a contact card's unit, in the order the actions send them (actions/cards.py build_card).
CARD_KEY_ORDER: tuple[str, ...] = (
    "id",
    "name",
    "description",
    "phone",
    "email",
    "web",
    "address",
    "opening_hours",
    "hours_note",
    "open_now",
    "languages",
    "note",
    "checked",
    "old_fields",
    "sources",
)
CARD_KEYS = set(CARD_KEY_ORDER)
