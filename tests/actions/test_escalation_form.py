"""escalation_form: validate_escalation_form per slot, required_slots, prefill, the questions, cancel.

``FormRun`` drives the real validation action the way Rasa's FormAction does: it applies the slot mappings
of domain.yml to an answer (so a topic question is *not* taken as an answer and the form is rejected),
runs ``validate_escalation_form`` on a real Tracker, and asks for the next slot (the one the validation
action names, else the first empty one in domain order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.contactinfo import clean_company, clean_name
from actions.escalation import (
    FORM_SLOTS,
    ActionAskContactCompany,
    ActionAskContactConsent,
    ActionAskContactEmail,
    ActionAskContactName,
    ActionAskContactPhone,
    ActionAskPreferredChannel,
    ActionResetEscalation,
    ValidateEscalationForm,
    prefill_events,
    start_form,
)
from actions.texts import (
    ASK_CONSENT,
    ASK_EMAIL,
    ASK_EMAIL_HAVE_PHONE,
    ASK_PHONE,
    ASK_PHONE_OPTIONAL,
    CHANNEL_BUTTONS,
    EMAIL_NOTED_INSTEAD,
    INVALID_CHANNEL,
    INVALID_CONSENT,
    INVALID_EMAIL,
    INVALID_NAME,
    INVALID_PHONE,
    NEED_CONTACT,
    PHONE_NOTED_INSTEAD,
    SKIP_BUTTON,
    YES_NO_BUTTONS,
    addressee,
)
from tests.actions.conftest import build_tracker, slot_event, user_event

ROOT = Path(__file__).resolve().parents[2]
DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
FORM = {"name": "escalation_form", "validate": True, "rejected": False}

pytestmark = pytest.mark.usefixtures("fixed_now")


def action_event(name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": None, "name": name}


def extract(slot: str, text: str, intent: str) -> Any:
    """What Rasa's action_extract_slots puts into ``slot`` for this message (domain.yml mappings), or None."""
    for mapping in DOMAIN["slots"][slot]["mappings"]:
        if mapping["type"] == "from_intent" and mapping["intent"] == intent:
            return mapping["value"]
        if mapping["type"] == "from_text" and intent not in (mapping.get("not_intent") or []):
            return text
    return None


class Rejected(Exception):
    """The form would reject: the answer filled nothing (a rule answers, then the form asks again)."""


class FormRun:
    """One pass through escalation_form with the real validation action."""

    def __init__(self, **slots: Any) -> None:
        self.slots: dict[str, Any] = {slot: None for slot in DOMAIN["slots"]}
        self.slots.update(requested_slot=None, misunderstandings=0.0)
        self.slots.update(slots)
        self.messages: list[dict[str, Any]] = []

    async def _validate(self, tracker: Tracker) -> list[dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        events = await ValidateEscalationForm().run(dispatcher, tracker, DOMAIN)
        self.messages = dispatcher.messages
        return events

    def _apply(self, events: list[dict[str, Any]]) -> str | None:
        requested = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "requested_slot"]
        self.slots.update({e["name"]: e["value"] for e in events if e["event"] == "slot"})
        if requested:
            self.slots["requested_slot"] = requested[-1]
        else:  # validation action kept Rasa's order: first empty slot of the form
            required = DOMAIN["forms"]["escalation_form"]["required_slots"]
            self.slots["requested_slot"] = next((s for s in required if self.slots.get(s) is None), None)
        return self.slots["requested_slot"]

    async def start(self) -> str | None:
        """The form's first run (after the activation events): which question comes first."""
        tracker = build_tracker(
            "human_handoff",
            self.slots,
            events=[user_event("human_handoff"), action_event("escalation_form")],
            active_loop=FORM,
        )
        return self._apply(await self._validate(tracker))

    async def answer(
        self, text: str, intent: str = "inform", entities: list[dict[str, Any]] | None = None
    ) -> str | None:
        """The user answers the current question; returns the next requested slot (None: form done)."""
        slot = self.slots["requested_slot"]
        value = extract(slot, text, intent)
        if value is None:
            raise Rejected(f"{intent!r} does not fill {slot}")
        slots = {**self.slots, slot: value}
        tracker = build_tracker(
            intent,
            slots,
            events=[user_event(intent, entities), action_event("escalation_form"), slot_event(slot, value)],
            entities=entities,
            text=text,
            active_loop=FORM,
        )
        self.slots = slots
        return self._apply(await self._validate(tracker))

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]


# --- whole form ------------------------------------------------------------------------------


async def test_happy_path_asks_one_question_at_a_time() -> None:
    form = FormRun()
    assert await form.start() == "contact_name"
    assert await form.answer("Ich heiße Anna Schmidt") == "contact_company"
    assert await form.answer("Müller Bau GmbH") == "contact_email"
    assert await form.answer("anna@mueller-bau.de") == "contact_phone"
    assert await form.answer("0621 123456") == "case_description"
    assert await form.answer(
        "Wir wissen nicht, wie wir die Kurzarbeit anzeigen sollen.", "short_time_work_application"
    ) == ("preferred_channel")
    assert await form.answer("Telefon") == "contact_consent"
    assert await form.answer("/affirm", "affirm") is None
    assert {s: form.slots[s] for s in FORM_SLOTS} == {
        "contact_name": "Anna Schmidt",
        "contact_company": "Müller Bau GmbH",
        "contact_email": "anna@mueller-bau.de",
        "contact_phone": "+49621123456",
        "case_description": "Wir wissen nicht, wie wir die Kurzarbeit anzeigen sollen.",
        "preferred_channel": "phone",
        "contact_consent": True,
    }
    assert form.slots["case_priority"] is None


async def test_skips_and_email_only_without_channel_question() -> None:
    form = FormRun()
    await form.start()
    assert await form.answer("/deny", "deny") == "contact_company"  # button "Überspringen"
    assert await form.answer("überspringen", "nlu_fallback") == "contact_email"
    assert await form.answer("anna@mueller-bau.de") == "contact_phone"
    assert await form.answer("keine Angabe", "deny") == "case_description"
    assert (
        await form.answer("Wir brauchen einen Überbrückungskredit.") == "contact_consent"
    )  # channel: e-mail only
    assert form.slots["escalation_skipped"] == ["contact_name", "contact_company", "contact_phone"]
    assert (form.slots["contact_name"], form.slots["contact_company"], form.slots["contact_phone"]) == (
        None,
        None,
        None,
    )


async def test_phone_only_the_phone_cannot_be_skipped_too() -> None:
    form = FormRun()
    await form.start()
    await form.answer("Anna Schmidt")
    await form.answer("Müller Bau GmbH")
    assert await form.answer("überspringen", "deny") == "contact_phone"  # skip e-mail
    assert await form.answer("überspringen", "deny") == "contact_phone"  # not the phone as well
    assert form.texts == [NEED_CONTACT]
    assert await form.answer("0170 0000000") == "case_description"
    assert (form.slots["contact_email"], form.slots["contact_phone"]) == (None, "+491700000000")


async def test_phone_number_at_the_email_question_is_taken() -> None:
    form = FormRun(contact_name="Anna", contact_company="X GmbH")
    await form.start()
    assert form.slots["requested_slot"] == "contact_email"
    assert await form.answer("ruf mich lieber an: 0621/123456") == "case_description"
    assert form.texts == [PHONE_NOTED_INSTEAD]
    assert (form.slots["contact_email"], form.slots["contact_phone"]) == (None, "+49621123456")


async def test_email_at_the_phone_question_after_skipping_email() -> None:
    form = FormRun(contact_name="Anna", contact_company="X GmbH")
    await form.start()
    await form.answer("überspringen", "deny")
    assert await form.answer("doch lieber per Mail: anna@x.de") == "case_description"
    assert form.texts == [EMAIL_NOTED_INSTEAD]
    assert (form.slots["contact_email"], form.slots["contact_phone"]) == ("anna@x.de", None)


async def test_name_and_email_in_one_answer() -> None:
    form = FormRun()
    await form.start()
    assert await form.answer("Anna Schmidt, anna@mueller-bau.de") == "contact_company"
    assert (form.slots["contact_name"], form.slots["contact_email"]) == (
        "Anna Schmidt",
        "anna@mueller-bau.de",
    )


async def test_consent_no_ends_the_form() -> None:
    form = FormRun(
        contact_name="Anna", contact_company="X", contact_email="a@b.de", escalation_skipped=["contact_phone"]
    )
    assert await form.start() == "case_description"
    assert await form.answer("Wir brauchen Beratung zur Soforthilfe.") == "contact_consent"
    assert await form.answer("/deny", "deny") is None
    assert form.slots["contact_consent"] is False


async def test_urgent_description_raises_the_priority() -> None:
    form = FormRun(
        contact_name="Anna", contact_company="X", contact_email="a@b.de", escalation_skipped=["contact_phone"]
    )
    await form.start()
    await form.answer("Wir sind pleite und können die Löhne nicht mehr zahlen.", "loans_liquidity")
    assert form.slots["case_priority"] == "high"
    assert form.slots["urgent_signals"] == ["wages", "insolvency"]


# --- interruptions: the slot mappings keep questions out of the answers ------------------------


@pytest.mark.parametrize("slot", ["contact_email", "contact_phone", "contact_consent"])
@pytest.mark.parametrize(
    "intent", ["tax_relief", "contact_request", "bot_challenge", "human_handoff", "stop", "goodbye"]
)
def test_questions_and_stop_are_not_answers(slot: str, intent: str) -> None:
    assert extract(slot, "Kann ich die Gewerbesteuer stunden?", intent) is None


@pytest.mark.parametrize("slot", ["contact_name", "contact_company"])
@pytest.mark.parametrize("intent", ["bot_challenge", "human_handoff", "stop", "goodbye"])
def test_stop_and_handoff_are_not_names(slot: str, intent: str) -> None:
    assert extract(slot, "abbrechen", intent) is None


@pytest.mark.parametrize("slot", ["contact_name", "contact_company"])
@pytest.mark.parametrize("intent", ["data_protection", "tax_relief", "inform", "nlu_fallback"])
def test_names_are_taken_whatever_topic_nlu_guesses(slot: str, intent: str) -> None:
    # Seen in the browser test: "Erika Muster" was classified data_protection and the form skipped it.
    assert extract(slot, "Erika Muster", intent) == "Erika Muster"


def test_a_question_at_the_name_step_is_refused_by_the_validator() -> None:
    assert clean_name("Kann ich die Gewerbesteuer stunden?") is None
    assert clean_company("Kann ich die Gewerbesteuer stunden?") is None


@pytest.mark.parametrize(
    "intent", ["tax_relief", "loans_liquidity", "nlu_fallback", "inform", "human_handoff"]
)
def test_the_description_takes_the_users_words(intent: str) -> None:
    assert (
        extract("case_description", "Wir können die Miete nicht zahlen.", intent)
        == "Wir können die Miete nicht zahlen."
    )
    assert extract("case_description", "abbrechen", "stop") is None


async def test_topic_question_rejects_the_form_then_it_asks_again() -> None:
    form = FormRun(contact_name="Erika Muster", contact_company="Muster GmbH")
    assert await form.start() == "contact_email"
    with pytest.raises(Rejected):
        await form.answer("Kann ich die Gewerbesteuer stunden?", "tax_relief")
    # back in the form after the answer (Rasa validates nothing, the validation action names the slot)
    assert await form.start() == "contact_email"


async def test_a_name_nlu_mistakes_for_a_topic_is_taken_and_a_question_is_asked_again() -> None:
    form = FormRun()
    assert await form.start() == "contact_name"
    assert await form.answer("Kann ich die Gewerbesteuer stunden?", "tax_relief") == "contact_name"
    assert await form.answer("Erika Muster", "data_protection") == "contact_company"
    assert form.slots["contact_name"] == "Erika Muster"


# --- one slot at a time: valid, invalid, skip -------------------------------------------------


FILLED = {
    "contact_name": "Anna",
    "contact_company": "X GmbH",
    "contact_email": "a@b.de",
    "contact_phone": "+49621123456",
    "case_description": "Wir brauchen Hilfe beim Antrag.",
    "preferred_channel": "any",
}


def before(slot: str) -> dict[str, Any]:
    """Slots as they are when ``slot`` is asked."""
    order = list(FORM_SLOTS)
    return {s: FILLED.get(s) for s in order[: order.index(slot)] if s in FILLED}


@pytest.mark.parametrize(
    ("slot", "text", "intent", "value", "hint"),
    [
        ("contact_name", "Anna Schmidt", "inform", "Anna Schmidt", None),
        ("contact_name", "Mein Name ist Jonas Becker.", "inform", "Jonas Becker", None),
        ("contact_name", "ja", "affirm", None, INVALID_NAME),
        ("contact_name", "0621 123456", "inform", None, INVALID_NAME),
        ("contact_company", "Wir sind die Bäckerei Sommer", "inform", "Bäckerei Sommer", None),
        ("contact_email", "anna@mueller-bau.de", "inform", "anna@mueller-bau.de", None),
        ("contact_email", "anna at mueller-bau.de", "inform", None, INVALID_EMAIL),
        ("contact_phone", "+49 621 123456", "inform", "+49621123456", None),
        ("contact_phone", "12345", "inform", None, INVALID_PHONE),
        ("contact_phone", "+33 1 23 45 67 89", "inform", None, INVALID_PHONE),
        (
            "case_description",
            "Wir brauchen Hilfe beim Antrag.",
            "inform",
            "Wir brauchen Hilfe beim Antrag.",
            None,
        ),
        (
            "case_description",
            "Hilfe",
            "inform",
            None,
            "Bitte beschreiben Sie Ihr Anliegen etwas genauer (mindestens 10 Zeichen).",
        ),
        (
            "case_description",
            "x" * 1001,
            "inform",
            None,
            "Das ist leider zu lang: Bitte fassen Sie Ihr Anliegen in höchstens 1000 Zeichen zusammen.",
        ),
        ("preferred_channel", "E-Mail", "inform", "email", None),
        ("preferred_channel", "Telefon", "contact_request", "phone", None),
        ("preferred_channel", "egal", "nlu_fallback", "any", None),
        ("preferred_channel", "vielleicht", "inform", None, INVALID_CHANNEL),
        ("contact_consent", "/affirm", "affirm", True, None),
        ("contact_consent", "/deny", "deny", False, None),
        ("contact_consent", "ja, einverstanden", "inform", True, None),
        ("contact_consent", "weiß nicht", "inform", None, INVALID_CONSENT),
    ],
)
async def test_validate_slot(slot: str, text: str, intent: str, value: Any, hint: str | None) -> None:
    form = FormRun(**before(slot), requested_slot=slot)
    await form.answer(text, intent)
    assert form.slots[slot] == value
    assert form.texts == ([hint] if hint else [])
    if value is None:
        assert form.slots["requested_slot"] == slot  # asked again


@pytest.mark.parametrize("slot", ["contact_name", "contact_company", "contact_email"])
@pytest.mark.parametrize(
    ("text", "intent"), [("/deny", "deny"), ("überspringen", "inform"), ("keine Angabe", "nlu_fallback")]
)
async def test_skip_slot(slot: str, text: str, intent: str) -> None:
    form = FormRun(**before(slot), requested_slot=slot)
    nxt = await form.answer(text, intent)
    assert form.slots[slot] is None
    assert slot in form.slots["escalation_skipped"]
    assert nxt != slot
    assert form.texts == []


async def test_phone_can_be_skipped_when_there_is_an_email() -> None:
    form = FormRun(**before("contact_phone"), requested_slot="contact_phone")
    assert await form.answer("/deny", "deny") == "case_description"


async def test_entities_from_nlu_win_over_the_raw_text() -> None:
    form = FormRun(requested_slot="contact_name")
    await form.answer(
        "hier ist die Anna Schmidt vom Empfang", entities=[{"entity": "person_name", "value": "Anna Schmidt"}]
    )
    assert form.slots["contact_name"] == "Anna Schmidt"


async def test_a_one_word_entity_fragment_does_not_replace_the_answer() -> None:
    # Seen in the browser test: DIET took "GmbH" out of "Bäckerei Muster GmbH".
    form = FormRun(contact_name="Erika Muster", requested_slot="contact_company")
    await form.answer("Bäckerei Muster GmbH", entities=[{"entity": "company_name", "value": "GmbH"}])
    assert form.slots["contact_company"] == "Bäckerei Muster GmbH"


# --- required_slots ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slots", "required"),
    [
        ({}, ["contact_name", "contact_company", "contact_email", "contact_phone", "case_description", "contact_consent"]),
        ({"contact_email": "a@b.de", "contact_phone": "+49621123456"}, list(FORM_SLOTS)),
        (
            {"escalation_skipped": ["contact_name", "contact_email"], "contact_phone": "+49621123456"},
            ["contact_company", "contact_phone", "case_description", "contact_consent"],
        ),
        ({"contact_email": "a@b.de", "escalation_skipped": ["contact_phone"]}, [
            "contact_name", "contact_company", "contact_email", "case_description", "contact_consent"]),
    ],
)  # fmt: skip
async def test_required_slots(slots: dict[str, Any], required: list[str]) -> None:
    tracker = build_tracker("inform", slots, active_loop=FORM)
    result = await ValidateEscalationForm().required_slots(
        list(FORM_SLOTS), CollectingDispatcher(), tracker, DOMAIN
    )
    assert result == required


# --- start (prefill) and reset -------------------------------------------------------------


def as_slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_known_contact_data_is_copied_into_the_form() -> None:
    tracker = build_tracker(
        "human_handoff",
        {"person_name": "Anna Schmidt", "company_name": "Müller Bau GmbH", "email": "anna@mueller-bau.de",
         "phone": "0621 123456", "contact_description": None},
    )  # fmt: skip
    slots = as_slots(prefill_events(tracker))
    assert slots == {
        "escalation_skipped": [],
        "contact_name": "Anna Schmidt",
        "contact_company": "Müller Bau GmbH",
        "contact_email": "anna@mueller-bau.de",
        "contact_phone": "+49621123456",
        "case_description": None,
        "preferred_channel": None,
        "contact_consent": None,
    }
    form = FormRun(**slots)
    assert await form.start() == "case_description"


async def test_invalid_known_data_is_not_copied() -> None:
    tracker = build_tracker("human_handoff", {"email": "kaputt@", "phone": "12345", "person_name": "ja"})
    slots = as_slots(prefill_events(tracker))
    assert (slots["contact_email"], slots["contact_phone"], slots["contact_name"]) == (None, None, None)


async def test_a_new_form_forgets_the_previous_answers() -> None:
    tracker = build_tracker(
        "human_handoff",
        {"contact_name": "Alt", "case_description": "Altes Anliegen", "contact_consent": False},
    )
    slots = as_slots(prefill_events(tracker))
    assert all(slots[s] is None for s in FORM_SLOTS)


@pytest.mark.parametrize(
    ("known", "metadata", "trigger"),
    [
        (None, None, "human_handoff"),
        ("urgent", None, "urgent"),
        ("misunderstanding", None, "misunderstanding"),
        (None, {"escalation_trigger": "feedback"}, "feedback"),
        ("nonsense", None, "human_handoff"),
    ],
)
def test_start_form_trigger_and_activation(
    known: str | None, metadata: dict[str, Any] | None, trigger: str
) -> None:
    tracker = build_tracker("human_handoff", {"case_trigger": known}, metadata=metadata)
    events = start_form(tracker, "human_handoff")
    assert events[-1] == ActiveLoop("escalation_form")
    assert SlotSet("case_trigger", trigger) in events


async def test_reset_after_cancel() -> None:
    tracker = build_tracker(
        "stop", {"contact_name": "Anna", "contact_email": "a@b.de", "case_priority": "high"}
    )
    events = await ActionResetEscalation().run(CollectingDispatcher(), tracker, DOMAIN)
    assert as_slots(events) == {**dict.fromkeys(FORM_SLOTS), "escalation_skipped": None}
    assert "case_priority" not in as_slots(events)  # the urgency stays known for a later request


# --- the questions -------------------------------------------------------------------------


async def ask(action: Any, **slots: Any) -> dict[str, Any]:
    dispatcher = CollectingDispatcher()
    assert await action.run(dispatcher, build_tracker("inform", slots, active_loop=FORM), DOMAIN) == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


async def test_questions() -> None:
    assert (await ask(ActionAskContactName()))["buttons"] == [SKIP_BUTTON]
    assert (await ask(ActionAskContactCompany()))["buttons"] == [SKIP_BUTTON]
    assert (await ask(ActionAskContactEmail()))["text"] == ASK_EMAIL
    assert (await ask(ActionAskContactEmail(), contact_phone="+49621123456"))["text"] == ASK_EMAIL_HAVE_PHONE
    no_email = await ask(ActionAskContactPhone())
    assert (no_email["text"], no_email["buttons"]) == (ASK_PHONE, [])  # phone is the only way left
    with_email = await ask(ActionAskContactPhone(), contact_email="a@b.de")
    assert (with_email["text"], with_email["buttons"]) == (ASK_PHONE_OPTIONAL, [SKIP_BUTTON])
    assert (await ask(ActionAskPreferredChannel()))["buttons"] == CHANNEL_BUTTONS
    consent = await ask(ActionAskContactConsent(), current_topic="tax_relief", tax_type="gewerbesteuer")
    assert consent["text"] == ASK_CONSENT.format(addressee=addressee("tax_office", ""))
    assert consent["buttons"] == YES_NO_BUTTONS
    summary = await ask(ActionAskContactConsent(), contact_name="Anna Schmidt", contact_email="anna@x.de")
    assert summary["text"] == (
        "Ihre Angaben: Anna Schmidt, anna@x.de.\n"
        + ASK_CONSENT.format(addressee="die Wirtschaftsförderung der Stadt")
    )
    # an outside body: the Wirtschaftsförderung asks to pass the details on
    forward = await ask(ActionAskContactConsent(), current_topic="emergency_aid", industry="handwerk")
    assert forward["text"].startswith("Darf ") and forward["text"].endswith(
        " diese Angaben an die Handwerkskammer weitergeben, damit man sich bei Ihnen meldet? "
        "Ihre Angaben werden nur für diese Anfrage verwendet."
    )
    assert "Wirtschaftsförderung der Stadt" in forward["text"]
    assert forward["buttons"] == YES_NO_BUTTONS
    assert SKIP_BUTTON["payload"] == "/deny"
    assert [b["payload"] for b in YES_NO_BUTTONS] == ["/affirm", "/deny"]


async def test_forward_consent_question_wording() -> None:
    forward = await ask(ActionAskContactConsent(), current_topic="short_time_work_allowance")
    assert forward["text"] == (
        "Darf die Wirtschaftsförderung der Stadt diese Angaben an die Agentur für Arbeit weitergeben, damit man "
        "sich bei Ihnen meldet? Ihre Angaben werden nur für diese Anfrage verwendet."
    )


def test_ask_action_names_match_the_form() -> None:
    names = {cls().name() for cls in (ActionAskContactName, ActionAskContactCompany, ActionAskContactEmail,
                                      ActionAskContactPhone, ActionAskPreferredChannel, ActionAskContactConsent)}  # fmt: skip
    assert names | {"action_ask_case_description"} == {f"action_ask_{slot}" for slot in FORM_SLOTS}
    assert names <= set(DOMAIN["actions"])
    assert DOMAIN["forms"]["escalation_form"]["required_slots"] == list(FORM_SLOTS)
