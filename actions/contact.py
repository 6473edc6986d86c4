"""Actions that hand out the responsible office: contact card, and human handoff (card + contact form)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.cases import receiving_unit
from actions.escalation import start_form
from actions.replies import knowledge, send_card
from actions.texts import ESCALATION_INTRO, HANDOFF, HANDOFF_FORWARD, TOPIC_TITLES, addressee, nominative


class ActionContactCard(Action):
    """Contact card of the current topic's office (default: business_development)."""

    def name(self) -> str:
        return "action_contact_card"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        data = knowledge()
        found = data.routing.route("contact_request", tracker.slots)
        unit = data.directory.get(found.primary)
        if found.topic:
            lead = f"Für „{TOPIC_TITLES[found.topic]}“ ist zuständig: {unit.name}."
        else:
            lead = f"Ihre erste Anlaufstelle ist: {unit.name}."
        send_card(dispatcher, found.topic or "contact_request", unit, clock.now(), lead)
        return [SlotSet("misunderstandings", 0)]


class ActionHumanHandoff(Action):
    """Names the person-staffed office for the current topic, sends its card and starts escalation_form."""

    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        data = knowledge()
        found = data.routing.route("human_handoff", tracker.slots)
        unit = data.directory.get(found.primary)
        coordinator = receiving_unit(data.directory, data.routing, unit.id)
        if coordinator.id == unit.id:
            lead = HANDOFF.format(addressee=addressee(unit.id, unit.name))
        else:
            lead = HANDOFF_FORWARD.format(
                addressee=addressee(unit.id, unit.name),
                coordinator=nominative(coordinator.id, coordinator.name, sentence_start=False),
            )
        send_card(dispatcher, found.topic or "human_handoff", unit, clock.now(), lead)
        dispatcher.utter_message(text=ESCALATION_INTRO)
        return [SlotSet("misunderstandings", 0), *start_form(tracker, "human_handoff")]
