"""How the widget renders what the server sends: safe limited Markdown, contact cards with missing data,
error messages, and the embedding attributes (data-title, data-position, data-color, data-start-message).

The page and the consent go to the real web app (without Rasa). To hand the widget exact bot messages, the
socket.io client is blocked, so the widget falls back to the REST channel, and that request is answered by
the test (page.route).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.widget import Widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOURS = {"mon": [["08:00", "12:00"], ["13:00", "16:00"]], "tue": [], "wed": [["08:00", "12:00"]],
         "thu": [["08:00", "18:00"]], "fri": [["08:00", "12:00"]], "sat": [], "sun": []}
# Sourced hours (open_now is a boolean), but no phone, e-mail or address on any cited page; one field from a
# page older than three years.
CARD_WITHOUT_CONTACTS = {
    "type": "contact_card", "topic": "tax_relief",
    "unit": {"id": "tax_office", "name": "Stadtkämmerei <Steueramt>", "description": "Gewerbesteuer",
             "phone": None, "email": None, "web": "https://www.mannheim.de/steuern", "address": None,
             "opening_hours": HOURS, "hours_note": "Sprechzeiten", "languages": ["de"], "open_now": False,
             "checked": "2026-12-08", "old_fields": ["opening_hours"]},
}
# Contacts from cited pages, hours on none of them (open_now null): no badge, no hours table.
CARD_WITHOUT_HOURS = {
    "type": "contact_card", "topic": None,
    "unit": {"id": "business_development", "name": "Wirtschaftsförderung", "phone": "0621 293-0",
             "email": "wirtschaft@example.org", "web": "https://www.mannheim.de/wirtschaft",
             "address": "E 5, 68159 Mannheim", "opening_hours": None, "languages": ["de", "en", "tr"],
             "open_now": None, "checked": "2026-12-07", "old_fields": []},
}
HOSTILE_TEXT = (
    "**Fett** mit [Agentur](https://www.arbeitsagentur.de/) und [böse](javascript:window.__xss=1) "
    "und <img src=x onerror=window.__xss=2> und [Mail](mailto:info@example.org) und [Tel](tel:+496211234)"
    "\nZweite Zeile: https://example.org/pfad. Ende <script>window.__xss=3</script>"
)


class FakeRest:
    """Answers POST /webhooks/rest/webhook with prepared messages, in order."""

    def __init__(self, page: Page, replies: list[list[dict[str, Any]]]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        page.route("**/static/vendor/socket.io.min.js", lambda route: route.abort())
        page.route("**/webhooks/rest/webhook", self.handle)

    def handle(self, route: Route) -> None:
        body = route.request.post_data_json
        self.requests.append(body)
        reply = self.replies.pop(0) if self.replies else []
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps([{"recipient_id": body["sender"], **m} for m in reply]))


def start(page: Page, replies: list[list[dict[str, Any]]]) -> tuple[Widget, FakeRest]:
    greeting = [{"text": "Guten Tag!", "message_id": "greet1",
                 "buttons": [{"title": "<b>Ja</b> bitte", "payload": "/affirm"}]}]
    fake = FakeRest(page, [greeting, *replies])
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()
    return widget, fake


def test_bot_text_is_limited_safe_markdown(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget, fake = start(page, [[{"text": HOSTILE_TEXT, "message_id": "m1"}]])
    turn = widget.ask("Zeig mal")
    bubble = turn.locator(".kl-msg--bot").first
    expect(bubble.locator("strong")).to_have_text("Fett")
    agency = bubble.get_by_role("link", name=re.compile("^Agentur"))
    expect(agency).to_have_attribute("href", "https://www.arbeitsagentur.de/")
    expect(agency).to_have_attribute("target", "_blank")
    expect(agency).to_have_attribute("rel", "noopener noreferrer")
    expect(bubble.get_by_role("link", name="Mail")).to_have_attribute("href", "mailto:info@example.org")
    expect(bubble.get_by_role("link", name="Tel")).to_have_attribute("href", "tel:+496211234")
    bare = bubble.get_by_role("link", name=re.compile(r"^example\.org\/pfad"))
    expect(bare).to_have_attribute("href", "https://example.org/pfad")  # the full stop is not part of it
    expect(bubble.locator("br")).to_have_count(1)
    # everything else is text: no javascript: link, no <img>, no <script>
    expect(bubble.locator("a")).to_have_count(4)
    assert bubble.locator("img, script").count() == 0
    expect(bubble).to_contain_text("und böse und")  # a javascript: link keeps only its text
    expect(bubble).to_contain_text("<img src=x onerror=window.__xss=2>")
    expect(bubble).to_contain_text("<script>window.__xss=3</script>")
    assert page.evaluate("() => window.__xss") is None
    assert fake.requests[-1]["message"] == "Zeig mal"
    assert fake.requests[-1]["metadata"]["page_language"] == "de"


def test_quick_reply_sends_payload_and_shows_title_as_text(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget, fake = start(page, [[{"text": "Gern.", "message_id": "m2"}]])
    reply = widget.bot_turns.first.get_by_role("button", name="<b>Ja</b> bitte")
    expect(reply).to_have_text("<b>Ja</b> bitte")
    reply.click()
    expect(widget.bot_turns).to_have_count(2)
    assert fake.requests[-1]["message"] == "/affirm"
    expect(widget.user_messages.last).to_have_text("Sie: <b>Ja</b> bitte")
    assert widget.log.locator("b").count() == 0
    expect(widget.input).to_be_focused()


def test_contact_cards_with_missing_data(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget, _ = start(page, [[{"text": "Zuständig ist:", "message_id": "m3"},
                              {"custom": CARD_WITHOUT_CONTACTS, "message_id": "m4"},
                              {"custom": CARD_WITHOUT_HOURS, "message_id": "m5"}]])
    widget.ask("Wer ist zuständig?")

    tax = widget.card("tax_office")
    expect(tax.get_by_role("heading", level=3)).to_have_text("Stadtkämmerei <Steueramt>")
    expect(tax.locator(".kl-badge")).to_have_text(re.compile(r"Derzeit nicht erreichbar"))
    facts = dict(zip(tax.locator("dt").all_inner_texts(), tax.locator("dd").all_inner_texts(), strict=True))
    assert "Telefon" not in facts and "E-Mail" not in facts and "Adresse" not in facts, facts
    expect(tax).to_contain_text("Telefon und E-Mail finden Sie auf der Seite der Stelle.")
    expect(tax.get_by_role("link", name=re.compile(r"mannheim\.de\/steuern"))).to_have_attribute(
        "href", "https://www.mannheim.de/steuern")
    rows = [re.sub(r"\s+", " ", r).strip() for r in tax.locator("tr").all_inner_texts()]
    assert rows[0].startswith("Mo") and rows[0].endswith("08:00–12:00, 13:00–16:00 Uhr"), rows
    assert rows[1].startswith("Di") and rows[1].endswith("geschlossen"), rows
    assert [r[:2] for r in rows] == ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]
    expect(tax.locator("abbr").first).to_have_attribute("title", "Montag")
    expect(tax.locator(".kl-hours__title")).to_have_text("Sprechzeiten")
    expect(tax).to_contain_text("Sprechzeiten: Angabe von einer älteren Seite – bitte auf der verlinkten Seite prüfen.")
    expect(tax.locator(".kl-card__checked")).to_have_text("Kontaktdaten geprüft am 08.12.2026")

    general = widget.card("business_development")
    expect(general.locator(".kl-badge")).to_have_count(0)  # open_now unknown: no badge rather than a guess
    expect(general.get_by_role("link", name="0621 293-0")).to_have_attribute("href", "tel:06212930")
    expect(general.get_by_role("link", name="wirtschaft@example.org")).to_have_attribute(
        "href", "mailto:wirtschaft@example.org")
    expect(general.locator(".kl-hours table")).to_have_count(0)  # unsourced hours are never shown as fact
    expect(general.locator(".kl-hours")).to_contain_text(re.compile(r"Bitte auf der\s+Seite der Stelle.*prüfen\."))
    expect(general.locator(".kl-hours").get_by_role("link", name=re.compile("Seite der Stelle"))).to_have_attribute(
        "href", "https://www.mannheim.de/wirtschaft")
    expect(general).not_to_contain_text("älteren Seite")
    expect(general).to_contain_text("Deutsch, Englisch, Türkisch")
    # one feedback bar for the whole answer, on its first text message
    expect(widget.bot_turns.last.locator(".kl-feedback")).to_have_count(1)


def test_error_messages_are_marked_and_not_rated(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget, _ = start(page, [[{"text": "Der Krisenlotse ist gerade nicht erreichbar.", "error": "rasa_unavailable",
                               "message_id": "e1"}]])
    turn = widget.ask("Hallo?")
    error = turn.locator(".kl-msg--error")
    expect(error).to_contain_text("Hinweis: Der Krisenlotse ist gerade nicht erreichbar.")
    expect(turn.locator(".kl-feedback")).to_have_count(0)


def test_the_real_server_says_politely_when_rasa_is_down(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()  # the greeting request already gets the "not available" answer
    turn = widget.bot_turns.first
    expect(turn.locator(".kl-msg--error")).to_contain_text("Hinweis:")
    expect(turn.locator('.kl-card[data-unit-id="business_development"]')).to_have_count(1)


EMBED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Other site</title></head>
<body><h1>Another city page</h1>
<script src="{src}" defer data-title="Wirtschaftslotse" data-lang="de" data-position="left"
        data-color="#9ec5ee" data-start-message="Willkommen! Wie kann ich helfen?"></script>
</body></html>"""


def test_embedding_attributes(bare_browsing, bare_web_app) -> None:
    page = bare_browsing.new_page()
    page.route("**/embed-test.html", lambda route: route.fulfill(
        status=200, content_type="text/html", body=EMBED_PAGE.format(src=bare_web_app.url + "/widget.js")))
    page.goto("/embed-test.html")
    launcher = page.locator(".kl-launcher")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 100  # data-position="left"
    launcher.click()
    panel = page.get_by_role("dialog", name="Wirtschaftslotse")
    expect(panel).to_be_visible()
    expect(page.locator(".kl")).to_have_attribute("lang", "de")  # German UI on an English page
    # the light data-color is darkened until white text on it reaches 4.5:1
    ratio = page.locator(".kl-header").evaluate(
        """el => {
            const rgb = getComputedStyle(el).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number);
            const lin = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
            const lum = 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
            return 1.05 / (lum + 0.05);
        }""")
    assert ratio >= 4.5, ratio
    # a start message without a leading "/" is shown as the bot's welcome
    expect(page.locator(".kl-msg--bot").first).to_contain_text("Willkommen! Wie kann ich helfen?")
    page.get_by_role("button", name="Einverstanden").click()
    expect(page.get_by_label("Ihre Nachricht", exact=True)).to_be_enabled()
