"""Escalation to a person: the contact form ``escalation_form``, its questions, validation and the case.

Flow: action_human_handoff (or action_live_chat_request without a case) sends the office's card, copies
what is already known (slots email, phone, person_name, company_name) into the form's slots and
activates the form with an ``ActiveLoop`` event; the form asks one question at a time
(action_ask_<slot>), validate_escalation_form checks each answer, and action_submit_case stores the case
in the outbox, hands it to the web app and tells the user the case number and when to expect an answer.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.cards import build_card
from actions.cases import TRIGGERS, case_from_slots, new_case_number, receiving_unit
from actions.contactinfo import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    clean_company,
    clean_description,
    clean_name,
    find_email,
    find_phone,
    is_skip,
    parse_channel,
    parse_yes_no,
    strip_contacts,
)
from actions.delivery import (
    ATTEMPT_TIMEOUT,
    DELIVERY_BUDGET,
    DeliveryConfig,
    Result,
    WebAppClient,
    deliver_now,
)
from actions.directory import Unit, open_now
from actions.outbox import DuplicateCase, Outbox, OutboxError
from actions.redaction import mask_email, mask_phone
from actions.replies import knowledge, latest_intent
from actions.servicelevel import deadline_phrase
from actions.texts import (
    ASK_CHANNEL,
    ASK_COMPANY,
    ASK_CONSENT,
    ASK_CONSENT_FORWARD,
    ASK_DESCRIPTION,
    ASK_EMAIL,
    ASK_EMAIL_HAVE_PHONE,
    ASK_NAME,
    ASK_PHONE,
    ASK_PHONE_OPTIONAL,
    CASE_CREATED,
    CASE_CREATED_NO_DATE,
    CASE_DECLINED,
    CASE_FORWARDED,
    CASE_NOT_SAVED,
    CASE_QUEUED,
    CASE_QUEUED_NO_DATE,
    CHANNEL_BUTTONS,
    CHANNEL_PHRASES,
    CONSENT_SUMMARY,
    DESCRIPTION_TOO_LONG,
    DESCRIPTION_TOO_SHORT,
    EMAIL_NOTED_INSTEAD,
    INVALID_CHANNEL,
    INVALID_COMPANY,
    INVALID_CONSENT,
    INVALID_EMAIL,
    INVALID_NAME,
    INVALID_PHONE,
    LIVE_CHAT_BUTTON,
    LIVE_CHAT_OFFER,
    NEED_CONTACT,
    PHONE_NOTED_INSTEAD,
    SKIP_BUTTON,
    URGENT_BUTTONS,
    URGENT_OFFER,
    YES_NO_BUTTONS,
    addressee,
    from_unit,
    nominative,
)
from actions.urgency import detect, merge

logger = logging.getLogger(__name__)

#: Topics that are urgent whatever the words: topic -> urgent signal (docs/escalation-contract.md).
URGENT_TOPICS: dict[str, str] = {"insolvency_restructuring": "insolvency"}

FORM = "escalation_form"
#: The form's questions in the order they are asked (domain.yml: forms.escalation_form.required_slots).
FORM_SLOTS: tuple[str, ...] = (
    "contact_name",
    "contact_company",
    "contact_email",
    "contact_phone",
    "case_description",
    "preferred_channel",
    "contact_consent",
)
SKIPPED = "escalation_skipped"
#: Why and how urgently a person should answer; set before the form, cleared with the case.
CASE_CONTEXT: tuple[str, ...] = ("case_priority", "case_trigger", "urgent_signals")
#: Known data copied into the form when it starts: form slot <- (slot, cleaner).
PREFILL = {
    "contact_name": ("person_name", clean_name),
    "contact_company": ("company_name", clean_company),
    "contact_email": ("email", find_email),
    "contact_phone": ("phone", find_phone),
}


# --- helpers shared with the other actions --------------------------------------------------


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def urgent_events(tracker: Tracker, signals: list[str]) -> list[dict[str, Any]]:
    """Mark the conversation as urgent: priority high, trigger 'urgent', the signals found so far."""
    return [
        SlotSet("case_priority", "high"),
        SlotSet("case_trigger", "urgent"),
        SlotSet("urgent_signals", merge(tracker.get_slot("urgent_signals"), signals)),
    ]


def offer_if_urgent(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """After an answer: if the user's message sounds urgent, offer that a person calls back.

    A question about insolvency is urgent in itself (the filing deadlines of § 15a InsO run)."""
    signals = detect(latest_text(tracker))
    topic_signal = URGENT_TOPICS.get(latest_intent(tracker) or "")
    if topic_signal and topic_signal not in signals:
        signals = merge(signals, [topic_signal])
    if not signals:
        return []
    if (tracker.active_loop or {}).get("name") != FORM:  # in the form a person is being asked for already
        dispatcher.utter_message(text=URGENT_OFFER, buttons=URGENT_BUTTONS)
    logger.info("Urgent signals in conversation: %s", ", ".join(signals))
    return urgent_events(tracker, signals)


def trigger_of(tracker: Tracker, default: str) -> str:
    """Why the form starts: an earlier reason (urgent, misunderstanding) wins; the web app may say 'feedback'."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    if isinstance(metadata, Mapping) and metadata.get("escalation_trigger") == "feedback":
        return "feedback"
    known = tracker.get_slot("case_trigger")
    return known if known in TRIGGERS else default


def prefill_events(tracker: Tracker) -> list[dict[str, Any]]:
    """A fresh form: every form slot empty except what is already known and valid."""
    events = [SlotSet(SKIPPED, [])]
    for slot in FORM_SLOTS:
        source = PREFILL.get(slot)
        value = None
        if source is not None:
            known = tracker.get_slot(source[0])
            value = source[1](str(known)) if known else None
        events.append(SlotSet(slot, value))
    return events


def start_form(tracker: Tracker, trigger: str) -> list[dict[str, Any]]:
    """Events that start escalation_form (the policies then run the form, which asks the first question)."""
    return [*prefill_events(tracker), SlotSet("case_trigger", trigger_of(tracker, trigger)), ActiveLoop(FORM)]


def reset_form() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in (*FORM_SLOTS, SKIPPED)]


def _skipped(tracker: Tracker) -> list[str]:
    value = tracker.get_slot(SKIPPED)
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


# --- the questions ----------------------------------------------------------------------------


class AskSlot:
    """Mixin for action_ask_<slot>: the form runs it to ask for ``slot`` (not an Action by itself)."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        raise NotImplementedError

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text, buttons = self.question(tracker)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionAskContactName(AskSlot, Action):
    slot = "contact_name"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return ASK_NAME, [SKIP_BUTTON]


class ActionAskContactCompany(AskSlot, Action):
    slot = "contact_company"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return ASK_COMPANY, [SKIP_BUTTON]


class ActionAskContactEmail(AskSlot, Action):
    slot = "contact_email"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (ASK_EMAIL_HAVE_PHONE if tracker.get_slot("contact_phone") else ASK_EMAIL), [SKIP_BUTTON]


class ActionAskContactPhone(AskSlot, Action):
    slot = "contact_phone"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        if tracker.get_slot("contact_email"):
            return ASK_PHONE_OPTIONAL, [SKIP_BUTTON]
        return ASK_PHONE, []


class ActionAskCaseDescription(AskSlot, Action):
    slot = "case_description"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return ASK_DESCRIPTION, []


class ActionAskPreferredChannel(AskSlot, Action):
    slot = "preferred_channel"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return ASK_CHANNEL, list(CHANNEL_BUTTONS)


class ActionAskContactConsent(AskSlot, Action):
    slot = "contact_consent"

    def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        data = knowledge()
        routed = data.directory.get(data.routing.route("human_handoff", tracker.slots).primary)
        unit = receiving_unit(data.directory, data.routing, routed.id)
        if unit.id == routed.id:
            question = ASK_CONSENT.format(addressee=addressee(unit.id, unit.name))
        else:
            question = ASK_CONSENT_FORWARD.format(
                coordinator=nominative(unit.id, unit.name, sentence_start=False),
                addressee=addressee(routed.id, routed.name),
            )
        details = [
            str(value)
            for slot in ("contact_name", "contact_company", "contact_email", "contact_phone")
            if (value := tracker.get_slot(slot))
        ]
        if details:
            question = f"{CONSENT_SUMMARY.format(details=', '.join(details))}\n{question}"
        return question, list(YES_NO_BUTTONS)


# --- validation -----------------------------------------------------------------------------


def _contact_extras(text: str, tracker: Tracker) -> tuple[str, dict[str, Any]]:
    """The answer without e-mail/phone, and those as slots if still missing ('Anna Schmidt, anna@x.de')."""
    extras: dict[str, Any] = {}
    email, phone = find_email(text), find_phone(text)
    if email and not tracker.get_slot("contact_email"):
        extras["contact_email"] = email
    if phone and not tracker.get_slot("contact_phone"):
        extras["contact_phone"] = phone
    return strip_contacts(text), extras


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _prefer(entity: str | None, text: str, clean: Callable[[str | None], str | None]) -> str | None:
    """The extracted entity when it is a whole name (two words or more: 'Anna Schmidt' out of 'Hier ist die
    Anna Schmidt vom Empfang'); else the user's own answer. A one-word entity is often a fragment of the
    answer ('GmbH' out of 'Bäckerei Muster GmbH')."""
    found = clean(entity)
    if found and len(found.split()) >= 2:
        return found
    return clean(text) or found


class ValidateEscalationForm(FormValidationAction):
    """One validate_<slot> per question; skipped questions and the e-mail/phone choice in required_slots."""

    def name(self) -> str:
        return "validate_escalation_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """The form's slots without the skipped ones; the channel is asked only if both e-mail and phone exist."""
        skipped = set(_skipped(tracker))
        both = bool(tracker.get_slot("contact_email")) and bool(tracker.get_slot("contact_phone"))
        return [s for s in domain_slots if s not in skipped and (s != "preferred_channel" or both)]

    # helpers

    @staticmethod
    def _asked(tracker: Tracker, slot: str) -> bool:
        """The user is answering this question (not a value copied in at the start)."""
        return tracker.get_slot("requested_slot") == slot

    @staticmethod
    def _skipping(value: Any, tracker: Tracker) -> bool:
        return latest_intent(tracker) == "deny" or is_skip(str(value or ""))

    @staticmethod
    def _skip(slot: str, tracker: Tracker, also: str | None = None) -> dict[str, Any]:
        skipped = [s for s in _skipped(tracker) if s not in (slot, also)] + [slot]
        return {slot: None, SKIPPED: skipped}

    def _hint(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, text: str) -> None:
        if self._asked(tracker, slot):
            dispatcher.utter_message(text=text)

    # one method per slot

    def _free_text(
        self, slot: str, entity: str, clean: Callable[[str | None], str | None], invalid: str,
        value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
    ) -> dict[str, Any]:
        """Name or company: skippable; the user's words or a whole extracted name; a hint when neither."""
        if self._asked(tracker, slot) and self._skipping(value, tracker):
            return self._skip(slot, tracker)
        text, extras = _contact_extras(str(value or ""), tracker)
        found = _prefer(_entity(tracker, entity), text, clean)
        if found is None:
            self._hint(dispatcher, tracker, slot, invalid)
        return {slot: found, **extras}

    def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._free_text("contact_name", "person_name", clean_name, INVALID_NAME, value, dispatcher, tracker)

    def validate_contact_company(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._free_text(
            "contact_company", "company_name", clean_company, INVALID_COMPANY, value, dispatcher, tracker
        )

    def validate_contact_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = str(value or "")
        email = find_email(_entity(tracker, "email")) or find_email(text)
        if email:
            return {"contact_email": email}
        if not self._asked(tracker, "contact_email"):
            return {"contact_email": None}
        if self._skipping(value, tracker):
            return self._skip("contact_email", tracker)
        phone = find_phone(_entity(tracker, "phone")) or find_phone(text)
        if phone:  # a phone number instead of an e-mail address: take it, do not ask for e-mail again
            dispatcher.utter_message(text=PHONE_NOTED_INSTEAD)
            return {**self._skip("contact_email", tracker), "contact_phone": phone}
        dispatcher.utter_message(text=INVALID_EMAIL)
        return {"contact_email": None}

    def validate_contact_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = str(value or "")
        phone = find_phone(_entity(tracker, "phone")) or find_phone(text)
        if phone:
            return {"contact_phone": phone}
        if not self._asked(tracker, "contact_phone"):
            return {"contact_phone": None}
        have_email = bool(tracker.get_slot("contact_email"))
        if self._skipping(value, tracker):
            if have_email:
                return self._skip("contact_phone", tracker)
            dispatcher.utter_message(text=NEED_CONTACT)
            return {"contact_phone": None}
        email = find_email(_entity(tracker, "email")) or find_email(text)
        if email and not have_email:  # an e-mail address after skipping the e-mail question: take it
            dispatcher.utter_message(text=EMAIL_NOTED_INSTEAD)
            return {**self._skip("contact_phone", tracker), "contact_email": email}
        hint = INVALID_PHONE if have_email else f"{INVALID_PHONE} {NEED_CONTACT}"
        dispatcher.utter_message(text=hint)
        return {"contact_phone": None}

    def validate_case_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        description, problem = clean_description(str(value or ""))
        if description is None:
            text = (
                DESCRIPTION_TOO_SHORT.format(min=DESCRIPTION_MIN)
                if problem == "too_short"
                else DESCRIPTION_TOO_LONG.format(max=DESCRIPTION_MAX)
            )
            self._hint(dispatcher, tracker, "case_description", text)
            return {"case_description": None}
        result: dict[str, Any] = {"case_description": description}
        signals = detect(description)
        if signals:
            result["case_priority"] = "high"
            result["urgent_signals"] = merge(tracker.get_slot("urgent_signals"), signals)
        return result

    def validate_preferred_channel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        channel = parse_channel(str(value or ""))
        if channel is None:
            self._hint(dispatcher, tracker, "preferred_channel", INVALID_CHANNEL)
        return {"preferred_channel": channel}

    def validate_contact_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        consent = value if isinstance(value, bool) else parse_yes_no(str(value or ""))
        if consent is None:
            self._hint(dispatcher, tracker, "contact_consent", INVALID_CONSENT)
        return {"contact_consent": consent}


# --- submit / reset ---------------------------------------------------------------------------


def _channel_phrase(channel: str) -> str:
    phrase = CHANNEL_PHRASES.get(channel, "")
    return f"{phrase} " if phrase else ""


class ActionSubmitCase(Action):
    """After the form: store the case (outbox), hand it to the web app, give the user number and deadline."""

    def name(self) -> str:
        return "action_submit_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        data = knowledge()
        at = clock.now()
        slots = dict(tracker.slots)
        routed = data.directory.get(data.routing.route("human_handoff", slots).primary)
        unit = receiving_unit(data.directory, data.routing, routed.id)
        to_unit = addressee(routed.id, routed.name)
        done = [*reset_form(), *(SlotSet(slot, None) for slot in CASE_CONTEXT)]
        if slots.get("contact_consent") is not True or not (
            slots.get("contact_email") or slots.get("contact_phone")
        ):
            dispatcher.utter_message(text=CASE_DECLINED.format(addressee=to_unit))
            dispatcher.utter_message(
                json_message=build_card(slots.get("current_topic") or "human_handoff", routed, at)
            )
            return done

        config = DeliveryConfig.from_env(os.environ)
        client = WebAppClient(config)
        outbox = Outbox(config.outbox_path)
        payload, saved = await self._store(outbox, slots, tracker.sender_id, at)
        if saved:
            result = await deliver_now(outbox, client, payload)
        else:  # no outbox: the web app is the only place the case can go to
            result = await client.post_case(payload, timeout=ATTEMPT_TIMEOUT)
            if not result.ok:
                logger.error(
                    "Case %s lost: neither stored nor delivered (%s)", payload["case_number"], result.error
                )
                dispatcher.utter_message(text=CASE_NOT_SAVED.format(addressee=to_unit))
                dispatcher.utter_message(json_message=build_card("human_handoff", routed, at))
                return done
        self._confirm(dispatcher, payload, result, routed, unit, at)
        logger.info(
            "Case %s for %s (priority %s, trigger %s, contact %s / %s): %s",
            payload["case_number"],
            payload["unit"],
            payload["priority"],
            payload["trigger"],
            mask_email(payload["contact"]["email"]),
            mask_phone(payload["contact"]["phone"]),
            "delivered" if result.ok else "in the outbox",
        )
        if result.ok and open_now(unit, at) is not False:  # None: no sourced hours, ask who is online
            staff = await client.staff_online(unit.id)
            if staff:
                dispatcher.utter_message(text=LIVE_CHAT_OFFER, buttons=[LIVE_CHAT_BUTTON])
        return [*done, SlotSet("case_number", payload["case_number"]), SlotSet("case_unit", unit.id)]

    @staticmethod
    async def _store(
        outbox: Outbox, slots: dict[str, Any], session_id: str, at: datetime
    ) -> tuple[dict[str, Any], bool]:
        """Build the case with a fresh number and commit it to the outbox; (payload, stored?)."""
        data = knowledge()
        payload: dict[str, Any] = {}
        for _ in range(5):
            payload = case_from_slots(
                slots,
                case_number=new_case_number(),
                session_id=session_id,
                at=at,
                directory=data.directory,
                routing=data.routing,
            )
            try:
                # not due for the retry loop while this action is still delivering it
                await outbox.add(payload, next_attempt_at=time.time() + DELIVERY_BUDGET + 5)
                return payload, True
            except DuplicateCase:
                continue
            except OutboxError as exc:
                logger.error("Case %s not stored in the outbox: %s", payload["case_number"], exc)
                return payload, False
        return payload, False

    @staticmethod
    def _confirm(
        dispatcher: CollectingDispatcher,
        payload: dict[str, Any],
        result: Result,
        routed: Unit,
        unit: Unit,
        at: datetime,
    ) -> None:
        """Case number and, only where it can be kept, a reply promise (docs/content.md)."""
        channel = _channel_phrase(payload["contact"]["preferred_channel"])
        if routed.id != unit.id:  # an outside body: the city forwards, promises nothing on its behalf
            text = CASE_FORWARDED.format(
                case_number=payload["case_number"],
                coordinator=nominative(unit.id, unit.name),
                outside=addressee(routed.id, routed.name),
                from_outside=from_unit(routed.id, routed.name),
            )
        elif payload.get("expected_response_by"):
            deadline = datetime.fromisoformat(payload["expected_response_by"])
            text = (CASE_CREATED if result.ok else CASE_QUEUED).format(
                case_number=payload["case_number"],
                addressee=addressee(unit.id, unit.name),
                channel=channel,
                when=f"spätestens {deadline_phrase(deadline, at)}",
            )
        else:
            text = (CASE_CREATED_NO_DATE if result.ok else CASE_QUEUED_NO_DATE).format(
                case_number=payload["case_number"], addressee=addressee(unit.id, unit.name), channel=channel
            )
        dispatcher.utter_message(text=text)


class ActionResetEscalation(Action):
    """After 'abbrechen' in the form: forget the form's answers (the rule has already said so)."""

    def name(self) -> str:
        return "action_reset_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return reset_form()
