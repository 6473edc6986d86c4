"""Live handover to staff and back (docs/escalation-contract.md, "Live handover")."""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cases import is_case_number
from actions.delivery import DeliveryConfig, WebAppClient, deliver_now
from actions.escalation import start_form
from actions.outbox import Outbox, OutboxError
from actions.replies import knowledge
from actions.texts import HANDBACK, LIVE_CHAT_FAILED, LIVE_CHAT_NEEDS_CASE, LIVE_CHAT_STARTED, from_unit

logger = logging.getLogger(__name__)

#: Seconds to hand a still-pending case to the web app before asking for the live chat.
PENDING_BUDGET = 2.0


class ActionLiveChatRequest(Action):
    """'Jetzt live chatten': ask the web app to let staff take over the chat of the case just made.

    Without a case yet, the contact form starts first (a person needs to know what it is about).
    """

    def name(self) -> str:
        return "action_live_chat_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        case_number = tracker.get_slot("case_number")
        if not is_case_number(case_number):
            dispatcher.utter_message(text=LIVE_CHAT_NEEDS_CASE)
            return start_form(tracker, "human_handoff")
        config = DeliveryConfig.from_env(os.environ)
        client = WebAppClient(config)
        started = await self._known_to_webapp(Outbox(config.outbox_path), client, case_number)
        if started:
            result = await client.request_live(case_number)
            started = 200 <= result.status < 300
            if not started:
                logger.warning("Case %s: live handover refused (%s)", case_number, result.error)
        if started:
            data = knowledge()
            unit_id = str(tracker.get_slot("case_unit") or data.routing.default_unit)
            unit = data.directory.get(unit_id) if unit_id in data.directory else None
            who = from_unit(unit.id, unit.name) if unit else "der zuständigen Stelle"
            dispatcher.utter_message(text=LIVE_CHAT_STARTED.format(from_unit=who, case_number=case_number))
            logger.info("Case %s: live handover requested", case_number)
        else:
            dispatcher.utter_message(text=LIVE_CHAT_FAILED.format(case_number=case_number))
        return []

    @staticmethod
    async def _known_to_webapp(outbox: Outbox, client: WebAppClient, case_number: str) -> bool:
        """True if the web app has the case (delivering it now if it is still pending)."""
        try:
            entry = await outbox.get(case_number)
        except OutboxError as exc:
            logger.error("Case %s: outbox not readable (%s)", case_number, exc)
            return False
        if entry is None or entry.status == "failed":
            return False
        if entry.status == "delivered":
            return True
        return (await deliver_now(outbox, client, entry.payload, budget=PENDING_BUDGET)).ok


class ActionHandback(Action):
    """Staff hand the chat back to the bot.

    The web app runs it with Rasa's ``POST /conversations/{id}/execute`` ``{"name": "action_handback"}``.
    That endpoint runs one action and predicts nothing after it, so the action ends with ``action_listen``
    itself: the next user message is then handled like any other (rules start after action_listen).
    """

    def name(self) -> str:
        return "action_handback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=HANDBACK)
        return [SlotSet("misunderstandings", 0), ActionExecuted("action_listen")]
