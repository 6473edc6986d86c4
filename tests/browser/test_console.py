"""The staff console in headless Chromium against the real web app (Rasa down is fine here): login, queue,
case page, taking a conversation over and replying; no JavaScript errors, no CSP violations (no inline
scripts), no serious axe violations, keyboard focus visible; a staff reply shows up labelled in the widget."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TABLET, open_context
from tests.browser.widget import Widget
from tools import stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - a throw-away test account
ROOT = Path(__file__).resolve().parents[2]


def add_user(app: Any, email: str, unit: str, role: str = "staff") -> None:
    env = {**stack.base_env(), "DATABASE_URL": app.env["DATABASE_URL"]}
    done = subprocess.run([sys.executable, "-m", "bot", "users", "add", "--email", email, "--name", "Erika Beispiel",
                           "--role", role, "--unit", unit, "--password-stdin"], input=PASSWORD + "\n", env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 or "exists already" in done.stderr, done.stderr


def create_case(app: Any, session_id: str) -> str:
    number = f"KL-{uuid.uuid4().hex[:4].upper()}-{uuid.uuid4().hex[:4].upper()}"
    body = json.dumps({"case_number": number, "session_id": session_id, "unit": "tax_office",
                       "priority": "high", "trigger": "urgent", "urgent_signals": ["insolvency"],
                       "contact": {"name": "<b>Erika</b>", "company": "Bäckerei Muster", "email": "e@example.org",
                                   "consent": True},
                       "description": "Stundung <script>alert(1)</script>"}).encode()
    request = urllib.request.Request(app.url + "/internal/v1/cases", data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback test server
        assert resp.status == 201
    return number


def login(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill("konsole@mannheim.de")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fälle")


def test_console_pages_live_reply_and_accessibility(browser, bare_web_app, axe) -> None:
    add_user(bare_web_app, "konsole@mannheim.de", "tax_office")
    entrepreneur = open_context(browser, bare_web_app.url, reduced_motion="reduce")
    staff = open_context(browser, bare_web_app.url, viewport=TABLET, reduced_motion="reduce")
    try:
        widget = Widget(entrepreneur.new_page()).goto("/")
        widget.open()
        widget.accept_button.click()
        expect(widget.input).to_be_enabled()
        session_id = widget.session()["id"]
        number = create_case(bare_web_app, session_id)

        page = staff.new_page()
        page.goto("/login")
        axe(page, "login page")
        login(page)
        link = page.get_by_role("link", name=number)
        expect(link).to_be_visible()
        axe(page, "queue")
        page.get_by_role("button", name="Ton bei neuen Fällen: aus").click()
        expect(page.get_by_role("button", name="Ton bei neuen Fällen: an")).to_have_attribute("aria-pressed", "true")
        link.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(number)
        expect(page.locator("body")).to_contain_text("<script>alert(1)</script>")  # shown as text
        axe(page, "case page")
        page.get_by_role("button", name="Übernehmen (live chatten)").click()
        reply = page.get_by_label("Antwort an das Unternehmen")
        reply.fill("Guten Tag, hier ist das Steueramt.")
        reply.press("Tab")
        assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.get_by_role("button", name="Senden").click()
        expect(page.locator("#transcript")).to_contain_text("Guten Tag, hier ist das Steueramt.")
        staff_message = widget.page.locator(".kl-msg--staff")
        expect(staff_message).to_contain_text("Mitarbeiterin/Mitarbeiter der Stadt")
        expect(staff_message).to_contain_text("Guten Tag, hier ist das Steueramt.")
        errors_before = widget.page.locator(".kl-msg--error").count()  # the greeting failed: Rasa is down
        widget.input.fill("Danke, ich hätte eine Frage zur Stundung.")
        widget.input.press("Enter")
        expect(page.locator("#transcript")).to_contain_text("Danke, ich hätte eine Frage zur Stundung.")
        widget.page.wait_for_timeout(1000)
        expect(widget.page.locator(".kl-msg--error")).to_have_count(errors_before)  # Rasa was not asked
        expect(widget.page.locator(".kl-status")).not_to_contain_text("Keine Antwort")
        # after a reload the history shows the staff reply labelled as well
        widget.page.reload()
        widget.open()
        expect(widget.page.locator(".kl-msg--staff")).to_contain_text("Mitarbeiterin/Mitarbeiter der Stadt")
    finally:
        entrepreneur.context.close()
        staff.context.close()
    staff.watch.assert_clean(bare_web_app.url)
    assert not entrepreneur.watch.errors
