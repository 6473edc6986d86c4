"""action_contact_card, action_human_handoff and action_clarify with real Trackers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.cards import status_text
from actions.contact import ActionContactCard, ActionHumanHandoff
from actions.directory import load_directory
from actions.fallback import ActionClarify, likely_topics
from actions.intents import TOPICAL_INTENTS
from actions.routing import route
from actions.texts import (
    CALLBACK_BUTTON,
    CALLBACK_OFFER,
    ESCALATION_INTRO,
    HANDOFF,
    HANDOFF_FORWARD,
    STARTER_TOPICS,
    TOPIC_TITLES,
    addressee,
)
from actions.topics import ActionAnswerTopic

pytestmark = pytest.mark.usefixtures("fixed_now")


async def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def card_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    cards = [m["custom"] for m in messages if m["custom"]]
    assert len(cards) == 1
    assert cards[0]["type"] == "contact_card"
    return cards[0]


def apply(slots: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    return {**slots, **{e["name"]: e["value"] for e in events if e["event"] == "slot"}}


@pytest.mark.parametrize("topic", TOPICAL_INTENTS)
async def test_contact_card_follows_current_topic(topic: str, make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(
        ActionContactCard(), make_tracker("contact_request", {"current_topic": topic})
    )
    unit_id = route(topic, {}).primary
    unit = load_directory().get(unit_id)
    assert len(messages) == 2
    assert messages[0]["text"] == (
        f"Für „{TOPIC_TITLES[topic]}“ ist zuständig: {unit.name}. {status_text(unit, clock.now())}"
    )
    card = card_of(messages)
    assert (card["topic"], card["unit"]["id"]) == (topic, unit_id)
    assert events == [SlotSet("misunderstandings", 0)]


async def test_contact_request_after_emergency_aid(make_tracker: Callable[..., Tracker]) -> None:
    slots: dict[str, Any] = {}
    _, events = await run(ActionAnswerTopic(), make_tracker("emergency_aid", slots))
    slots = apply(slots, events)
    messages, _ = await run(ActionContactCard(), make_tracker("contact_request", slots))
    card = card_of(messages)
    assert (card["topic"], card["unit"]["id"]) == ("emergency_aid", "chamber_of_commerce")
    assert load_directory().get("chamber_of_commerce").name in messages[0]["text"]


async def test_contact_card_without_topic(make_tracker: Callable[..., Tracker]) -> None:
    messages, _ = await run(ActionContactCard(), make_tracker("contact_request"))
    assert messages[0]["text"].startswith(
        f"Ihre erste Anlaufstelle ist: {load_directory().get('business_development').name}."
    )
    card = card_of(messages)
    assert (card["topic"], card["unit"]["id"]) == ("contact_request", "business_development")


@pytest.mark.parametrize(
    ("slots", "topic", "unit_id", "lead"),
    [
        (
            {},
            "human_handoff",
            "business_development",
            HANDOFF.format(addressee="die Wirtschaftsförderung der Stadt"),
        ),
        (
            {"current_topic": "tax_relief", "tax_type": "grundsteuer"},
            "tax_relief",
            "tax_office",
            HANDOFF.format(addressee=addressee("tax_office", "")),
        ),
        # outside bodies: the user may turn to them directly, or the Wirtschaftsförderung forwards the request
        (
            {"current_topic": "short_time_work_allowance"},
            "short_time_work_allowance",
            "employment_agency",
            "Gern: Sie können sich direkt an die Agentur für Arbeit wenden. Oder ich nehme Ihr Anliegen auf – ",
        ),
        (
            {"current_topic": "emergency_aid", "industry": "handwerk"},
            "emergency_aid",
            "chamber_of_crafts",
            "Gern: Sie können sich direkt an die Handwerkskammer wenden. Oder ich nehme Ihr Anliegen auf – ",
        ),
    ],
)
async def test_human_handoff(
    slots: dict[str, Any], topic: str, unit_id: str, lead: str, make_tracker: Callable[..., Tracker]
) -> None:
    messages, events = await run(ActionHumanHandoff(), make_tracker("human_handoff", slots))
    unit = load_directory().get(unit_id)
    status = status_text(unit, clock.now())
    if unit.handles_cases:
        assert messages[0]["text"] == f"{lead} {status}"
    else:  # … the Wirtschaftsförderung takes the request and forwards it
        assert messages[0]["text"].startswith(lead)
        assert messages[0]["text"].endswith(f"Wirtschaftsförderung der Stadt leitet es weiter. {status}")
        assert HANDOFF_FORWARD.endswith("{coordinator} leitet es weiter.")
    card = card_of(messages)
    assert (card["topic"], card["unit"]["id"]) == (topic, unit_id)
    # after the card: the contact form starts (its first question comes from the form itself)
    assert messages[-1]["text"] == ESCALATION_INTRO
    assert events[0] == SlotSet("misunderstandings", 0)
    assert events[-1] == ActiveLoop("escalation_form")
    assert SlotSet("case_trigger", "human_handoff") in events


async def test_handoff_to_an_outside_body_wording(make_tracker: Callable[..., Tracker]) -> None:
    tracker = make_tracker("human_handoff", {"current_topic": "short_time_work_allowance"})
    messages, _ = await run(ActionHumanHandoff(), tracker)
    assert messages[0]["text"].startswith(
        "Gern: Sie können sich direkt an die Agentur für Arbeit wenden. Oder ich nehme Ihr Anliegen auf – "
        "die Wirtschaftsförderung der Stadt leitet es weiter."
    )


# --- action_clarify ----------------------------------------------------------------------

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.45},
    {"name": "tax_relief", "confidence": 0.30},
    {"name": "greet", "confidence": 0.20},
    {"name": "loans_liquidity", "confidence": 0.25},
    {"name": "emergency_aid", "confidence": 0.10},
    {"name": "smart_city", "confidence": 0.05},
]


def test_likely_topics() -> None:
    assert likely_topics({"intent_ranking": RANKING}) == ["tax_relief", "loans_liquidity", "emergency_aid"]
    assert likely_topics({"intent_ranking": RANKING[:2]}) == ["tax_relief", STARTER_TOPICS[0]]
    assert likely_topics({"intent_ranking": []}) == list(STARTER_TOPICS[:2])
    assert likely_topics(None) == list(STARTER_TOPICS[:2])


async def test_clarify_asks_back(make_tracker: Callable[..., Tracker]) -> None:
    tracker = make_tracker("nlu_fallback", ranking=RANKING, text="was ist mit dem geld")
    messages, events = await run(ActionClarify(), tracker)
    assert len(messages) == 1
    assert messages[0]["text"] == (
        "Ich bin nicht sicher, ob ich Sie richtig verstanden habe. Meinen Sie „Steuern stunden oder senken“, "
        "„Kredite und Liquidität“ oder „Soforthilfen und Zuschüsse“?"
    )
    assert messages[0]["buttons"] == [
        {"title": "Steuern stunden oder senken", "payload": "/tax_relief"},
        {"title": "Kredite und Liquidität", "payload": "/loans_liquidity"},
        {"title": "Soforthilfen und Zuschüsse", "payload": "/emergency_aid"},
    ]
    assert events == [SlotSet("misunderstandings", 1)]


async def test_two_fallbacks_in_a_row_give_business_development(make_tracker: Callable[..., Tracker]) -> None:
    slots: dict[str, Any] = {"current_topic": "emergency_aid"}
    _, events = await run(ActionClarify(), make_tracker("nlu_fallback", slots, ranking=RANKING))
    slots = apply(slots, events)
    assert slots["misunderstandings"] == 1
    messages, events = await run(ActionClarify(), make_tracker("nlu_fallback", slots, ranking=RANKING))
    assert messages[0]["text"].startswith("Entschuldigung")
    assert "Wirtschaftsförderung" in messages[0]["text"]
    card = card_of(messages)
    assert card["unit"]["id"] == "business_development"
    # … and a person can call back: one button "Rückruf anfordern" -> /human_handoff
    assert messages[-1]["text"] == CALLBACK_OFFER
    assert (
        messages[-1]["buttons"]
        == [CALLBACK_BUTTON]
        == [{"title": "Rückruf anfordern", "payload": "/human_handoff"}]
    )
    assert all(not m["buttons"] for m in messages[:-1])
    assert events == [SlotSet("misunderstandings", 0), SlotSet("case_trigger", "misunderstanding")]
    # the counter starts again: the next fallback asks back
    slots = apply(slots, events)
    messages, events = await run(ActionClarify(), make_tracker("nlu_fallback", slots, ranking=RANKING))
    assert messages[0]["buttons"] and events == [SlotSet("misunderstandings", 1)]


async def test_understood_topic_resets_the_counter(make_tracker: Callable[..., Tracker]) -> None:
    slots: dict[str, Any] = {}
    _, events = await run(ActionClarify(), make_tracker("nlu_fallback", slots, ranking=RANKING))
    slots = apply(slots, events)
    _, events = await run(ActionAnswerTopic(), make_tracker("tax_relief", slots))
    slots = apply(slots, events)
    assert slots["misunderstandings"] == 0
    messages, events = await run(ActionClarify(), make_tracker("nlu_fallback", slots, ranking=RANKING))
    assert messages[0]["text"].startswith("Ich bin nicht sicher")
    assert events == [SlotSet("misunderstandings", 1)]
