"""Escalation and live handover end to end, in two browser contexts against the real stack.

An entrepreneur asks for a person in the widget and fills the contact form; the action server hands the case
to the web app (internal API, token); a staff user of the routed unit logs in, sees the case in the queue,
takes the conversation over and replies; the entrepreneur sees the reply and answers; staff hand back and
the bot answers again; staff resolve the case; a staff user of another unit does not see it.

When the trained model has no escalation form yet (older model in models/), the case is created through the
internal API instead of the form (the rest of the test is the same).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebApp, open_context, start_web_app
from tests.browser.widget import ANSWER_TIMEOUT, Widget
from tools import stack

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]

PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - a throw-away test account
ROOT = Path(__file__).resolve().parents[2]
FORM_ANSWERS = [
    "Erika Muster",
    "Bäckerei Muster GmbH",
    "erika@example.org",
    "0621 123456",
    "Wir können die Gewerbesteuer gerade nicht zahlen und brauchen eine Stundung.",
]


def model_has(model: Path, *names: str) -> bool:
    """Whether the packed Rasa model's domain mentions all ``names``."""
    try:
        with tarfile.open(model) as tar:
            text = ""
            for member in tar.getmembers():
                if member.isfile() and member.size < 5_000_000 and member.name.endswith((".yml", ".json")):
                    handle = tar.extractfile(member)
                    text += handle.read().decode("utf-8", "replace") if handle else ""
    except (OSError, tarfile.TarError):
        return False
    return all(name in text for name in names)


@pytest.fixture(scope="module")
def handover_app(chromium_path, rasa_stack, tmp_path_factory) -> Iterator[WebApp]:
    """The web app on the port the action server hands cases to, with the shared internal token."""
    tmp = tmp_path_factory.mktemp("web_handover")
    app = start_web_app(tmp, rasa_stack.rasa_url, rasa_stack.token, rasa_stack.actions_url,
                        rasa_stack.tracker_db, port=rasa_stack.web_port,
                        extra_env={"KRISENLOTSE_INTERNAL_TOKEN": rasa_stack.internal_token})
    try:
        yield app
    finally:
        app.service.stop()


def database(app: WebApp) -> Path:
    return Path(app.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))


def add_user(app: WebApp, email: str, unit: str) -> None:
    env = {**stack.base_env(), "DATABASE_URL": app.env["DATABASE_URL"]}
    done = subprocess.run([sys.executable, "-m", "bot", "users", "add", "--email", email, "--name",
                           email.split("@")[0].title(), "--role", "staff", "--unit", unit, "--password-stdin"],
                          input=PASSWORD + "\n", env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def wait_for_case(app: WebApp, session_id: str, timeout: float = 60) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(database(app)) as db:
            row = db.execute("SELECT case_number, unit FROM cases WHERE session_id = ?", (session_id,)).fetchone()
        if row:
            return row[0], row[1]
        time.sleep(0.5)
    raise AssertionError(f"no case for the conversation after {timeout} s\n{app.service.tail()}")


def fill_form(widget: Widget) -> None:
    for answer in FORM_ANSWERS:
        widget.ask(answer)
    # preferred channel and consent: buttons when offered, else typed
    for pattern, typed in ((re.compile("E-Mail", re.I), "per E-Mail"), (re.compile("^Ja|einverstanden", re.I), "Ja")):
        turn = widget.bot_turns.last
        button = turn.locator(".kl-reply").filter(has_text=pattern)
        if button.count():
            widget.click_quick_reply(turn, index=_index(turn, pattern))
        else:
            widget.ask(typed)


def _index(turn: Any, pattern: re.Pattern[str]) -> int:
    titles = [b.strip() for b in turn.locator(".kl-reply").all_inner_texts()]
    return next(i for i, title in enumerate(titles) if pattern.search(title))


def create_case_via_api(app: WebApp, token: str, session_id: str) -> None:
    import json
    import urllib.request

    number = "KL-" + uuid.uuid4().hex[:4].upper() + "-" + uuid.uuid4().hex[:4].upper()
    body = json.dumps({
        "case_number": number, "session_id": session_id, "unit": "tax_office", "topic": "tax_relief",
        "priority": "normal", "trigger": "human_handoff",
        "contact": {"name": "Erika Muster", "company": "Bäckerei Muster GmbH", "email": "erika@example.org",
                    "preferred_channel": "email", "consent": True},
        "description": FORM_ANSWERS[-1],
    }).encode()
    request = urllib.request.Request(app.url + "/internal/v1/cases", data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback test server
        assert resp.status == 201


def login(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fälle")


def test_escalation_live_handover_and_resolution(browser, rasa_stack, handover_app) -> None:
    app = handover_app
    entrepreneur = open_context(browser, app.url, reduced_motion="reduce")
    staff = open_context(browser, app.url, reduced_motion="reduce")
    other = open_context(browser, app.url, reduced_motion="reduce")
    try:
        widget = Widget(entrepreneur.new_page()).goto("/")
        widget.open()
        widget.accept()
        session_id = widget.session()["id"]
        with_form = model_has(rasa_stack.model, "escalation_form", "action_handback")
        if with_form:
            widget.ask("Ich möchte mit einem Menschen sprechen")
            fill_form(widget)
        else:
            create_case_via_api(app, rasa_stack.internal_token, session_id)
        number, unit = wait_for_case(app, session_id)
        other_unit = "trade_office" if unit != "trade_office" else "tax_office"
        add_user(app, "sachbearbeitung@mannheim.de", unit)
        add_user(app, "andere@mannheim.de", other_unit)

        # staff of the routed unit: the case is in the queue
        console = staff.new_page()
        login(console, "sachbearbeitung@mannheim.de")
        expect(console.get_by_role("link", name=number)).to_be_visible()
        console.get_by_role("link", name=number).click()
        expect(console.get_by_role("heading", level=1)).to_contain_text(number)
        console.get_by_role("button", name=re.compile("Übernehmen")).click()
        expect(console.locator("#live-tag")).to_be_visible()

        # live: staff reply, the entrepreneur sees it labelled and answers; the bot stays silent
        console.get_by_label("Antwort an das Unternehmen").fill("Guten Tag, hier ist die Stadt. Wie kann ich helfen?")
        console.get_by_role("button", name="Senden").click()
        staff_msg = widget.page.locator(".kl-msg--staff")
        expect(staff_msg).to_contain_text("Mitarbeiterin/Mitarbeiter der Stadt", timeout=ANSWER_TIMEOUT)
        expect(staff_msg).to_contain_text("Wie kann ich helfen?")
        turns = widget.bot_turns.count()
        widget.input.fill("Ich brauche eine Stundung bis März.")
        widget.input.press("Enter")
        expect(console.locator("#transcript")).to_contain_text("Ich brauche eine Stundung bis März.",
                                                               timeout=ANSWER_TIMEOUT)
        widget.wait_idle()
        expect(widget.bot_turns).to_have_count(turns)  # no bot answer while staff have the conversation

        # hand back: the bot speaks again, and answers the next message
        console.get_by_role("button", name="An den Bot zurückgeben").click()
        if with_form:
            expect(widget.bot_turns).to_have_count(turns + 1, timeout=ANSWER_TIMEOUT)
        answer = widget.ask("Was ist Kurzarbeitergeld?")
        assert answer.inner_text().strip()

        # resolve
        console.get_by_label("Ergebnis (Pflicht)").fill("Stundung telefonisch besprochen.")
        console.get_by_role("button", name="Als erledigt markieren").click()
        expect(console.locator(".facts").first).to_contain_text("Erledigt")

        # another unit does not see the case
        stranger = other.new_page()
        login(stranger, "andere@mannheim.de")
        expect(stranger.get_by_role("link", name=number)).to_have_count(0)
        response = stranger.goto(f"/staff/cases/{number}")
        assert response is not None and response.status == 404
    finally:
        for context in (entrepreneur, staff, other):
            context.context.close()
    assert not entrepreneur.watch.errors and not staff.watch.errors, (entrepreneur.watch.errors,
                                                                      staff.watch.errors)


def test_thumbs_down_offers_a_person(browsing) -> None:
    """After 👎 the "Was hat gefehlt?" box offers "Mit einer Person sprechen", which sends /human_handoff."""
    widget = Widget(browsing.new_page()).goto("/")
    widget.open()
    widget.accept()
    answer = widget.ask("Wie beantrage ich Kurzarbeit?")
    answer.get_by_role("button", name="Nein, nicht hilfreich").click()
    person = answer.get_by_role("button", name="Mit einer Person sprechen")
    expect(person).to_be_visible()
    before = widget.bot_turns.count()
    person.click()
    expect(widget.user_messages.last).to_contain_text("Mit einer Person sprechen")
    expect(widget.bot_turns).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
    assert widget.bot_turns.last.inner_text().strip()
