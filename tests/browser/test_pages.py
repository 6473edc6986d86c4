"""The demo page, the privacy notice and the error page as a visitor sees them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INLINE_HANDLERS = "[onclick], [onload], [onerror], [onsubmit], [onmouseover], [onfocus], [onchange], [oninput]"


def test_demo_page_says_it_is_a_demo_and_embeds_the_widget(bare_browsing, bare_web_app) -> None:
    page = bare_browsing.new_page()
    response = page.goto("/")
    assert response is not None and response.status == 200
    expect(page).to_have_title(re.compile("Demoseite"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Wirtschaftsförderung – Hilfe für Unternehmen in der Krise")
    expect(page.get_by_role("note")).to_contain_text("keine offizielle Seite der Stadt Mannheim")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    scripts = page.locator("script:not([src])")
    expect(scripts).to_have_count(0)  # the CSP allows no inline scripts
    expect(page.locator(INLINE_HANDLERS)).to_have_count(0)
    widget_script = page.locator('script[src$="/widget.js"]')
    expect(widget_script).to_have_attribute("data-start-message", "/greet")
    expect(page.locator(".kl-launcher")).to_be_visible()
    page.wait_for_load_state("networkidle")
    bare_browsing.watch.assert_clean(bare_web_app.url)


def test_privacy_notice(bare_browsing, bare_web_app, axe) -> None:
    page = bare_browsing.new_page()
    response = page.goto("/datenschutz")
    assert response is not None and response.status == 200
    main = page.locator("main")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Datenschutz")
    for text in ("Ihre Nachrichten", "Bewertungen", "Adresse der Seite", "90 Tage nach der letzten Nachricht",
                 "Gespräch löschen", "Art. 6 Abs. 1",
                 # the real controller and data protection officer, from the city's published privacy pages
                 "Stadt Mannheim, Rathaus E 5, 68159 Mannheim", "stadtverwaltung@mannheim.de",
                 "Beauftragter für Datenschutz und Informationsfreiheit", "datenschutz@mannheim.de",
                 # what the contact form collects, who gets it, for how long
                 "Ihrer E-Mail-Adresse oder Telefonnummer", "Wirtschaftsförderung der Stadt Ihre Anfrage",
                 "180 Tage nach ihrer Erledigung", "poststelle@lfdi.bwl.de"):
        expect(main).to_contain_text(text)
    expect(main).not_to_contain_text("vom Betreiber einzutragen")  # no placeholder for what could be sourced
    expect(main).to_contain_text(re.compile(r"keine\s+Dienste\s+Dritter"))
    axe(page, "the privacy notice")
    bare_browsing.watch.assert_clean(bare_web_app.url)


def test_error_page(bare_browsing, axe) -> None:
    page = bare_browsing.new_page()
    response = page.goto("/gibt-es-nicht")
    assert response is not None and response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".error-code")).to_have_text("Fehler 404")  # bot/templates/error.html, not a fallback
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("/gibt-es-nicht")
    expect(page.get_by_role("link", name="Zur Startseite", exact=True)).to_have_attribute("href", "/")
    axe(page, "the error page")
