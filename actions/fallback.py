"""Action on nlu_fallback: ask back with the likeliest topics, after two misses offer a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.escalation import offer_if_urgent
from actions.intents import is_topical
from actions.replies import knowledge, misunderstandings, send_card, topic_buttons
from actions.texts import (
    CALLBACK_BUTTON,
    CALLBACK_OFFER,
    CLARIFY,
    GIVE_UP,
    STARTER_TOPICS,
    TOPIC_TITLES,
    addressee,
    join_or,
)

MAX_OPTIONS = 3
MIN_OPTIONS = 2


def likely_topics(latest_message: dict[str, Any] | None) -> list[str]:
    """Two or three topical intents, most likely first (padded with starter topics)."""
    ranking = (latest_message or {}).get("intent_ranking") or []
    ranked = sorted(ranking, key=lambda item: item.get("confidence") or 0.0, reverse=True)
    options: list[str] = []
    for item in ranked:
        name = item.get("name")
        if is_topical(name) and name not in options:
            options.append(name)
    for starter in STARTER_TOPICS:
        if len(options) >= MIN_OPTIONS:
            break
        if starter not in options:
            options.append(starter)
    return options[:MAX_OPTIONS]


class ActionClarify(Action):
    """Runs on nlu_fallback: asks back; after two misses in a row names the office and offers a callback."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        count = misunderstandings(tracker)
        if count >= 1:
            data = knowledge()
            unit = data.directory.get(data.routing.default_unit)
            send_card(
                dispatcher,
                "nlu_fallback",
                unit,
                clock.now(),
                GIVE_UP.format(addressee=addressee(unit.id, unit.name)),
            )
            urgent = offer_if_urgent(dispatcher, tracker)
            if urgent:
                return [SlotSet("misunderstandings", 0), *urgent]
            dispatcher.utter_message(text=CALLBACK_OFFER, buttons=[CALLBACK_BUTTON])
            events = [SlotSet("misunderstandings", 0)]
            if tracker.get_slot("case_trigger") != "urgent":
                events.append(SlotSet("case_trigger", "misunderstanding"))
            return events
        options = likely_topics(tracker.latest_message)
        text = CLARIFY.format(options=join_or([f"„{TOPIC_TITLES[o]}“" for o in options]))
        dispatcher.utter_message(text=text, buttons=topic_buttons(options))
        return [SlotSet("misunderstandings", count + 1), *offer_if_urgent(dispatcher, tracker)]
