from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from actions.answers import load_answers
from actions.intents import ALL_INTENTS, TOPICAL_INTENTS

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_HOSTS = {
    "www.arbeitsagentur.de",
    "www.bmwk.de",
    "www.kfw.de",
    "www.l-bank.de",
    "www.ueberbrueckungshilfe-unternehmen.de",
    "www.e-rechnung-bund.de",
    "www.xeinkauf.de",
    "www.mannheim.de",
    "www.bundesfinanzministerium.de",
    "www.infektionsschutz.de",
    "www.foerderdatenbank.de",
    "www.existenzgruender.de",
}


def domain_intents() -> set[str]:
    return set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])


def test_one_answer_per_topical_intent() -> None:
    assert set(load_answers()) == set(TOPICAL_INTENTS)


def test_known_intents_match_the_domain() -> None:
    assert set(ALL_INTENTS) == domain_intents()


@pytest.mark.parametrize("intent", TOPICAL_INTENTS)
def test_answer_content(intent: str) -> None:
    answer = load_answers()[intent]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])", answer.text) if s]
    assert 2 <= len(sentences) <= 5, sentences
    assert "Sie" in answer.text or "Ihr" in answer.text  # Sie-form
    assert not re.search(r"\b(du|dich|dir|dein)\b", answer.text, re.IGNORECASE)
    assert urlparse(answer.source_url).hostname in OFFICIAL_HOSTS
    assert answer.checked == date(2026, 11, 24)
    assert 2 <= len(answer.buttons) <= 3
    for button in answer.buttons:
        assert button.payload.startswith("/") and button.payload[1:] in domain_intents()
        assert button.payload != f"/{intent}"
    assert answer.with_source().endswith(
        f"\n\nQuelle: [{answer.source_title}]({answer.source_url}) (Stand: 24.11.2026)"
    )


def test_key_facts() -> None:
    answers = load_answers()
    allowance = answers["short_time_work_allowance"].text
    assert "60 %" in allowance and "67 %" in allowance and "Nettoentgeltdifferenz" in allowance
    application = answers["short_time_work_application"].text
    assert "Agentur für Arbeit" in application and "drei Monaten" in application
    assert "Schlussabrechnung" in answers["emergency_aid"].text
    tax = answers["tax_relief"].text
    assert "Gewerbesteuer" in tax and "Finanzamt" in tax and "Umsatzsteuer" in tax
    invoice = answers["e_invoicing"].text
    assert "XRechnung" in invoice and "Leitweg-ID" in invoice


def test_no_invented_contact_data_in_answers() -> None:
    for answer in load_answers().values():
        assert not re.search(r"\b0\d{3,4}[ /-]?\d{3,}", answer.text), answer.intent  # phone numbers
        assert "@" not in answer.text
