"""The general contact shown when the assistant is unavailable: the business_development unit of
data/contacts.yml (read once at start-up; the full schema is checked by actions.directory and its tests)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

UNIT_ID = "business_development"
# Opening hours are left out: the web app does not know public holidays, so it shows no open/closed status.
CARD_FIELDS = ("name", "description", "phone", "email", "web", "address", "languages", "note")

# Used only when data/contacts.yml is missing: no invented phone numbers or addresses, just the city's site.
FALLBACK_UNIT: dict[str, Any] = {
    "name": "Wirtschaftsförderung der Stadt Mannheim",
    "description": "Allgemeine Anlaufstelle für Unternehmen",
    "phone": None,
    "email": None,
    "web": "https://www.mannheim.de",
    "address": None,
    "languages": ["de"],
    "note": "Die aktuellen Kontaktdaten finden Sie auf der Website der Stadt.",
}


class ContactsError(ValueError):
    """data/contacts.yml exists but cannot be used (names the file and the problem)."""


def contact_card(path: Path) -> dict[str, Any]:
    """The contact card (``{"type": "contact_card", ...}``) of the business development unit.

    A missing file gives a small fallback card (with a warning); a broken file raises ContactsError.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.warning("%s not found: the fallback message shows a general contact without phone number", path)
        return _card(FALLBACK_UNIT)
    except OSError as exc:
        raise ContactsError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ContactsError(f"{path}: YAML syntax error: {exc}") from exc
    units = data.get("units") if isinstance(data, dict) else None
    unit = units.get(UNIT_ID) if isinstance(units, dict) else None
    if not isinstance(unit, dict):
        raise ContactsError(f"{path}: no entry units.{UNIT_ID} (the general contact for fallback messages)")
    for key in ("name", "web"):
        if not isinstance(unit.get(key), str) or not unit[key].strip():
            raise ContactsError(f"{path}: entry '{UNIT_ID}': field '{key}' must be a non-empty text")
    card = {key: unit.get(key) for key in CARD_FIELDS if key in unit}
    sources = unit.get("sources") if isinstance(unit.get("sources"), dict) else {}
    retrieved = sorted(str(src.get("retrieved")) for src in sources.values() if isinstance(src, dict))
    card["checked"] = retrieved[0] if retrieved else None
    return _card(card)


def _card(unit: dict[str, Any]) -> dict[str, Any]:
    # open_now stays None: the web app does not compute office hours (holidays live in actions/).
    return {"type": "contact_card", "topic": None,
            "unit": {"id": UNIT_ID, "opening_hours": None, **unit, "open_now": None}}


def unit_names(path: Path) -> dict[str, str]:
    """Unit id → display name of every unit in data/contacts.yml (empty when the file is missing)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {UNIT_ID: FALLBACK_UNIT["name"]}
    except (OSError, yaml.YAMLError) as exc:
        raise ContactsError(f"{path}: cannot read the units ({exc})") from exc
    units = data.get("units") if isinstance(data, dict) else None
    if not isinstance(units, dict):
        raise ContactsError(f"{path}: no 'units' mapping")
    return {str(key): str(value.get("name") or key) if isinstance(value, dict) else str(key)
            for key, value in units.items()}
