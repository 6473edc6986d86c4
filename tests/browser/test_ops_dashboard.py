"""The operator dashboard (/ops) in headless Chromium against the real web app (Rasa down is fine here):
charts render as accessible images, the tables open, the range form works from the keyboard, no JavaScript
errors, no CSP violations, no requests to other servers, no serious axe violations (desktop and phone)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.db import make_engine
from tests.bot.test_ops_dashboard import seed_engine
from tests.browser.conftest import PHONE, open_context
from tools import stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - a throw-away test account
ROOT = Path(__file__).resolve().parents[2]
EMAIL = "leitstelle@mannheim.de"
RANGE = "/ops?from=2026-03-27&to=2026-03-30"


def add_operator(app: Any) -> None:
    env = {**stack.base_env(), "DATABASE_URL": app.env["DATABASE_URL"]}
    done = subprocess.run([sys.executable, "-m", "bot", "users", "add", "--email", EMAIL, "--name", "Olga Betrieb",
                           "--role", "operator", "--password-stdin"], input=PASSWORD + "\n", env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 or "exists already" in done.stderr, done.stderr


def seed(app: Any) -> None:
    async def run() -> None:
        engine = make_engine(app.env["DATABASE_URL"])
        try:
            await seed_engine(engine, f"b{uuid.uuid4().hex[:8]}")
        finally:
            await engine.dispose()

    # Playwright's sync API keeps an event loop running in this thread: seed from another one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


def login(page: Any, target: str) -> None:
    page.goto(f"/login?next={target.replace('?', '%3F').replace('&', '%26')}")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Übersicht")


@pytest.fixture(scope="module")
def seeded_app(bare_web_app: Any) -> Any:
    add_operator(bare_web_app)
    seed(bare_web_app)
    return bare_web_app


def test_dashboard_charts_tables_and_accessibility(browser, seeded_app, axe) -> None:
    b = open_context(browser, seeded_app.url, reduced_motion="reduce")
    try:
        page = b.new_page()
        login(page, RANGE)
        assert page.url.endswith(RANGE)
        expect(page.get_by_role("link", name="Übersicht")).to_have_attribute("aria-current", "page")
        charts = page.get_by_role("img")
        expect(charts).to_have_count(7)
        expect(page.get_by_role("img", name="Gespräche pro Tag")).to_be_visible()
        expect(page.get_by_role("img", name="Fälle pro Stelle", exact=True)).to_be_visible()
        expect(page.get_by_role("img", name="Gespräche pro Tag", exact=True)).to_have_accessible_description(
            re.compile(r"^Säulendiagramm: Gespräche pro Tag vom 27\.03\.2026 bis 30\.03\.2026; insgesamt \d+"))
        box = page.get_by_role("img", name="Gespräche pro Tag").bounding_box()
        assert box and box["width"] > 600 and box["height"] > 150, box
        # the key figures (several helpers may seed the shared app: at least ours are there)
        expect(page.locator(".key-figures")).to_contain_text("Eskalationsquote")
        # the table behind a chart opens and shows the same figures
        details = page.locator("#chart-gespraeche details")
        table = details.get_by_role("table")
        expect(table).to_be_hidden()
        details.locator("summary").click()
        expect(table).to_be_visible()
        expect(table.get_by_role("row", name="29.03.2026 0")).to_be_visible()
        axe(page, "the dashboard with data (desktop)")
        if shots := os.environ.get("KRISENLOTSE_SCREENSHOTS"):
            page.screenshot(path=str(Path(shots) / "ops-dashboard.png"), full_page=True)

        # the range form from the keyboard: Tab reaches the button with a visible focus; Enter in a date
        # field sends the form; an empty range shows empty states
        page.get_by_label("Von", exact=True).fill("2025-01-01")
        page.get_by_label("Bis", exact=True).fill("2025-01-05")
        button = page.get_by_role("button", name="Anzeigen")
        for _ in range(8):  # a date field has a stop per part (day, month, year, picker)
            if button.evaluate("el => el === document.activeElement"):
                break
            page.keyboard.press("Tab")
        expect(button).to_be_focused()
        assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.get_by_label("Bis", exact=True).press("Enter")
        expect(page.get_by_text("Keine Daten im gewählten Zeitraum")).to_have_count(7)
        expect(page.get_by_role("img")).to_have_count(0)
        axe(page, "the dashboard without data")

        # a bad range: a friendly message, the fields marked invalid
        seen = len(b.watch.console_errors)
        page.goto("/ops?from=2026-03-30&to=2026-03-01")
        expect(page.get_by_role("alert")).to_contain_text("Startdatum liegt nach dem Enddatum")
        expect(page.get_by_label("Von", exact=True)).to_have_attribute("aria-invalid", "true")
        axe(page, "the dashboard with a bad range")
        # the page itself answers 400 (Bad Request): Chromium logs that, and nothing else may appear
        assert [e for e in b.watch.console_errors[seen:] if "400 (Bad Request)" not in e] == []
        del b.watch.console_errors[seen:]
    finally:
        b.context.close()
    b.watch.assert_clean(seeded_app.url)


def test_dashboard_on_a_phone(browser, seeded_app, axe) -> None:
    b = open_context(browser, seeded_app.url, viewport=PHONE, reduced_motion="reduce")
    try:
        page = b.new_page()
        login(page, RANGE)
        expect(page.get_by_role("img")).to_have_count(7)
        # the page itself does not scroll sideways; a wide chart scrolls inside its focusable box
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        axe(page, "the dashboard at 360 px")
        if shots := os.environ.get("KRISENLOTSE_SCREENSHOTS"):
            page.screenshot(path=str(Path(shots) / "ops-dashboard-phone.png"), full_page=False)
    finally:
        b.context.close()
    b.watch.assert_clean(seeded_app.url)
