"""Fixtures for the action tests: fixed clock, tracker factory, copies of the data files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import clock
from actions.directory import berlin

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
DATA_FILES = ("contacts.yml", "routing.yml", "answers.yml")

#: Tuesday, 24.11.2026, 10:00 in Mannheim: every unit in data/contacts.yml is open.
OPEN_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=berlin())


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Freeze actions.clock.now (default: OPEN_TIME); call the fixture to move the clock."""
    current = {"at": OPEN_TIME}
    monkeypatch.setattr(clock, "now", lambda: current["at"])

    def move(at: datetime) -> None:
        current["at"] = at

    return move


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    """Factory for real rasa_sdk Trackers (see build_tracker)."""
    return build_tracker


def user_event(intent: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": None,
        "text": f"/{intent}",
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
    }


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def build_tracker(
    intent: str,
    slots: dict[str, Any] | None = None,
    *,
    events: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
) -> Tracker:
    """A real rasa_sdk Tracker as the action server would build it."""
    all_slots: dict[str, Any] = {
        "industry": None,
        "employees": None,
        "district": None,
        "email": None,
        "phone": None,
        "person_name": None,
        "company_name": None,
        "current_topic": None,
        "misunderstandings": 0.0,
    }
    all_slots.update(slots or {})
    latest = {
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": ranking if ranking is not None else [{"name": intent, "confidence": 0.9}],
        "entities": entities or [],
        "text": text or f"/{intent}",
    }
    return Tracker(
        sender_id="test-user",
        slots=all_slots,
        latest_message=latest,
        events=events if events is not None else [user_event(intent, entities)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A directory with copies of contacts.yml, routing.yml and answers.yml to break."""
    for name in DATA_FILES:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path
