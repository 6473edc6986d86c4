"""Helpers shared by the action classes: data access, tracker reading, message building."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import Answer, load_answers
from actions.cards import build_card, status_text
from actions.directory import Directory, Unit, load_directory
from actions.routing import RoutingTable, load_routing
from actions.texts import TOPIC_TITLES


@dataclass(frozen=True)
class Knowledge:
    """The three data files, validated."""

    directory: Directory
    routing: RoutingTable
    answers: Mapping[str, Answer]


def knowledge() -> Knowledge:
    """Load (cached) contacts, routing and answers from data/."""
    return Knowledge(load_directory(), load_routing(), load_answers())


def latest_intent(tracker: Tracker) -> str | None:
    """Name of the intent of the latest user message."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name")


def slots_before_latest_message(tracker: Tracker) -> dict[str, Any]:
    """Slot values as they were before the latest user message (replayed from the events)."""
    events = list(tracker.events or [])
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    slots: dict[str, Any] = {}
    for event in events[:last_user]:
        kind = event.get("event")
        if kind == "slot":
            slots[event.get("name")] = event.get("value")
        elif kind in ("session_started", "restart", "reset_slots"):
            slots.clear()
    return slots


def topic_buttons(intents: Iterable[str]) -> list[dict[str, str]]:
    """Quick replies '/<intent>' with the German topic titles."""
    return [{"title": TOPIC_TITLES[intent], "payload": f"/{intent}"} for intent in intents]


def send_card(dispatcher: CollectingDispatcher, topic: str, unit: Unit, at: datetime, lead: str) -> None:
    """A text line (``lead`` + opening status) followed by the contact card as its own message."""
    dispatcher.utter_message(text=f"{lead} {status_text(unit, at)}")
    dispatcher.utter_message(json_message=build_card(topic, unit, at))


def misunderstandings(tracker: Tracker) -> int:
    """Value of the slot ``misunderstandings`` as an int (0 if unset or invalid)."""
    try:
        return int(float(tracker.get_slot("misunderstandings") or 0))
    except (TypeError, ValueError):
        return 0
