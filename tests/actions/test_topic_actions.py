"""action_answer_topic and action_reroute with real Trackers and a CollectingDispatcher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import load_answers
from actions.directory import load_directory
from actions.intents import ALL_INTENTS, TOPICAL_INTENTS
from actions.routing import route
from actions.texts import ASK_TOPIC, NEXT_STEP_QUESTION, NOTED, STARTER_TOPICS, UNVERIFIED_NOTE
from actions.topics import ActionAnswerTopic, ActionReroute

pytestmark = pytest.mark.usefixtures("fixed_now")


def user_event(intent: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": None,
        "text": f"/{intent}",
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
    }


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


async def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def assert_card(message: dict[str, Any], topic: str, unit_id: str) -> None:
    assert message["text"] is None and message["buttons"] == []
    card = message["custom"]
    assert card["type"] == "contact_card"
    assert card["topic"] == topic
    assert card["unit"]["id"] == unit_id
    assert card["unit"]["name"] == load_directory().get(unit_id).name
    assert set(card["unit"]) == {
        "id",
        "name",
        "phone",
        "email",
        "web",
        "address",
        "opening_hours",
        "open_now",
    }


def assert_buttons(buttons: list[dict[str, str]]) -> None:
    assert 2 <= len(buttons) <= 3
    for button in buttons:
        assert button["title"]
        assert button["payload"].startswith("/") and button["payload"][1:] in ALL_INTENTS


def test_action_names() -> None:
    assert ActionAnswerTopic().name() == "action_answer_topic"
    assert ActionReroute().name() == "action_reroute"


@pytest.mark.parametrize("intent", TOPICAL_INTENTS)
async def test_answer_topic(intent: str, make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(ActionAnswerTopic(), make_tracker(intent, {"misunderstandings": 1.0}))
    answer = load_answers()[intent]
    unit_id = route(intent, {}).primary
    unit = load_directory().get(unit_id)

    assert len(messages) == 4
    assert messages[0]["text"] == (
        f"{answer.text}\n\nQuelle: [{answer.source_title}]({answer.source_url}) (Stand: 24.11.2026)"
    )
    office = messages[1]["text"]
    assert office.startswith(f"Zuständig: {unit.name}.")
    assert "Die Stelle ist gerade geöffnet" in office  # Tuesday 10:00
    assert UNVERIFIED_NOTE in office
    assert_card(messages[2], intent, unit_id)
    assert messages[2]["custom"]["unit"]["open_now"] is True
    assert messages[3]["text"] == NEXT_STEP_QUESTION
    assert messages[3]["buttons"] == answer.button_dicts()
    assert_buttons(messages[3]["buttons"])
    assert events == [SlotSet("current_topic", intent), SlotSet("misunderstandings", 0)]


async def test_answer_names_secondary_units(make_tracker: Callable[..., Tracker]) -> None:
    messages, _ = await run(ActionAnswerTopic(), make_tracker("emergency_aid"))
    assert "Auch hilfreich: Wirtschaftsförderung der Stadt Mannheim." in messages[1]["text"]


async def test_answer_topic_uses_industry(make_tracker: Callable[..., Tracker]) -> None:
    messages, _ = await run(ActionAnswerTopic(), make_tracker("emergency_aid", {"industry": "handwerk"}))
    assert_card(messages[2], "emergency_aid", "chamber_of_crafts")


async def test_answer_topic_when_closed(make_tracker: Callable[..., Tracker], fixed_now: Any) -> None:
    from datetime import datetime

    from actions.directory import berlin

    fixed_now(datetime(2026, 11, 27, 12, 0, tzinfo=berlin()))  # Friday noon
    messages, _ = await run(ActionAnswerTopic(), make_tracker("tax_relief"))
    assert "wieder erreichbar am Montag, 30.11., ab 08:00 Uhr" in messages[1]["text"]
    assert messages[2]["custom"]["unit"]["open_now"] is False


async def test_answer_topic_falls_back_to_current_topic(make_tracker: Callable[..., Tracker]) -> None:
    tracker = make_tracker("affirm", {"current_topic": "e_invoicing"})
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert "XRechnung" in messages[0]["text"]
    assert_card(messages[2], "e_invoicing", "accounts_payable")
    assert events == [SlotSet("current_topic", "e_invoicing"), SlotSet("misunderstandings", 0)]


async def test_answer_topic_without_any_topic(make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(ActionAnswerTopic(), make_tracker("greet"))
    assert len(messages) == 1
    assert messages[0]["text"] == ASK_TOPIC
    assert [b["payload"] for b in messages[0]["buttons"]] == [f"/{t}" for t in STARTER_TOPICS]
    assert events == []


# --- action_reroute ----------------------------------------------------------------------


def inform_tracker(
    make_tracker: Callable[..., Tracker], topic: str | None, before: dict[str, Any], new: dict[str, Any]
) -> Tracker:
    """Conversation: <topic> answered (slots ``before`` known), then ``inform`` sets ``new``."""
    events: list[dict[str, Any]] = [slot_event(k, v) for k, v in before.items()]
    if topic:
        events += [user_event(topic), slot_event("current_topic", topic)]
    events.append(user_event("inform", [{"entity": k, "value": v} for k, v in new.items()]))
    events += [slot_event(k, v) for k, v in new.items()]
    slots = {**before, **new, "current_topic": topic}
    return make_tracker(
        "inform", slots, events=events, entities=[{"entity": k, "value": v} for k, v in new.items()]
    )


async def test_reroute_emergency_aid_for_handwerk(make_tracker: Callable[..., Tracker]) -> None:
    tracker = inform_tracker(make_tracker, "emergency_aid", {}, {"industry": "handwerk"})
    messages, events = await run(ActionReroute(), tracker)
    assert len(messages) == 2
    assert messages[0]["text"].startswith(
        "Danke! Als Handwerksbetrieb wenden Sie sich für Soforthilfen an die Handwerkskammer."
    )
    assert "geöffnet" in messages[0]["text"]
    assert_card(messages[1], "emergency_aid", "chamber_of_crafts")
    assert events == [SlotSet("misunderstandings", 0)]


async def test_reroute_back_to_ihk(make_tracker: Callable[..., Tracker]) -> None:
    tracker = inform_tracker(
        make_tracker, "emergency_aid", {"industry": "handwerk"}, {"industry": "gastronomie"}
    )
    messages, _ = await run(ActionReroute(), tracker)
    assert messages[0]["text"].startswith(
        "Danke! Als Gastronomiebetrieb wenden Sie sich für Soforthilfen an die IHK Rhein-Neckar."
    )
    assert_card(messages[1], "emergency_aid", "chamber_of_commerce")


@pytest.mark.parametrize(
    ("topic", "before", "new"),
    [
        ("emergency_aid", {}, {"industry": "gastronomie"}),  # IHK before and after
        ("emergency_aid", {"industry": "handwerk"}, {"employees": "12"}),  # already Handwerkskammer
        ("short_time_work_application", {}, {"industry": "handwerk"}),
        ("tax_relief", {}, {"district": "Neckarau", "company_name": "Müller GmbH"}),
    ],
)
async def test_reroute_unchanged_only_acknowledges(
    make_tracker: Callable[..., Tracker], topic: str, before: dict[str, Any], new: dict[str, Any]
) -> None:
    messages, events = await run(ActionReroute(), inform_tracker(make_tracker, topic, before, new))
    assert [m["text"] for m in messages] == [NOTED]
    assert all(not m["custom"] for m in messages)
    assert events == [SlotSet("misunderstandings", 0)]


async def test_reroute_mentions_new_secondary_unit(make_tracker: Callable[..., Tracker]) -> None:
    tracker = inform_tracker(make_tracker, "loans_liquidity", {}, {"industry": "handwerk"})
    messages, _ = await run(ActionReroute(), tracker)
    assert [m["text"] for m in messages] == [f"{NOTED} Zusätzlich hilfreich für Sie: die Handwerkskammer."]


async def test_reroute_without_topic_asks_for_one(make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(
        ActionReroute(), inform_tracker(make_tracker, None, {}, {"industry": "handwerk"})
    )
    assert len(messages) == 1
    assert messages[0]["text"] == ASK_TOPIC
    assert len(messages[0]["buttons"]) == 3
    assert_buttons(messages[0]["buttons"])
    assert events == [SlotSet("misunderstandings", 0)]
