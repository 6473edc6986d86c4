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
from actions.texts import (
    ASK_TOPIC,
    INDUSTRY_PHRASES,
    NEXT_STEP_QUESTION,
    NOTED,
    STARTER_TOPICS,
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
        answer = data.answers[topic]
        found = data.routing.route(topic, tracker.slots)
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
        events = [SlotSet("current_topic", topic), SlotSet("misunderstandings", 0)]
        urgent = offer_if_urgent(dispatcher, tracker)
        if not urgent and tracker.get_slot("case_trigger") == "misunderstanding":
            urgent = [SlotSet("case_trigger", None)]  # understood now: no longer a reason to escalate
        return events + urgent


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
        before = data.routing.route(topic, slots_before_latest_message(tracker))
        after = data.routing.route(topic, tracker.slots)
        if after.primary == before.primary:
            text = NOTED
            added = [uid for uid in after.secondary if uid not in before.secondary]
            if added:
                names = [addressee(uid, data.directory.get(uid).name) for uid in added]
                text += f" Zusätzlich hilfreich für Sie: {join_or(names)}."
            dispatcher.utter_message(text=text)
            return [SlotSet("misunderstandings", 0)]
        unit = data.directory.get(after.primary)
        at = clock.now()
        industry = INDUSTRY_PHRASES.get(str(tracker.get_slot("industry") or "").casefold())
        who = f"Als {industry} wenden Sie sich" if industry else "Mit Ihren Angaben wenden Sie sich"
        text = f"Danke! {who} {TOPIC_PHRASES[topic]} an {addressee(unit.id, unit.name)}."
        dispatcher.utter_message(text=f"{text} {status_text(unit, at)}")
        dispatcher.utter_message(json_message=build_card(topic, unit, at))
        return [SlotSet("misunderstandings", 0)]
