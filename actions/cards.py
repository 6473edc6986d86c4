"""Contact cards: the JSON payload for the channels and the German line that introduces it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actions.directory import Unit, local, open_now, opening_phrase
from actions.texts import OLD_SOURCE_NOTE


def build_card(topic: str, unit: Unit, at: datetime) -> dict[str, Any]:
    """The ``contact_card`` payload sent as ``json_message`` (REST channel: ``{"custom": {...}}``).

    Only sourced values are in the directory; hours from a page older than three years are sent without an
    open/closed status, and ``old_fields`` names the fields the widget marks "bitte auf der Seite prüfen".
    """
    today = local(at).date()
    checked = unit.checked_on()
    return {
        "type": "contact_card",
        "topic": topic,
        "unit": {
            "id": unit.id,
            "name": unit.name,
            "description": unit.description,
            "phone": unit.phone,
            "email": unit.email,
            "web": unit.web,
            "address": unit.address,
            "opening_hours": unit.hours_json(),
            "hours_note": unit.hours_note,
            "open_now": open_now(unit, at),
            "languages": list(unit.languages),
            "note": unit.note,
            "checked": checked.isoformat() if checked else None,
            "old_fields": list(unit.old_fields(today)),
            "sources": {field: src.as_json() for field, src in unit.sources.items()},
        },
    }


def status_text(unit: Unit, at: datetime) -> str:
    """Reachable now / again when (from sourced hours only), plus a hint on data from old pages."""
    text = opening_phrase(unit, at)
    if unit.old_fields(local(at).date()):
        text += " " + OLD_SOURCE_NOTE
    return text


def card_text(unit: Unit, at: datetime, lead: str = "Zuständig") -> str:
    """German line before the card, e.g. 'Zuständig: IHK Rhein-Neckar. Sprechzeiten bitte …'."""
    return f"{lead}: {unit.name}. {status_text(unit, at)}"
