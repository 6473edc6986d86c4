"""The NLU inbox (/ops/inbox) in headless Chromium against the real web app (``python -m bot``; Rasa is not
needed: the transcripts are seeded into its database the way the gateway stores them). Labelling with the
keyboard only: move, confirm, select several, pick another intent, ignore; the examples land in a COPY of the
project's training data. No JavaScript errors, no CSP violations, no serious axe violations."""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from bot.db import make_engine
from tests.bot.test_ops_inbox import bot, seed, user
from tests.bot.test_ops_nlu_data import copy_project
from tests.browser.conftest import WebApp, open_context, start_web_app
from tools import stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - a throw-away test account
ROOT = Path(__file__).resolve().parents[2]
EMAIL = "leitstelle@mannheim.de"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("inbox") / "project")


@pytest.fixture(scope="module")
def inbox_app(chromium_path: Path, project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    tmp = tmp_path_factory.mktemp("inbox_web")
    dead = f"http://127.0.0.1:{stack.free_port()}"
    app = start_web_app(tmp, dead, secrets.token_urlsafe(24), dead, tmp / "tracker.db",
                        extra_env={"KRISENLOTSE_PROJECT_DIR": str(project)})
    try:
        env = {**stack.base_env(), "DATABASE_URL": app.env["DATABASE_URL"]}
        done = subprocess.run([sys.executable, "-m", "bot", "users", "add", "--email", EMAIL, "--name",
                               "Olga Leitstelle", "--role", "operator", "--password-stdin"], input=PASSWORD + "\n",
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        yield app
    finally:
        app.service.stop()


def seed_inbox(app: WebApp) -> None:
    async def run() -> None:
        engine = make_engine(app.env["DATABASE_URL"])
        try:
            await seed(engine, [user("asdf jklö qwertz", intent="greet", confidence=0.2), bot()])
            for _ in range(3):
                await seed(engine, [user("Kann ich die Hundesteuer stunden?"), bot()])
            for _ in range(2):
                await seed(engine, [user("unser laden hat kein geld mehr für die miete",
                                         intent="emergency_aid", confidence=0.41), bot()])
            await seed(engine, [user("gibts nen kredit für die neue kühltheke", intent="digitalization_funding",
                                     confidence=0.38), bot()])
        finally:
            await engine.dispose()

    # Playwright's sync API owns this thread's event loop: seed from another thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


def examples(project: Path, intent: str) -> list[str]:
    path = project / "data" / "nlu" / "operator" / f"{intent}.yml"
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [line[2:] for entry in doc["nlu"] if entry["intent"] == intent
            for line in entry["examples"].splitlines()]


def items(page: Any) -> Any:
    return page.locator(".inbox-item")


def test_keyboard_labelling(browser: Any, inbox_app: WebApp, project: Path, axe: Any) -> None:
    seed_inbox(inbox_app)
    browsing = open_context(browser, inbox_app.url, reduced_motion="reduce")
    page = browsing.new_page()
    page.goto("/login?next=/ops/inbox")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nicht verstanden")
    expect(items(page)).to_have_count(4)
    # most frequent first, with the bot's top three intents
    expect(items(page).nth(0)).to_contain_text("„Kann ich die Hundesteuer stunden?“")
    expect(items(page).nth(0)).to_contain_text("3×")
    expect(items(page).nth(0).locator("button.rank")).to_have_count(3)
    axe(page, "/ops/inbox")

    # j: first message; b: confirm the bot's suggestion (tax_relief)
    page.keyboard.press("j")
    expect(items(page).nth(0)).to_be_focused()
    page.keyboard.press("b")
    expect(page.locator("#inbox-status")).to_have_text("1 als Trainingsbeispiel gespeichert.")
    expect(items(page)).to_have_count(3)
    expect(items(page).nth(0)).to_be_focused()  # the next message, ready for the next key
    assert examples(project, "tax_relief") == ["Kann ich die Hundesteuer stunden?"]

    # x, j, x: two selected; a: search another intent, Enter assigns it to both
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selection-count")).to_have_text("2 ausgewählt – Aktionen gelten für die Auswahl.")
    page.keyboard.press("a")
    expect(page.get_by_label("Anderes Intent")).to_be_focused()
    page.keyboard.type("loans_liquidity")
    page.keyboard.press("Enter")
    expect(page.locator("#inbox-status")).to_have_text("2 als Trainingsbeispiel gespeichert.")
    expect(items(page)).to_have_count(1)
    assert sorted(examples(project, "loans_liquidity")) == ["gibts nen kredit für die neue kühltheke",
                                                           "unser laden hat kein geld mehr für die miete"]

    # shortcuts can be switched off (WCAG 2.1.4): then i does nothing
    page.locator("summary", has_text="Tastenkürzel").click()
    page.get_by_label("Tastenkürzel einschalten").uncheck()
    items(page).nth(0).focus()
    page.keyboard.press("i")
    expect(items(page)).to_have_count(1)
    page.get_by_label("Tastenkürzel einschalten").check()
    items(page).nth(0).focus()
    page.keyboard.press("i")
    expect(items(page)).to_have_count(0)
    expect(page.locator("#inbox-status")).to_contain_text("1 ausgeblendet.")
    expect(page.locator("#inbox-count")).to_have_text("0")
    assert not (project / "data" / "nlu" / "operator" / "greet.yml").exists()

    page.reload()
    expect(page.get_by_text("Keine offenen Nachrichten.")).to_be_visible()
    axe(page, "/ops/inbox (leer)")
    browsing.context.close()
    browsing.watch.assert_clean(inbox_app.url)
