"""Contact cards: the JSON payload for the channels and the German line that introduces it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actions.directory import Unit, open_now, opening_phrase
from actions.texts import UNVERIFIED_NOTE


def build_card(topic: str, unit: Unit, at: datetime) -> dict[str, Any]:
    """The ``contact_card`` payload sent as ``json_message`` (REST channel: ``{"custom": {...}}``)."""
    return {
        "type": "contact_card",
        "topic": topic,
        "unit": {
            "id": unit.id,
            "name": unit.name,
            "phone": unit.phone,
            "email": unit.email,
            "web": unit.web,
            "address": unit.address,
            "opening_hours": unit.hours_json(),
            "open_now": open_now(unit, at),
        },
    }


def status_text(unit: Unit, at: datetime) -> str:
    """Open now / reachable again when, plus the note on unconfirmed contact data."""
    text = opening_phrase(unit, at)
    if not unit.verified:
        text += " " + UNVERIFIED_NOTE
    return text


def card_text(unit: Unit, at: datetime, lead: str = "Zuständig") -> str:
    """German line before the card, e.g. 'Zuständig: IHK Rhein-Neckar. Die Stelle ist …'."""
    return f"{lead}: {unit.name}. {status_text(unit, at)}"
