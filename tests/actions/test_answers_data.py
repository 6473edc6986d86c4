"""data/answers.yml (the content rules of docs/content.md) and actions/answers.py (how an answer is shown)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from actions.answers import Answer, Button, load_answers, site_name
from actions.intents import ALL_INTENTS, TOPICAL_INTENTS
from actions.sources import Source, is_page_url

ROOT = Path(__file__).resolve().parents[2]
#: Sentence ends: not after an ordinal or a day ("1. Januar", "31.12.2026") nor after "z. B.", "Nr.", "Abs."
_SENTENCE_END = re.compile(
    r"(?<!\b\d\.)(?<!\b\d\d\.)(?<!\bz\.)(?<!\bB\.)(?<!\bNr\.)(?<!\bAbs\.)(?<!\bvgl\.)(?<=[.!?])\s+(?=[A-ZÄÖÜ„\"])"
)
MAX_WORDS = 25
DU_FORM = re.compile(
    r"\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines|euch|euer|eure)\b", re.IGNORECASE
)


def domain_intents() -> set[str]:
    return set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def all_texts() -> list[tuple[str, Answer]]:
    """Every answer and every variant, labelled 'intent' or 'intent/variant'."""
    out = []
    for intent, answer in load_answers().items():
        out.append((intent, answer))
        out += [(f"{intent}/{name}", variant) for name, variant in answer.variants.items()]
    return out


TEXTS = all_texts()


def test_sentence_splitter() -> None:
    assert sentences("Seit 1. Januar 2025 gilt das. Bis 31.12.2026 auch, z. B. so. Fragen Sie!") == [
        "Seit 1. Januar 2025 gilt das.",
        "Bis 31.12.2026 auch, z. B. so.",
        "Fragen Sie!",
    ]


def test_one_answer_per_topical_intent() -> None:
    assert set(load_answers()) == set(TOPICAL_INTENTS)
    assert len(TOPICAL_INTENTS) == 20


def test_known_intents_match_the_domain() -> None:
    assert set(ALL_INTENTS) == domain_intents()


@pytest.mark.parametrize(("label", "answer"), TEXTS, ids=[label for label, _ in TEXTS])
def test_text_is_short_sie_form(label: str, answer: Answer) -> None:
    found = sentences(answer.text)
    assert 2 <= len(found) <= 5, found
    too_long = [s for s in found if len(s.split()) > MAX_WORDS]
    assert not too_long, f"sentences over {MAX_WORDS} words (read on phones): {too_long}"
    assert not DU_FORM.search(answer.text), "Sie-form, never du"
    assert "\n" not in answer.text and "  " not in answer.text


@pytest.mark.parametrize(("label", "answer"), TEXTS, ids=[label for label, _ in TEXTS])
def test_sources_are_dated_pages(label: str, answer: Answer) -> None:
    assert 1 <= len(answer.sources) <= 10
    assert len({src.url for src in answer.sources}) == len(answer.sources), "a page is listed once"
    for src in answer.sources:
        assert is_page_url(src.url), f"{src.url} is not a specific page"
        assert src.title, src.url
        assert src.retrieved <= answer.checked, "checked against pages read before"
        assert src.as_of is None or src.as_of <= src.retrieved


@pytest.mark.parametrize("intent", TOPICAL_INTENTS)
def test_checked_review_by_and_buttons(intent: str) -> None:
    answer = load_answers()[intent]
    assert answer.review_by >= answer.checked
    assert answer.checked <= date.today()
    assert 2 <= len(answer.buttons) <= 3
    for button in answer.buttons:
        assert button.payload.startswith("/") and button.payload[1:] in domain_intents()
        assert button.payload != f"/{intent}"
    for variant in answer.variants.values():
        assert (variant.checked, variant.review_by, variant.buttons) == (
            answer.checked,
            answer.review_by,
            answer.buttons,
        )


@pytest.mark.parametrize("intent", TOPICAL_INTENTS)
def test_with_source_shows_the_pages_and_the_date(intent: str) -> None:
    answer = load_answers()[intent]
    shown = answer.with_source()
    text, _, sources_line = shown.partition("\n\n")
    assert text == answer.text
    label = "Quelle" if len(answer.sources) == 1 else "Quellen"
    assert sources_line.startswith(f"{label}: [")
    assert sources_line.endswith(f" (Stand: {answer.checked:%d.%m.%Y})")
    links = re.findall(r"\[([^\]]+)\]\(([^)]+)\)", sources_line)
    assert [url for _, url in links] == [src.url for src in answer.sources]
    for (name, _), src in zip(links, answer.sources, strict=True):
        assert name.split(" (")[0] == site_name(src.url)


def test_tax_relief_has_a_municipal_and_a_state_variant() -> None:
    tax = load_answers()["tax_relief"]
    assert set(tax.variants) == {"municipal", "state"}
    assert "Gewerbe" in tax.variants["municipal"].text and "Stadt" in tax.variants["municipal"].text
    assert "Finanzamt" in tax.variants["state"].text
    assert tax.variant("municipal") is tax.variants["municipal"]
    assert tax.variant(None) is tax and tax.variant("both") is tax  # no variant: the general answer
    assert not load_answers()["e_invoicing"].variants


def test_key_facts() -> None:
    answers = load_answers()
    allowance = answers["short_time_work_allowance"].text
    assert "60 Prozent" in allowance and "67 Prozent" in allowance and "Nettoentgeltdifferenz" in allowance
    assert "Agentur für Arbeit" in answers["short_time_work_application"].text
    tax = answers["tax_relief"].text
    assert "Gewerbe" in tax and "Finanzamt" in tax and "Umsatzsteuer" in tax
    invoice = answers["e_invoicing"].text
    assert "E-Rechnung" in invoice
    assert (
        "Insolvenz" in answers["insolvency_restructuring"].text
        or "insolvenz" in answers["insolvency_restructuring"].text
    )


def test_contact_data_in_answers_is_the_directory_s() -> None:
    """Phone numbers and e-mail addresses in answers are ones the contact directory carries (sourced there,
    shown on the card): an answer never brings contact data of its own."""
    from actions.directory import load_directory

    units = load_directory().units.values()
    phones = {re.sub(r"\D", "", u.phone) for u in units if u.phone}
    emails = {u.email.casefold() for u in units if u.email}
    for label, answer in TEXTS:
        for number in re.findall(r"\b0\d{2,4}[ /-]?\d[\d -]{2,}\d", answer.text):
            assert re.sub(r"\D", "", number) in phones, f"{label}: {number} is not in data/contacts.yml"
        for email in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", answer.text):
            assert email.casefold().rstrip(".") in emails, f"{label}: {email} is not in data/contacts.yml"


# --- Answer.with_source on a synthetic answer ---------------------------------------------------------


def _answer(*urls: str) -> Answer:
    return Answer(
        intent="tax_relief",
        text="Ein Text.",
        sources=tuple(Source(url=u, retrieved=date(2026, 12, 8), title="T") for u in urls),
        checked=date(2026, 12, 8),
        review_by=date(2027, 6, 30),
        buttons=(Button("A", "/emergency_aid"), Button("B", "/contact_request")),
        variants=MappingProxyType({}),
    )


def test_with_source_one_page() -> None:
    assert _answer("https://www.ihk.de/regensburg/kug-123").with_source() == (
        "Ein Text.\n\nQuelle: [ihk.de](https://www.ihk.de/regensburg/kug-123) (Stand: 08.12.2026)"
    )


def test_with_source_numbers_pages_of_the_same_site() -> None:
    shown = _answer(
        "https://www.ihk.de/regensburg/a", "https://haufe.de/b", "https://www.ihk.de/karlsruhe/c"
    ).with_source()
    assert shown.endswith(
        "Quellen: [ihk.de](https://www.ihk.de/regensburg/a), [haufe.de](https://haufe.de/b), "
        "[ihk.de (2)](https://www.ihk.de/karlsruhe/c) (Stand: 08.12.2026)"
    )


def test_site_name_and_overdue() -> None:
    assert site_name("https://www.mannheim.de/de/x") == "mannheim.de"
    assert site_name("https://mein.kiehl.de/Dokument/1") == "mein.kiehl.de"
    answer = _answer("https://haufe.de/b")
    assert not answer.overdue(date(2027, 6, 30)) and answer.overdue(date(2027, 7, 1))
