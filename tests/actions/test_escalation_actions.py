"""action_submit_case, action_live_chat_request, action_handback and the escalation triggers.

The web app's internal API is a real aiohttp server on a free loopback port (FakeWebApp in conftest.py);
the outbox is a real SQLite file in tmp_path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cases import CASE_NUMBER
from actions.contact import ActionHumanHandoff
from actions.delivery import DeliveryConfig, WebAppClient, run_retry_loop
from actions.directory import berlin
from actions.escalation import CASE_CONTEXT, FORM_SLOTS, ActionSubmitCase
from actions.fallback import ActionClarify
from actions.handover import ActionHandback, ActionLiveChatRequest
from actions.outbox import Outbox
from actions.texts import (
    ASK_TAX_TYPE,
    CALLBACK_OFFER,
    ESCALATION_INTRO,
    HANDBACK,
    LIVE_CHAT_BUTTON,
    LIVE_CHAT_NEEDS_CASE,
    LIVE_CHAT_OFFER,
    URGENT_BUTTONS,
    URGENT_OFFER,
    addressee,
)
from actions.topics import ActionAnswerTopic
from tests.actions.conftest import INTERNAL_TOKEN, FakeWebApp, build_tracker, free_port
from tests.actions.synthetic import WIFOE_HOURS

#: The Wirtschaftsförderung with hours stated on a cited page (Mo-Do 8-12, 13-16, Fr 8-12): a date may be
#: promised. The other units of the synthetic directory have no hours.
WIFOE_WITH_HOURS = {"business_development": {"opening_hours": WIFOE_HOURS}}

pytestmark = pytest.mark.usefixtures("fixed_now")

FILLED = {
    "contact_name": "Anna Schmidt",
    "contact_company": "Müller Bau GmbH",
    "contact_email": "anna@mueller-bau.de",
    "contact_phone": None,
    "case_description": "Wir können die Löhne nicht mehr zahlen und brauchen Beratung.",
    "preferred_channel": None,
    "contact_consent": True,
    "escalation_skipped": ["contact_phone"],
}


async def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def number_in(text: str) -> str:
    match = CASE_NUMBER.search(text)
    assert match, text
    return match.group()


def submit_tracker(**slots: Any) -> Tracker:
    return build_tracker("affirm", {**FILLED, **slots}, sender_id="widget-session-42")


# --- action_submit_case ------------------------------------------------------------------------


async def test_submit_delivers_and_tells_number_and_deadline(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts(WIFOE_WITH_HOURS)
    outbox_path = escalation_env(webapp.url)
    messages, events = await run(ActionSubmitCase(), submit_tracker(current_topic="loans_liquidity"))
    text = messages[0]["text"]
    number = number_in(text)
    assert text == (
        f"Vielen Dank! Ihre Anfrage hat die Nummer {number}. Ich habe sie an die Wirtschaftsförderung der Stadt "
        "weitergegeben; man meldet sich per E-Mail spätestens morgen bis 11:00 Uhr bei Ihnen."
    )
    # the web app got the case of the contract, with the token
    (request,) = webapp.posted_cases()
    assert request["headers"]["Authorization"] == f"Bearer {INTERNAL_TOKEN}"
    case = request["json"]
    assert case["case_number"] == number
    assert case["session_id"] == "widget-session-42"
    assert (case["unit"], case["topic"], case["secondary_units"]) == (
        "business_development",
        "loans_liquidity",
        ["chamber_of_commerce"],
    )
    assert case["contact"]["email"] == "anna@mueller-bau.de" and case["contact"]["consent"] is True
    assert case["expected_response_by"] == "2026-12-16T11:00:00+01:00"
    # persisted first, acknowledged afterwards
    entry = await Outbox(outbox_path).get(number)
    assert entry is not None and entry.status == "delivered"
    # form and case context cleared, the case number kept for the live chat
    slots = slots_of(events)
    assert all(slots[s] is None for s in (*FORM_SLOTS, *CASE_CONTEXT, "escalation_skipped"))
    assert (slots["case_number"], slots["case_unit"]) == (number, "business_development")


async def test_live_chat_offer_only_when_open_and_staff_online(
    webapp: FakeWebApp,
    escalation_env: Callable[[str], Path],
    fixed_now: Callable[[datetime], None],
    synthetic_contacts: Callable[..., Path],
) -> None:
    synthetic_contacts(WIFOE_WITH_HOURS)
    escalation_env(webapp.url)
    webapp.staff_online = 2
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert messages[-1]["text"] == LIVE_CHAT_OFFER
    assert (
        messages[-1]["buttons"]
        == [LIVE_CHAT_BUTTON]
        == [{"title": "Jetzt live chatten", "payload": "/live_chat_request"}]
    )
    assert webapp.requests[-1]["path"] == "/internal/v1/units/business_development/availability"

    webapp.staff_online = 0
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert len(messages) == 1

    webapp.staff_online, webapp.availability_status = 2, 503  # any error: no offer
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert len(messages) == 1

    fixed_now(datetime(2026, 12, 18, 12, 30, tzinfo=berlin()))  # Friday afternoon: closed
    webapp.availability_status = 200
    before = len(webapp.requests)
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert len(messages) == 1
    assert "am Dienstag, 22.12., bis 09:00 Uhr" in messages[0]["text"]
    assert [r["path"] for r in webapp.requests[before:]] == ["/internal/v1/cases"]  # no availability asked


async def test_web_app_down_case_kept_user_gets_number_then_retry_loop_delivers(
    escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts(WIFOE_WITH_HOURS)
    port = free_port()
    outbox_path = escalation_env(f"http://127.0.0.1:{port}")  # nothing listens here yet
    started = time.monotonic()
    messages, events = await run(
        ActionSubmitCase(), submit_tracker(contact_phone="+49621123456", preferred_channel="phone")
    )
    assert time.monotonic() - started < 8.0
    text = messages[0]["text"]
    number = number_in(text)
    assert "Sie ist gespeichert und wird an die Wirtschaftsförderung der Stadt weitergegeben" in text
    assert "man meldet sich telefonisch spätestens morgen bis 11:00 Uhr" in text
    assert len(messages) == 1  # no live chat offer without the web app
    assert slots_of(events)["case_number"] == number
    outbox = Outbox(outbox_path)
    entry = await outbox.get(number)
    assert entry is not None and entry.status == "pending" and entry.payload["case_number"] == number

    # the web app comes up; the action server's retry loop hands the case over
    webapp = await FakeWebApp(port=port).start()
    stop = asyncio.Event()
    config = DeliveryConfig(webapp.url, INTERNAL_TOKEN, outbox_path, retry_interval=0.05)
    task = asyncio.create_task(run_retry_loop(outbox, WebAppClient(config), stop))
    try:
        deadline = time.monotonic() + 10
        while number not in webapp.cases:
            assert time.monotonic() < deadline, "retry loop did not deliver the case"
            await asyncio.sleep(0.05)
        assert webapp.cases[number]["contact"]["phone"] == "+49621123456"
        assert webapp.posted_cases()[0]["headers"]["Authorization"] == f"Bearer {INTERNAL_TOKEN}"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        await webapp.stop()
    entry = await outbox.get(number)
    assert entry is not None and entry.status == "delivered"


async def test_refused_case_is_kept_as_failed(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path]
) -> None:
    outbox_path = escalation_env(webapp.url)
    webapp.case_status = 400
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    number = number_in(messages[0]["text"])
    entry = await Outbox(outbox_path).get(number)
    assert entry is not None and (entry.status, entry.last_status) == ("failed", 400)
    assert entry.payload["contact"]["email"] == "anna@mueller-bau.de"


async def test_consent_no_creates_no_case(webapp: FakeWebApp, escalation_env: Callable[[str], Path]) -> None:
    outbox_path = escalation_env(webapp.url)
    messages, events = await run(ActionSubmitCase(), submit_tracker(contact_consent=False))
    assert messages[0]["text"].startswith("In Ordnung, ich lege keine Anfrage an und gebe nichts weiter.")
    assert messages[1]["custom"]["type"] == "contact_card"
    assert webapp.requests == []
    assert not outbox_path.exists()
    slots = slots_of(events)
    assert all(slots[s] is None for s in FORM_SLOTS)
    assert "case_number" not in slots


async def test_without_outbox_the_case_goes_straight_to_the_web_app(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    escalation_env(webapp.url)
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("KRISENLOTSE_OUTBOX_DB", str(blocker / "outbox.db"))
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert number_in(messages[0]["text"]) in webapp.cases

    webapp.case_status = 503  # … and if that fails too, the user is told to call
    messages, events = await run(ActionSubmitCase(), submit_tracker())
    assert messages[0]["text"].startswith("Entschuldigung, ich konnte Ihre Anfrage gerade nicht speichern.")
    assert messages[1]["custom"]["type"] == "contact_card"
    assert "case_number" not in slots_of(events)


async def test_offline_mode_keeps_cases_without_waiting(
    escalation_env: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox_path = escalation_env("off")
    started = time.monotonic()
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert time.monotonic() - started < 1.0
    entry = await Outbox(outbox_path).get(number_in(messages[0]["text"]))
    assert entry is not None and entry.status == "pending"


async def test_urgent_case_goes_out_with_high_priority(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path]
) -> None:
    escalation_env(webapp.url)
    tracker = submit_tracker(case_priority="high", case_trigger="urgent", urgent_signals=["wages"])
    await run(ActionSubmitCase(), tracker)
    case = webapp.posted_cases()[0]["json"]
    assert (case["priority"], case["trigger"], case["urgent_signals"]) == ("high", "urgent", ["wages"])


# --- what the user is promised: a date only where it can be kept (docs/content.md) ------------------------


async def test_case_about_an_outside_body_is_forwarded_without_a_date(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts(
        WIFOE_WITH_HOURS
    )  # even with the Wirtschaftsförderung's hours: no date for the chamber
    escalation_env(webapp.url)
    webapp.staff_online = 2
    messages, events = await run(
        ActionSubmitCase(), submit_tracker(current_topic="emergency_aid", industry="handwerk")
    )
    number = number_in(messages[0]["text"])
    assert messages[0]["text"] == (
        f"Vielen Dank! Ihre Anfrage hat die Nummer {number}. Die Wirtschaftsförderung der Stadt nimmt sie "
        "entgegen und leitet sie an die Handwerkskammer weiter. Die Antwort kommt von der Handwerkskammer, nach "
        "den dortigen Abläufen; eine Frist kann ich Ihnen dafür nicht zusagen."
    )
    assert "spätestens" not in messages[0]["text"] and "so bald wie möglich" not in messages[0]["text"]
    case = webapp.posted_cases()[0]["json"]
    assert (case["unit"], case["secondary_units"]) == ("business_development", ["chamber_of_crafts"])
    assert slots_of(events)["case_unit"] == "business_development"  # who takes a live chat
    assert messages[-1]["text"] == LIVE_CHAT_OFFER  # the receiving office is open and staffed
    assert webapp.requests[-1]["path"] == "/internal/v1/units/business_development/availability"


async def test_case_about_an_outside_body_in_the_outbox(
    escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts()
    outbox_path = escalation_env("off")
    messages, _ = await run(
        ActionSubmitCase(), submit_tracker(current_topic="tax_relief", tax_type="umsatzsteuer")
    )
    text = messages[0]["text"]
    assert "nimmt sie entgegen und leitet sie an das Finanzamt weiter" in text
    assert "eine Frist kann ich Ihnen dafür nicht zusagen" in text
    entry = await Outbox(outbox_path).get(number_in(text))
    assert entry is not None and entry.payload["unit"] == "business_development"
    assert entry.payload["secondary_units"] == ["state_tax_office"]


async def test_case_forwarded_to_a_plural_body_is_grammatical(
    escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts()
    escalation_env("off")
    messages, _ = await run(ActionSubmitCase(), submit_tracker(current_topic="startup_support"))
    text = messages[0]["text"]
    assert "leitet sie an die Mannheimer Gründungszentren (NEXT MANNHEIM) weiter" in text
    assert "Die Antwort kommt von den Mannheimer Gründungszentren, nach den dortigen Abläufen" in text


async def test_city_office_without_sourced_hours_promises_no_date(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts()  # the Wirtschaftsförderung works cases, but no page states its hours
    escalation_env(webapp.url)
    messages, events = await run(ActionSubmitCase(), submit_tracker(current_topic="loans_liquidity"))
    number = number_in(messages[0]["text"])
    assert messages[0]["text"] == (
        f"Vielen Dank! Ihre Anfrage hat die Nummer {number}. Ich habe sie an die Wirtschaftsförderung der Stadt "
        "weitergegeben; man meldet sich per E-Mail so bald wie möglich bei Ihnen."
    )
    case = webapp.posted_cases()[0]["json"]
    assert (case["unit"], case["expected_response_by"]) == ("business_development", None)
    assert slots_of(events)["case_number"] == number


async def test_city_office_without_sourced_hours_queued_case(
    escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    synthetic_contacts()
    outbox_path = escalation_env("off")
    messages, _ = await run(
        ActionSubmitCase(), submit_tracker(contact_phone="+49621123456", preferred_channel="phone")
    )
    text = messages[0]["text"]
    number = number_in(text)
    assert text == (
        f"Vielen Dank! Ihre Anfrage hat die Nummer {number}. Sie ist gespeichert und wird an die "
        "Wirtschaftsförderung der Stadt weitergegeben; man meldet sich telefonisch so bald wie möglich bei Ihnen."
    )
    entry = await Outbox(outbox_path).get(number)
    assert entry is not None and entry.payload["expected_response_by"] is None


async def test_hours_from_an_old_page_promise_no_date(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path], synthetic_contacts: Callable[..., Path]
) -> None:
    from datetime import date

    synthetic_contacts(
        {"business_development": {"opening_hours": WIFOE_HOURS, "as_of": {"opening_hours": date(2019, 1, 1)}}}
    )
    escalation_env(webapp.url)
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    assert "so bald wie möglich" in messages[0]["text"] and "spätestens" not in messages[0]["text"]
    assert webapp.posted_cases()[0]["json"]["expected_response_by"] is None


# --- live chat ---------------------------------------------------------------------------------


async def submitted(webapp: FakeWebApp) -> str:
    messages, _ = await run(
        ActionSubmitCase(), submit_tracker(current_topic="emergency_aid", industry="handwerk")
    )
    return number_in(messages[0]["text"])


async def test_live_chat_after_a_delivered_case(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path]
) -> None:
    escalation_env(webapp.url)
    messages, submit_events = await run(ActionSubmitCase(), submit_tracker(current_topic="e_invoicing"))
    number = number_in(messages[0]["text"])
    slots = slots_of(submit_events)
    assert slots["case_unit"] == "accounts_payable"  # a city office that works its own cases
    tracker = build_tracker("live_chat_request", {"case_number": number, "case_unit": slots["case_unit"]})
    messages, events = await run(ActionLiveChatRequest(), tracker)
    assert messages[0]["text"] == (
        f"Einen Moment bitte: Eine Person vom Zentralen Rechnungseingang der Stadt übernimmt gleich diesen Chat "
        f"(Anfrage {number})."
    )
    assert events == []
    live = webapp.requests[-1]
    assert (live["method"], live["path"]) == ("POST", f"/internal/v1/cases/{number}/live")
    assert live["headers"]["Authorization"] == f"Bearer {INTERNAL_TOKEN}"


@pytest.mark.parametrize("status", [404, 409, 500])
async def test_live_chat_refused(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path], status: int
) -> None:
    escalation_env(webapp.url)
    number = await submitted(webapp)
    webapp.live_status = status
    messages, _ = await run(
        ActionLiveChatRequest(), build_tracker("live_chat_request", {"case_number": number})
    )
    assert messages[0]["text"] == (
        "Im Moment kann leider niemand den Chat übernehmen. Man meldet sich wie gewünscht bei Ihnen "
        f"(Anfrage {number})."
    )


async def test_live_chat_delivers_a_pending_case_first(escalation_env: Callable[[str], Path]) -> None:
    port = free_port()
    escalation_env(f"http://127.0.0.1:{port}")
    messages, _ = await run(ActionSubmitCase(), submit_tracker())
    number = number_in(messages[0]["text"])
    webapp = await FakeWebApp(port=port).start()
    try:
        messages, _ = await run(
            ActionLiveChatRequest(), build_tracker("live_chat_request", {"case_number": number})
        )
        assert "übernimmt gleich diesen Chat" in messages[0]["text"]
        assert [r["path"] for r in webapp.requests] == [
            "/internal/v1/cases",
            f"/internal/v1/cases/{number}/live",
        ]
    finally:
        await webapp.stop()


async def test_live_chat_for_an_unknown_case(
    webapp: FakeWebApp, escalation_env: Callable[[str], Path]
) -> None:
    escalation_env(webapp.url)
    messages, _ = await run(
        ActionLiveChatRequest(), build_tracker("live_chat_request", {"case_number": "KL-AAAA-BBBB"})
    )
    assert messages[0]["text"].startswith("Im Moment kann leider niemand den Chat übernehmen.")
    assert webapp.requests == []


async def test_live_chat_without_a_case_starts_the_form(escalation_env: Callable[[str], Path]) -> None:
    messages, events = await run(
        ActionLiveChatRequest(), build_tracker("live_chat_request", {"email": "a@b.de"})
    )
    assert [m["text"] for m in messages] == [LIVE_CHAT_NEEDS_CASE]
    assert events[-1] == ActiveLoop("escalation_form")
    assert SlotSet("contact_email", "a@b.de") in events
    assert SlotSet("case_trigger", "human_handoff") in events


# --- hand back ---------------------------------------------------------------------------------


async def test_handback() -> None:
    messages, events = await run(ActionHandback(), build_tracker("greet", {"misunderstandings": 1.0}))
    assert messages[0]["text"] == HANDBACK
    assert messages[0]["text"].startswith("Ich bin wieder für Sie da.")
    assert events == [SlotSet("misunderstandings", 0), ActionExecuted("action_listen")]


# --- triggers ------------------------------------------------------------------------------------


async def test_human_handoff_starts_the_form_with_known_data() -> None:
    tracker = build_tracker("human_handoff", {"current_topic": "tax_relief", "phone": "0621 123456"})
    messages, events = await run(ActionHumanHandoff(), tracker)
    assert messages[0]["text"].startswith(
        f"Gern verbinde ich Sie mit einer Person: Sie können sich direkt an {addressee('tax_office', '')} wenden"
    )
    assert messages[1]["custom"]["unit"]["id"] == "tax_office"
    assert messages[2]["text"] == ESCALATION_INTRO
    slots = slots_of(events)
    assert (slots["contact_phone"], slots["contact_email"], slots["case_trigger"]) == (
        "+49621123456",
        None,
        "human_handoff",
    )
    assert events[-1] == ActiveLoop("escalation_form")


async def test_urgent_question_is_answered_and_a_person_offered() -> None:
    tracker = build_tracker(
        "loans_liquidity",
        text="Wir sind pleite und können die Löhne nicht mehr zahlen, welcher Kredit hilft?",
    )
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert len(messages) == 5  # answer, office, card, next steps … and the offer
    assert messages[4]["text"] == URGENT_OFFER
    assert messages[4]["buttons"] == URGENT_BUTTONS
    assert messages[4]["buttons"][0] == {"title": "Ja", "payload": "/human_handoff"}
    assert events == [
        SlotSet("current_topic", "loans_liquidity"),
        SlotSet("misunderstandings", 0),
        SlotSet("case_priority", "high"),
        SlotSet("case_trigger", "urgent"),
        SlotSet("urgent_signals", ["wages", "insolvency"]),
    ]


async def test_urgent_signals_add_up() -> None:
    tracker = build_tracker(
        "emergency_aid", {"urgent_signals": ["wages"]}, text="Sonst müssen wir den Laden dichtmachen."
    )
    _, events = await run(ActionAnswerTopic(), tracker)
    assert SlotSet("urgent_signals", ["wages", "closure"]) in events


async def test_no_offer_inside_the_form_but_the_priority_rises() -> None:
    tracker = build_tracker(
        "emergency_aid",
        text="Wir sind pleite, gibt es noch Soforthilfe?",
        active_loop={"name": "escalation_form", "validate": True, "rejected": True},
    )
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert len(messages) == 4 and all(m["text"] != URGENT_OFFER for m in messages)
    assert SlotSet("case_priority", "high") in events
    assert SlotSet("urgent_signals", ["insolvency"]) in events


async def test_urgency_without_a_topic() -> None:
    messages, events = await run(
        ActionAnswerTopic(), build_tracker("greet", text="Hallo, wir sind insolvent.")
    )
    assert messages[-1]["text"] == URGENT_OFFER
    assert SlotSet("case_priority", "high") in events


async def test_understood_topic_clears_the_misunderstanding_trigger() -> None:
    _, events = await run(
        ActionAnswerTopic(), build_tracker("emergency_aid", {"case_trigger": "misunderstanding"})
    )
    assert events[-1] == SlotSet("case_trigger", None)
    _, events = await run(ActionAnswerTopic(), build_tracker("emergency_aid", {"case_trigger": "urgent"}))
    assert SlotSet("case_trigger", None) not in events
    _, events = await run(
        ActionAnswerTopic(),
        build_tracker("tax_relief", {"case_trigger": "misunderstanding"}, text="Gewerbesteuer stunden?"),
    )
    assert events[-1] == SlotSet("case_trigger", None)


async def test_tax_relief_ask_back_still_offers_a_person_when_urgent() -> None:
    tracker = build_tracker(
        "tax_relief",
        {"case_trigger": "misunderstanding"},
        text="Wir sind pleite und können die Steuern nicht mehr zahlen.",
    )
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert messages[1]["text"] == ASK_TAX_TYPE  # which tax? …
    assert messages[-1]["text"] == URGENT_OFFER  # … and a person, as after every other answer
    assert SlotSet("case_priority", "high") in events


async def test_insolvency_topic_is_urgent_in_itself() -> None:
    tracker = build_tracker(
        "insolvency_restructuring", {"urgent_signals": ["wages"]}, text="Was ist ein StaRUG-Verfahren?"
    )
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert messages[-1]["text"] == URGENT_OFFER and messages[-1]["buttons"] == URGENT_BUTTONS
    assert SlotSet("case_trigger", "urgent") in events
    assert SlotSet("urgent_signals", ["wages", "insolvency"]) in events
    # inside the form: no second offer, but the priority rises
    tracker = build_tracker(
        "insolvency_restructuring",
        text="Was ist ein StaRUG-Verfahren?",
        active_loop={"name": "escalation_form", "validate": True, "rejected": True},
    )
    messages, events = await run(ActionAnswerTopic(), tracker)
    assert all(m["text"] != URGENT_OFFER for m in messages)
    assert SlotSet("case_priority", "high") in events
    assert SlotSet("urgent_signals", ["insolvency"]) in events


async def test_clarify_offers_a_person_when_urgent() -> None:
    tracker = build_tracker("nlu_fallback", text="ich verliere alles, was soll ich tun", ranking=[])
    messages, events = await run(ActionClarify(), tracker)
    assert messages[0]["text"].startswith("Ich bin nicht sicher")
    assert messages[1]["text"] == URGENT_OFFER
    assert events[0] == SlotSet("misunderstandings", 1)
    assert SlotSet("urgent_signals", ["ruin"]) in events


async def test_second_miss_urgent_offer_replaces_the_callback_button() -> None:
    tracker = build_tracker("nlu_fallback", {"misunderstandings": 1.0}, text="betrieb aufgeben??", ranking=[])
    messages, events = await run(ActionClarify(), tracker)
    assert messages[-1]["text"] == URGENT_OFFER
    assert all(m["text"] != CALLBACK_OFFER for m in messages)
    assert SlotSet("case_trigger", "urgent") in events


async def test_second_miss_keeps_an_urgent_trigger() -> None:
    tracker = build_tracker("nlu_fallback", {"misunderstandings": 1.0, "case_trigger": "urgent"}, ranking=[])
    messages, events = await run(ActionClarify(), tracker)
    assert messages[-1]["text"] == CALLBACK_OFFER
    assert events == [SlotSet("misunderstandings", 0)]
