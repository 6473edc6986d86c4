"""action_answer_topic and action_reroute with real Trackers and a CollectingDispatcher."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.answers import load_answers
from actions.cards import card_text, status_text
from actions.directory import CHECK_HOURS, berlin, hours_are_fact, load_directory
from actions.escalation import URGENT_TOPICS
from actions.intents import ALL_INTENTS, TOPICAL_INTENTS
from actions.routing import route
from actions.texts import (
    ASK_TAX_TYPE,
    ASK_TOPIC,
    NEXT_STEP_QUESTION,
    NOTED,
    STARTER_TOPICS,
    TAX_TYPE_BUTTONS,
    URGENT_OFFER,
)
from actions.topics import ActionAnswerTopic, ActionReroute
from tests.actions.conftest import slot_event, user_event
from tests.actions.synthetic import CARD_KEYS, WIFOE_HOURS

pytestmark = pytest.mark.usefixtures("fixed_now")



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
    unit = load_directory().get(unit_id)
    assert card["unit"]["name"] == unit.name
    assert set(card["unit"]) == CARD_KEYS
    # the card claims open/closed only from sourced hours
    assert (card["unit"]["open_now"] is None) is (not hours_are_fact(unit, clock.now()))


def assert_buttons(buttons: list[dict[str, str]]) -> None:
    assert 2 <= len(buttons) <= 3
    for button in buttons:
        assert button["title"]
        assert button["payload"].startswith("/") and button["payload"][1:] in ALL_INTENTS


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if m["custom"]]


def test_action_names() -> None:
    assert ActionAnswerTopic().name() == "action_answer_topic"
    assert ActionReroute().name() == "action_reroute"


@pytest.mark.parametrize("intent", [i for i in TOPICAL_INTENTS if i != "tax_relief"])
async def test_answer_topic(intent: str, make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(ActionAnswerTopic(), make_tracker(intent, {"misunderstandings": 1.0}))
    answer = load_answers()[intent]
    found = route(intent, {})
    unit = load_directory().get(found.primary)

    assert len(messages) == (5 if intent in URGENT_TOPICS else 4)
    assert messages[0]["text"] == answer.with_source()
    assert messages[0]["text"].endswith(f"(Stand: {answer.checked:%d.%m.%Y})")
    office = messages[1]["text"]
    assert office.split("\n")[0] == card_text(unit, clock.now())
    assert office.startswith(f"Zuständig: {unit.name}. {status_text(unit, clock.now())}")
    if found.secondary:
        assert office.split("\n")[1].startswith("Auch hilfreich: ")
    assert_card(messages[2], intent, found.primary)
    assert messages[3]["text"] == NEXT_STEP_QUESTION
    assert messages[3]["buttons"] == answer.button_dicts()
    assert_buttons(messages[3]["buttons"])
    assert events[:2] == [SlotSet("current_topic", intent), SlotSet("misunderstandings", 0)]
    if intent not in URGENT_TOPICS:
        assert len(events) == 2


async def test_answer_names_secondary_units(make_tracker: Callable[..., Tracker]) -> None:
    messages, _ = await run(ActionAnswerTopic(), make_tracker("emergency_aid"))
    wifoe = load_directory().get("business_development")
    assert messages[1]["text"].endswith(f"\nAuch hilfreich: {wifoe.name}.")


async def test_answer_topic_uses_industry(make_tracker: Callable[..., Tracker]) -> None:
    messages, _ = await run(ActionAnswerTopic(), make_tracker("emergency_aid", {"industry": "handwerk"}))
    assert_card(messages[2], "emergency_aid", "chamber_of_crafts")


# --- open / closed: only with sourced hours (synthetic directory) ------------------------------------


async def test_answer_topic_when_open_and_closed(
    make_tracker: Callable[..., Tracker], fixed_now: Any, synthetic_contacts: Callable[..., Any]
) -> None:
    synthetic_contacts({"business_development": {"opening_hours": WIFOE_HOURS}})
    messages, _ = await run(ActionAnswerTopic(), make_tracker("loans_liquidity"))  # Tuesday 10:00
    assert "Die Stelle ist gerade erreichbar (heute bis 12:00 Uhr)." in messages[1]["text"]
    assert messages[2]["custom"]["unit"]["open_now"] is True

    fixed_now(datetime(2026, 12, 18, 12, 0, tzinfo=berlin()))  # Friday noon
    messages, _ = await run(ActionAnswerTopic(), make_tracker("loans_liquidity"))
    assert (
        "Die Stelle ist gerade nicht erreichbar, wieder am Montag, 21.12., ab 08:00 Uhr."
        in messages[1]["text"]
    )
    assert messages[2]["custom"]["unit"]["open_now"] is False


async def test_answer_topic_without_sourced_hours_claims_nothing(
    make_tracker: Callable[..., Tracker], synthetic_contacts: Callable[..., Any]
) -> None:
    synthetic_contacts()  # no unit has hours
    messages, _ = await run(ActionAnswerTopic(), make_tracker("loans_liquidity"))
    assert messages[1]["text"].startswith(
        f"Zuständig: Wirtschaftsförderung der Stadt Mannheim. {CHECK_HOURS}"
    )
    assert "erreichbar" not in messages[1]["text"] and "geöffnet" not in messages[1]["text"]
    assert messages[2]["custom"]["unit"]["open_now"] is None


async def test_answer_topic_falls_back_to_current_topic(make_tracker: Callable[..., Tracker]) -> None:
    tracker = make_tracker("affirm", {"current_topic": "e_invoicing"})
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert messages[0]["text"] == load_answers()["e_invoicing"].with_source()
    assert "E-Rechnung" in messages[0]["text"]
    assert_card(messages[2], "e_invoicing", "accounts_payable")
    assert events == [SlotSet("current_topic", "e_invoicing"), SlotSet("misunderstandings", 0)]


async def test_answer_topic_without_any_topic(make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(ActionAnswerTopic(), make_tracker("greet"))
    assert len(messages) == 1
    assert messages[0]["text"] == ASK_TOPIC
    assert [b["payload"] for b in messages[0]["buttons"]] == [f"/{t}" for t in STARTER_TOPICS]
    assert events == []


# --- tax_relief: the tax decides the answer and the office -----------------------------------------


def tax_answer(variant: str | None) -> str:
    return load_answers()["tax_relief"].variant(variant).with_source()


async def test_tax_relief_without_a_tax_asks_back(make_tracker: Callable[..., Tracker]) -> None:
    tracker = make_tracker(
        "tax_relief", {"misunderstandings": 1.0}, text="Können wir Steuern stunden lassen?"
    )
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert [m["text"] for m in messages] == [tax_answer(None), ASK_TAX_TYPE]
    assert (
        messages[1]["buttons"]
        == list(TAX_TYPE_BUTTONS)
        == [
            {"title": "Gewerbe- oder Grundsteuer", "payload": '/tax_relief{"tax_type": "municipal"}'},
            {
                "title": "Einkommen-, Körperschaft-, Umsatzsteuer",
                "payload": '/tax_relief{"tax_type": "state"}',
            },
        ]
    )
    assert cards(messages) == []  # which office is not known yet
    assert events == [SlotSet("current_topic", "tax_relief"), SlotSet("misunderstandings", 0)]


@pytest.mark.parametrize(
    ("text", "tax_type", "variant", "unit_id"),
    [
        (
            "Wir können die Gewerbesteuervorauszahlung nicht leisten.",
            "gewerbesteuer",
            "municipal",
            "tax_office",
        ),
        ("Kann ich die Grundsteuer in Raten zahlen?", "grundsteuer", "municipal", "tax_office"),
        ("Können wir die Umsatzsteuer stunden?", "umsatzsteuer", "state", "state_tax_office"),
        ("Stundung der Einkommensteuervorauszahlungen", "einkommensteuer", "state", "state_tax_office"),
        ("Die MwSt. für November können wir nicht zahlen", "umsatzsteuer", "state", "state_tax_office"),
    ],
)
async def test_tax_relief_by_the_tax_in_the_message(
    make_tracker: Callable[..., Tracker], text: str, tax_type: str, variant: str, unit_id: str
) -> None:
    messages, events = await run(ActionAnswerTopic(), make_tracker("tax_relief", text=text))
    assert messages[0]["text"] == tax_answer(variant) != tax_answer(None)
    assert messages[1]["text"].startswith(f"Zuständig: {load_directory().get(unit_id).name}.")
    assert_card(messages[2], "tax_relief", unit_id)
    assert messages[3]["text"] == NEXT_STEP_QUESTION
    assert ASK_TAX_TYPE not in [m["text"] for m in messages]
    assert events == [
        SlotSet("tax_type", tax_type),
        SlotSet("current_topic", "tax_relief"),
        SlotSet("misunderstandings", 0),
    ]


@pytest.mark.parametrize(
    ("slot", "text", "variant", "unit_id"),
    [
        ("municipal", '/tax_relief{"tax_type": "municipal"}', "municipal", "tax_office"),  # the button
        ("state", '/tax_relief{"tax_type": "state"}', "state", "state_tax_office"),
        ("koerperschaftsteuer", "Können wir die Steuer stunden?", "state", "state_tax_office"),  # the entity
        ("gewerbesteuer", "Geht eine Stundung?", "municipal", "tax_office"),
    ],
)
async def test_tax_relief_by_the_tax_type_slot(
    make_tracker: Callable[..., Tracker], slot: str, text: str, variant: str, unit_id: str
) -> None:
    entities = [{"entity": "tax_type", "value": slot}]
    tracker = make_tracker("tax_relief", {"tax_type": slot}, text=text, entities=entities)
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert messages[0]["text"] == tax_answer(variant)
    assert_card(messages[2], "tax_relief", unit_id)
    assert events == [SlotSet("current_topic", "tax_relief"), SlotSet("misunderstandings", 0)]


async def test_words_of_the_message_win_over_the_slot(make_tracker: Callable[..., Tracker]) -> None:
    tracker = make_tracker("tax_relief", {"tax_type": "gewerbesteuer"}, text="Und die Umsatzsteuer?")
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert messages[0]["text"] == tax_answer("state")
    assert_card(messages[2], "tax_relief", "state_tax_office")
    assert events[0] == SlotSet("tax_type", "umsatzsteuer")


async def test_tax_relief_for_both_kinds_of_tax(make_tracker: Callable[..., Tracker]) -> None:
    text = "Gewerbesteuer und Umsatzsteuer sind fällig"
    messages, events = await run(ActionAnswerTopic(), make_tracker("tax_relief", text=text))
    assert messages[0]["text"] == tax_answer(None)  # the general answer names both offices
    assert_card(messages[2], "tax_relief", "tax_office")
    assert messages[1]["text"].endswith(f"Auch hilfreich: {load_directory().get('state_tax_office').name}.")
    assert events[0] == SlotSet("tax_type", "both")


# --- insolvency is urgent in itself ---------------------------------------------------------------


async def test_insolvency_question_is_urgent_without_alarm_words(
    make_tracker: Callable[..., Tracker],
) -> None:
    text = "Was bedeutet eine Sanierung in Eigenverwaltung für meine Firma?"
    messages, events = await run(ActionAnswerTopic(), make_tracker("insolvency_restructuring", text=text))
    assert len(messages) == 5
    assert messages[4]["text"] == URGENT_OFFER
    assert events[2:] == [
        SlotSet("case_priority", "high"),
        SlotSet("case_trigger", "urgent"),
        SlotSet("urgent_signals", ["insolvency"]),
    ]
    # the same words under another topic are not urgent
    messages, events = await run(ActionAnswerTopic(), make_tracker("loans_liquidity", text=text))
    assert len(messages) == 4 and URGENT_OFFER not in [m["text"] for m in messages]
    assert events == [SlotSet("current_topic", "loans_liquidity"), SlotSet("misunderstandings", 0)]


# --- action_reroute ----------------------------------------------------------------------


def inform_tracker(
    make_tracker: Callable[..., Tracker],
    topic: str | None,
    before: dict[str, Any],
    new: dict[str, Any],
    text: str = "",
) -> Tracker:
    """Conversation: <topic> answered (slots ``before`` known), then ``inform`` sets ``new``."""
    events: list[dict[str, Any]] = [slot_event(k, v) for k, v in before.items()]
    if topic:
        events += [user_event(topic), slot_event("current_topic", topic)]
    events.append(user_event("inform", [{"entity": k, "value": v} for k, v in new.items()]))
    events += [slot_event(k, v) for k, v in new.items()]
    slots = {**before, **new, "current_topic": topic}
    return make_tracker(
        "inform",
        slots,
        events=events,
        entities=[{"entity": k, "value": v} for k, v in new.items()],
        text=text,
    )


async def test_reroute_emergency_aid_for_handwerk(make_tracker: Callable[..., Tracker]) -> None:
    tracker = inform_tracker(make_tracker, "emergency_aid", {}, {"industry": "handwerk"})
    messages, events = await run(ActionReroute(), tracker)
    assert len(messages) == 2
    hwk = load_directory().get("chamber_of_crafts")
    assert messages[0]["text"] == (
        "Danke! Als Handwerksbetrieb wenden Sie sich für Soforthilfen an die Handwerkskammer. "
        + status_text(hwk, clock.now())
    )
    assert_card(messages[1], "emergency_aid", "chamber_of_crafts")
    assert events == [SlotSet("misunderstandings", 0)]


async def test_reroute_gives_the_status_from_sourced_hours(
    make_tracker: Callable[..., Tracker], synthetic_contacts: Callable[..., Any]
) -> None:
    synthetic_contacts({"chamber_of_crafts": {"opening_hours": WIFOE_HOURS}})
    tracker = inform_tracker(make_tracker, "emergency_aid", {}, {"industry": "handwerk"})
    messages, _ = await run(ActionReroute(), tracker)
    assert messages[0]["text"].endswith(
        "an die Handwerkskammer. Die Stelle ist gerade erreichbar (heute bis 12:00 Uhr)."
    )


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
        ("tax_relief", {"tax_type": "umsatzsteuer"}, {"employees": "12"}),  # the tax is known already
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


@pytest.mark.parametrize(
    ("new", "text", "tax_type", "variant", "unit_id"),
    [
        (
            {"tax_type": "umsatzsteuer"},
            "es geht um die Umsatzsteuer",
            "umsatzsteuer",
            "state",
            "state_tax_office",
        ),
        ({}, "Es geht um die Körperschaftsteuer.", "koerperschaftsteuer", "state", "state_tax_office"),
        ({"tax_type": "gewerbesteuer"}, "Gewerbesteuer", "gewerbesteuer", "municipal", "tax_office"),
        ({}, "die Grundsteuervorauszahlung", "grundsteuer", "municipal", "tax_office"),
    ],
)
async def test_inform_naming_a_tax_answers_for_it(
    make_tracker: Callable[..., Tracker],
    new: dict[str, Any],
    text: str,
    tax_type: str,
    variant: str,
    unit_id: str,
) -> None:
    """After the ask-back: "es geht um die Umsatzsteuer" re-answers with the variant and the right card."""
    messages, events = await run(
        ActionReroute(), inform_tracker(make_tracker, "tax_relief", {}, new, text=text)
    )
    assert messages[0]["text"] == tax_answer(variant)
    assert messages[1]["text"] == card_text(load_directory().get(unit_id), clock.now())
    assert_card(messages[2], "tax_relief", unit_id)
    assert len(messages) == 3
    assert events == [SlotSet("tax_type", tax_type), SlotSet("misunderstandings", 0)]


async def test_reroute_without_topic_asks_for_one(make_tracker: Callable[..., Tracker]) -> None:
    messages, events = await run(
        ActionReroute(), inform_tracker(make_tracker, None, {}, {"industry": "handwerk"})
    )
    assert len(messages) == 1
    assert messages[0]["text"] == ASK_TOPIC
    assert len(messages[0]["buttons"]) == 3
    assert_buttons(messages[0]["buttons"])
    assert events == [SlotSet("misunderstandings", 0)]
