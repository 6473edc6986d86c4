"""Actions for topical questions: answer + contact card, and re-routing after company details."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.cards import build_card, card_text, status_text
from actions.escalation import offer_if_urgent
from actions.intents import is_topical
from actions.replies import knowledge, latest_intent, slots_before_latest_message, topic_buttons
from actions.taxes import scope_of, slot_values, tax_types_in
from actions.texts import (
    ASK_TAX_TYPE,
    ASK_TOPIC,
    INDUSTRY_PHRASES,
    NEXT_STEP_QUESTION,
    NOTED,
    STARTER_TOPICS,
    TAX_TYPE_BUTTONS,
    TOPIC_PHRASES,
    addressee,
    join_or,
)


class ActionAnswerTopic(Action):
    """Answer the topical question, name the office, send its card, offer next steps (and a person if urgent)."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topic = latest_intent(tracker)
        if not is_topical(topic):
            topic = tracker.get_slot("current_topic")
        if not is_topical(topic):
            dispatcher.utter_message(text=ASK_TOPIC, buttons=topic_buttons(STARTER_TOPICS))
            return offer_if_urgent(dispatcher, tracker)
        data = knowledge()
        slots = dict(tracker.slots)
        events: list[dict[str, Any]] = []
        variant = None
        if topic == "tax_relief":
            variant, tax_events = tax_scope(tracker)
            events += tax_events
            if tax_events:
                slots["tax_type"] = tax_events[0]["value"]
            if variant is None:  # which tax? the city and the Finanzamt are different offices
                answer = data.answers[topic]
                dispatcher.utter_message(text=answer.with_source())
                dispatcher.utter_message(text=ASK_TAX_TYPE, buttons=list(TAX_TYPE_BUTTONS))
                events += [SlotSet("current_topic", topic), SlotSet("misunderstandings", 0)]
                return events + _after_answer(dispatcher, tracker)
        answer = data.answers[topic].variant(variant)
        found = data.routing.route(topic, slots)
        unit = data.directory.get(found.primary)
        at = clock.now()
        office = card_text(unit, at)
        if found.secondary:
            names = [data.directory.get(uid).name for uid in found.secondary]
            office += f"\nAuch hilfreich: {join_or(names)}."
        dispatcher.utter_message(text=answer.with_source())
        dispatcher.utter_message(text=office)
        dispatcher.utter_message(json_message=build_card(topic, unit, at))
        dispatcher.utter_message(text=NEXT_STEP_QUESTION, buttons=answer.button_dicts())
        events += [SlotSet("current_topic", topic), SlotSet("misunderstandings", 0)]
        return events + _after_answer(dispatcher, tracker)


def _after_answer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """After an answer: offer a person if it sounds urgent; an understood topic clears 'misunderstanding'."""
    urgent = offer_if_urgent(dispatcher, tracker)
    if not urgent and tracker.get_slot("case_trigger") == "misunderstanding":
        urgent = [SlotSet("case_trigger", None)]  # understood now: no longer a reason to escalate
    return urgent


def tax_scope(tracker: Tracker) -> tuple[str | None, list[dict[str, Any]]]:
    """Which answer variant a tax_relief question needs ('municipal', 'state'; None = ask back; 'both' = the
    general text) and the tax_type slot events. Words of the latest message win over the slot."""
    named = tax_types_in((tracker.latest_message or {}).get("text"))
    if named:
        scope = scope_of(named)
        return scope, [SlotSet("tax_type", named[0] if scope != "both" else "both")]
    scope = scope_of(slot_values(tracker.get_slot("tax_type")))
    return scope, []


class ActionReroute(Action):
    """After ``inform``: route the current topic again with the new company details."""

    def name(self) -> str:
        return "action_reroute"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topic = tracker.get_slot("current_topic")
        if not is_topical(topic):
            dispatcher.utter_message(text=ASK_TOPIC, buttons=topic_buttons(STARTER_TOPICS))
            return [SlotSet("misunderstandings", 0)]
        data = knowledge()
        slots = dict(tracker.slots)
        events: list[dict[str, Any]] = []
        variant = None
        if topic == "tax_relief":  # "es geht um die Umsatzsteuer": the tax decides the office
            variant, events = tax_scope(tracker)
            if events:
                slots["tax_type"] = events[0]["value"]
        before = data.routing.route(topic, slots_before_latest_message(tracker))
        after = data.routing.route(topic, slots)
        if variant in ("municipal", "state") and (events or after.primary != before.primary):
            answer = data.answers[topic].variant(variant)
            unit = data.directory.get(after.primary)
            at = clock.now()
            dispatcher.utter_message(text=answer.with_source())
            dispatcher.utter_message(text=card_text(unit, at))
            dispatcher.utter_message(json_message=build_card(topic, unit, at))
            return [*events, SlotSet("misunderstandings", 0)]
        if after.primary == before.primary:
            text = NOTED
            added = [uid for uid in after.secondary if uid not in before.secondary]
            if added:
                names = [addressee(uid, data.directory.get(uid).name) for uid in added]
                text += f" Zusätzlich hilfreich für Sie: {join_or(names)}."
            dispatcher.utter_message(text=text)
            return [*events, SlotSet("misunderstandings", 0)]
        unit = data.directory.get(after.primary)
        at = clock.now()
        industry = INDUSTRY_PHRASES.get(str(tracker.get_slot("industry") or "").casefold())
        who = f"Als {industry} wenden Sie sich" if industry else "Mit Ihren Angaben wenden Sie sich"
        text = f"Danke! {who} {TOPIC_PHRASES[topic]} an {addressee(unit.id, unit.name)}."
        dispatcher.utter_message(text=f"{text} {status_text(unit, at)}")
        dispatcher.utter_message(json_message=build_card(topic, unit, at))
        return [*events, SlotSet("misunderstandings", 0)]
