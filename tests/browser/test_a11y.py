"""Accessibility (WCAG 2.1 AA / BITV 2.0): axe-core on every state of the widget, live announcements,
reduced motion. axe-core is vendored in tests/browser/vendor/ (MPL-2.0) and injected into the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, open_context
from tests.browser.widget import QUESTION, Widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_axe_demo_page_and_consent_screen(bare_browsing, axe) -> None:
    page = bare_browsing.new_page()
    widget = Widget(page).goto("/")
    axe(page, "the demo page (widget closed)")
    widget.open()
    expect(widget.consent).to_be_visible()
    axe(page, "the demo page with the consent screen open")


def test_axe_on_a_phone(browser, bare_web_app, axe) -> None:
    b = open_context(browser, bare_web_app.url, viewport=PHONE, reduced_motion="reduce")
    try:
        page = b.new_page()
        widget = Widget(page).goto("/")
        axe(page, "the demo page at 360 px")
        widget.open()
        axe(page, "the consent screen at 360 px")
    finally:
        b.context.close()


@pytest.mark.e2e
def test_axe_after_an_answer_with_a_contact_card(browsing, axe) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()
    answer = widget.ask(QUESTION)
    expect(answer.locator('.kl-card[data-unit-id="employment_agency"]')).to_be_visible()
    axe(page, "the panel after an answer with a contact card")
    answer.get_by_role("button", name="Nein, nicht hilfreich").click()
    expect(answer.get_by_label("Was hat gefehlt? (optional)")).to_be_visible()
    axe(page, "the open feedback form")
    widget.delete_button.click()
    expect(page.get_by_role("button", name="Ja, endgültig löschen")).to_be_visible()
    axe(page, "the delete confirmation")


@pytest.mark.e2e
def test_new_bot_messages_are_announced_politely(browsing) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    live = page.locator('.kl-panel [aria-live="polite"]')
    expect(live).to_have_count(1)
    widget.accept()
    widget.ask(QUESTION)
    expect(live).to_contain_text("Kurzarbeit")
    expect(live).to_contain_text(re.compile(r"Kontakt: .*Agentur für Arbeit"))
    # the transcript itself is not a live region (no double announcements), the status line is one
    expect(widget.log).not_to_have_attribute("aria-live", re.compile(".*"))
    expect(widget.status).to_have_attribute("role", "status")


def test_every_control_has_a_name_and_a_visible_focus(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    unnamed = page.evaluate(
        """() => {
            const root = document.querySelector('#krisenlotse-widget').shadowRoot;
            return [...root.querySelectorAll('button, textarea, a[href]')]
                .filter(el => !(el.getAttribute('aria-label') || el.textContent.trim() ||
                                (el.id && root.querySelector(`label[for="${el.id}"]`))))
                .map(el => el.outerHTML.slice(0, 120));
        }"""
    )
    assert not unnamed, unnamed
    widget.tab_to(widget.accept_button)
    outline = widget.accept_button.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert outline[0] != "none" and outline[1] >= 2, outline


def test_reduced_motion_switches_animations_off(browser, bare_web_app) -> None:
    for motion, expected in (("reduce", "none"), ("no-preference", "kl-in")):
        b = open_context(browser, bare_web_app.url, reduced_motion=motion)
        try:
            page = b.new_page()
            widget = Widget(page).goto("/")
            widget.open()
            assert widget.panel.evaluate("el => getComputedStyle(el).animationName") == expected
        finally:
            b.context.close()
