"""End to end through the real action server and Rasa server on loopback (REST channel).

A question per topic must come back with the answer, the contact card of the routed office and quick
replies; the context follow-ups and the fallback must behave as a user expects.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

QUESTIONS = {
    "short_time_work_eligibility": ("Können wir für unsere Angestellten Kurzarbeit machen?", "employment_agency"),
    "short_time_work_application": ("Wie zeige ich bei der Agentur für Arbeit an, dass wir Kurzarbeit machen?",
                                    "employment_agency"),
    "short_time_work_allowance": ("Wie hoch ist das Kurzarbeitergeld?", "employment_agency"),
    "emergency_aid": ("Gibt es eine Soforthilfe als Zuschuss für mein Restaurant?", "chamber_of_commerce"),
    "loans_liquidity": ("Wir haben einen Liquiditätsengpass und brauchen einen Kredit.", "business_development"),
    "tax_relief": ("Kann ich die Gewerbesteuer stunden lassen?", "tax_office"),
    "business_operations_rules": ("Darf ich mein Geschäft noch öffnen?", "health_office"),
    "appointment_booking": ("Ich brauche einen Termin beim Bürgerservice.", "citizen_services"),
    "business_registration": ("Ich möchte ein Gewerbe anmelden.", "trade_office"),
    "e_invoicing": ("Wie schicke ich eine XRechnung an die Stadt?", "accounts_payable"),
    "online_services": ("Welche Dienstleistungen der Stadt gibt es online?", "digital_office"),
    "digitalization_funding": ("Gibt es Förderung für die Digitalisierung?", "business_development"),
    "startup_support": ("Ich möchte ein Unternehmen gründen, wer hilft mir?", "startup_centres"),
    "networks_events": ("Welche Netzwerkveranstaltungen für Unternehmer gibt es?", "business_development"),
    "data_protection": ("Was passiert mit meinen Daten in diesem Chat?", "data_protection_officer"),
    "smart_city": ("Was ist die Smart-City-Strategie der Stadt?", "digital_office"),
    "insolvency_restructuring": ("Unsere GmbH ist zahlungsunfähig, bis wann müssen wir Insolvenz anmelden?",
                                 "chamber_of_commerce"),
    "cyber_incident": ("Wir wurden gehackt, alle Dateien sind verschlüsselt. Was tun?", "police_cybercrime"),
    "energy_costs": ("Gibt es Hilfe bei den hohen Stromkosten für unseren Betrieb?", "business_development"),
    "document_management": ("Wie reiche ich fehlende Unterlagen digital bei der Stadt ein?", "digital_office"),
}



def cards(messages: list[dict]) -> list[dict]:
    return [m["custom"] for m in messages if isinstance(m.get("custom"), dict) and m["custom"].get("type") == "contact_card"]


@pytest.mark.parametrize("topic", sorted(QUESTIONS))
def test_each_topic_gets_answer_card_and_quick_replies(rasa_stack, topic: str) -> None:
    text, unit = QUESTIONS[topic]
    messages = rasa_stack.send(f"e2e-{topic}-{uuid.uuid4().hex[:8]}", text)
    card = cards(messages)
    assert len(card) == 1, messages
    assert card[0]["topic"] == topic
    assert card[0]["unit"]["id"] == unit
    if card[0]["unit"]["opening_hours"] is None:
        assert card[0]["unit"]["open_now"] is None  # no badge from hours nobody could source
    assert card[0]["unit"]["sources"], card[0]
    texts = [m.get("text", "") for m in messages]
    assert any(("Quelle:" in t or "Quellen:" in t) and "https://" in t and "(Stand: " in t for t in texts), texts
    next_steps = [m for m in messages if m.get("text") == "Wie kann ich Ihnen weiterhelfen?"]
    buttons = [b for m in next_steps for b in m.get("buttons", [])]
    assert 2 <= len(buttons) <= 3 and all(b["payload"].startswith("/") for b in buttons), messages


def test_follow_up_contact_question_uses_the_topic(rasa_stack) -> None:
    sender = f"e2e-ctx-{uuid.uuid4().hex[:8]}"
    rasa_stack.send(sender, "Wie hoch ist das Kurzarbeitergeld?")
    follow = rasa_stack.send(sender, "und wen rufe ich da an?")
    assert [c["unit"]["id"] for c in cards(follow)] == ["employment_agency"]


def test_craft_business_is_rerouted_to_the_chamber_of_crafts(rasa_stack) -> None:
    sender = f"e2e-craft-{uuid.uuid4().hex[:8]}"
    first = rasa_stack.send(sender, "Gibt es Zuschüsse, die man nicht zurückzahlen muss?")
    assert cards(first)[0]["unit"]["id"] == "chamber_of_commerce"
    second = rasa_stack.send(sender, "wir sind ein Handwerksbetrieb")
    assert [c["unit"]["id"] for c in cards(second)] == ["chamber_of_crafts"]
    assert rasa_stack.tracker(sender)["slots"]["industry"] == "handwerk"


@pytest.mark.parametrize(("question", "unit"), [
    ("Kann ich die Gewerbesteuer stunden lassen?", "tax_office"),
    ("Können wir die Grundsteuer für die Halle in Raten zahlen?", "tax_office"),
    ("Kann das Finanzamt unsere Umsatzsteuer stunden?", "state_tax_office"),
    ("Wie senke ich die Einkommensteuervorauszahlungen?", "state_tax_office"),
])
def test_tax_relief_goes_to_the_office_that_levies_the_tax(rasa_stack, question: str, unit: str) -> None:
    reply = rasa_stack.send(f"e2e-tax-{uuid.uuid4().hex[:8]}", question)
    assert [c["unit"]["id"] for c in cards(reply)] == [unit]


def test_tax_relief_without_a_tax_asks_back_and_answers_for_the_chosen_one(rasa_stack) -> None:
    sender = f"e2e-taxask-{uuid.uuid4().hex[:8]}"
    first = rasa_stack.send(sender, "Kann ich in der Krise Steuern stunden lassen?")
    assert not cards(first), first
    choices = [b for m in first for b in m.get("buttons", [])]
    assert [b["title"] for b in choices] == ["Gewerbe- oder Grundsteuer", "Einkommen-, Körperschaft-, Umsatzsteuer"]
    second = rasa_stack.send(sender, choices[1]["payload"])
    assert [c["unit"]["id"] for c in cards(second)] == ["state_tax_office"]
    assert any("Finanzamt" in m.get("text", "") for m in second), second


def test_insolvency_question_offers_a_person_at_once(rasa_stack) -> None:
    reply = rasa_stack.send(f"e2e-insolv-{uuid.uuid4().hex[:8]}",
                            "Unsere GmbH ist zahlungsunfähig, bis wann müssen wir Insolvenz anmelden?")
    assert any(b["payload"] == "/human_handoff" for m in reply for b in m.get("buttons", [])), reply
    texts = " ".join(m.get("text", "") for m in reply)
    assert "§ 15a InsO" in texts and "drei Wochen" in texts


def test_new_topic_replaces_the_old_one(rasa_stack) -> None:
    sender = f"e2e-switch-{uuid.uuid4().hex[:8]}"
    rasa_stack.send(sender, "Kann ich die Gewerbesteuer stunden lassen?")
    rasa_stack.send(sender, "Ich möchte ein Gewerbe anmelden.")
    follow = rasa_stack.send(sender, "wer ist dafür zuständig?")
    assert [c["unit"]["id"] for c in cards(follow)] == ["trade_office"]


def test_human_handoff_gives_the_topic_contact_card(rasa_stack) -> None:
    sender = f"e2e-human-{uuid.uuid4().hex[:8]}"
    rasa_stack.send(sender, "Wie schicke ich eine XRechnung an die Stadt?")
    reply = rasa_stack.send(sender, "Ich möchte bitte mit einem Menschen sprechen")
    assert [c["unit"]["id"] for c in cards(reply)] == ["accounts_payable"]


def test_two_misunderstandings_in_a_row_offer_business_development(rasa_stack) -> None:
    sender = f"e2e-fallback-{uuid.uuid4().hex[:8]}"
    # Button payloads set the intent directly, as a click in the widget does.
    first = rasa_stack.send(sender, "/nlu_fallback")
    assert not cards(first) and any(m.get("buttons") for m in first), first
    second = rasa_stack.send(sender, "/nlu_fallback")
    assert [c["unit"]["id"] for c in cards(second)] == ["business_development"]


def test_unknown_gibberish_is_not_answered_with_a_random_topic(rasa_stack) -> None:
    reply = rasa_stack.send(f"e2e-gib-{uuid.uuid4().hex[:8]}", "qwertz asdf jklö")
    assert not any(c["topic"] in QUESTIONS for c in cards(reply)), reply


def texts_of(messages: list[dict]) -> str:
    return " ".join(m.get("text", "") for m in messages)


def test_a_case_for_an_outside_body_is_forwarded_by_the_city_without_a_promised_date(rasa_stack) -> None:
    """Kurzarbeit belongs to the Agentur für Arbeit, which does not work cases in the city's console: the
    Wirtschaftsförderung takes the request, asks before passing details on and promises no date for it."""
    sender = f"e2e-forward-{uuid.uuid4().hex[:8]}"
    rasa_stack.send(sender, "Wie hoch ist das Kurzarbeitergeld?")
    start = texts_of(rasa_stack.send(sender, "Ich möchte bitte mit einem Menschen sprechen"))
    assert "Wirtschaftsförderung" in start and "leitet es weiter" in start, start
    rasa_stack.send(sender, "Anna Schmidt")
    rasa_stack.send(sender, "Schmidt Bau GmbH")
    rasa_stack.send(sender, "anna.schmidt@schmidt-bau.example")
    rasa_stack.send(sender, "überspringen")
    consent = texts_of(rasa_stack.send(sender, "Wir möchten Kurzarbeit für zwölf Beschäftigte anzeigen und "
                                               "brauchen Hilfe."))
    if "Wie möchten Sie kontaktiert werden?" in consent:  # asked only when both e-mail and phone are known
        consent = texts_of(rasa_stack.send(sender, "E-Mail"))
    assert "Darf die Wirtschaftsförderung der Stadt diese Angaben an die Agentur für Arbeit weitergeben" in consent, \
        consent
    done = texts_of(rasa_stack.send(sender, "ja"))
    assert "Ihre Anfrage hat die Nummer KL-" in done, done
    assert "leitet sie an die Agentur für Arbeit weiter" in done and "nicht zusagen" in done, done
    assert "spätestens" not in done
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["case_unit"] == "business_development"
