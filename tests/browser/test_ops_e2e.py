"""From a misunderstood message to a better model and back, end to end through the real services: a message
the active model gets wrong (asked in the widget) appears in the NLU inbox; an admin labels it there with the
keyboard; training starts in /ops/models (the fast test configuration, on a COPY of the project) with live
progress; the evaluation shows the comparison with the active model; activation switches the running Rasa
(``PUT /model``); the same message asked in the widget is now classified right; rollback returns the old
behaviour. Own Rasa + action server (the session's ``rasa_stack`` keeps its model untouched)."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.bot.test_ops_models import FAST_CONFIG, copy_project
from tests.browser.conftest import WebApp, open_context, start_web_app
from tests.browser.widget import Widget
from tests.support.stack import skip_or_fail
from tools import stack
from tools.run import active_model

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - a throw-away test account
EMAIL = "admin-modelle@mannheim.de"
# The project's model (40 epochs) answers this with digitalization_funding (0.53: below the inbox threshold).
MESSAGE = "Ist mein Kiosk systemrelevant?"
RIGHT = "business_operations_rules"
TRAINING_TIMEOUT = 20 * 60 * 1000  # ms: a fast training + evaluation on two busy cores
SWAP_TIMEOUT = 10 * 60 * 1000  # ms: the form post returns once Rasa has loaded the model


@dataclass
class Services:
    web: WebApp
    rasa_url: str
    token: str
    project: Path
    models: Path
    original: str


@pytest.fixture(scope="module")
def services(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    model = active_model() or stack.latest_model()
    if model is None:
        skip_or_fail("no trained Rasa model in models/ (run `make train`)")
    if not (stack.RASA_VENV / "bin" / "rasa").exists():
        skip_or_fail(f"no Rasa environment at {stack.RASA_VENV} (run `make install`)")
    tmp = tmp_path_factory.mktemp("ops_e2e")
    project = copy_project(tmp / "project")
    models = tmp / "models"
    models.mkdir()
    shutil.copy(model, models / model.name)
    token, actions_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    actions_port, rasa_port = stack.free_port(), stack.free_port()
    tracker_db = tmp / "tracker.db"
    endpoints = stack.write_endpoints(tmp / "endpoints.yml", actions_port, actions_token, tracker_db)
    actions = stack.actions_service(actions_port, actions_token, tmp, outbox_db=tmp / "outbox.db")
    rasa = stack.rasa_service(rasa_port, token, models / model.name, endpoints, tmp)
    actions.start()
    rasa.start()
    web = None
    try:
        actions.wait_ready(120)
        rasa.wait_ready(300, stack.model_loaded)
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        web = start_web_app(tmp / "web", rasa_url, token, f"http://127.0.0.1:{actions_port}", tracker_db,
                            extra_env={"KRISENLOTSE_PROJECT_DIR": str(project),
                                       "KRISENLOTSE_MODELS_DIR": str(models),
                                       "KRISENLOTSE_TRAIN_CONFIG": str(FAST_CONFIG)})
        env = {**stack.base_env(), "DATABASE_URL": web.env["DATABASE_URL"]}
        done = subprocess.run([sys.executable, "-m", "bot", "users", "add", "--email", EMAIL, "--name",
                               "Ada Admin", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n",
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        yield Services(web, rasa_url, token, project, models, model.name)
    finally:
        if web is not None:
            web.service.stop()
        rasa.stop()
        actions.stop()


def rasa_model(services: Services) -> str:
    status, body = stack.http_get(f"{services.rasa_url}/status?token={services.token}", 10)
    assert status == 200, status
    return json.loads(body)["model_file"]


def intent_of_last_message(services: Services, session_id: str) -> str:
    status, body = stack.http_get(f"{services.rasa_url}/conversations/{session_id}/tracker?token={services.token}",
                                  10)
    assert status == 200, status
    return json.loads(body)["latest_message"]["intent"]["name"]


def ask_in_widget(browser: Any, services: Services) -> str:
    """A fresh conversation in the widget asks MESSAGE; returns the intent Rasa recognised."""
    entrepreneur = open_context(browser, services.web.url, reduced_motion="reduce")
    try:
        widget = Widget(entrepreneur.new_page()).goto("/")
        widget.open()
        widget.accept()
        widget.ask(MESSAGE)
        return intent_of_last_message(services, widget.session()["id"])
    finally:
        entrepreneur.context.close()


def test_label_train_evaluate_activate_and_roll_back(browser: Any, services: Services, axe: Any) -> None:
    assert rasa_model(services) == services.original
    assert ask_in_widget(browser, services) != RIGHT  # the active model gets it wrong

    staff = open_context(browser, services.web.url, reduced_motion="reduce")
    page = staff.new_page()
    page.goto("/login?next=/ops/inbox")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nicht verstanden")

    # the message is in the inbox; label it with the keyboard: "j" to it, "a", type the intent, Enter
    item = page.locator(".inbox-item", has_text=MESSAGE)
    for _ in range(20):  # the gateway records Rasa's intent and confidence in the background
        if item.count():
            break
        time.sleep(0.5)
        page.reload()
    expect(item).to_have_count(1)
    page.keyboard.press("j")  # the first (only) message; proves the page's shortcuts are ready
    expect(item).to_be_focused()
    page.keyboard.press("a")
    expect(page.get_by_label("Anderes Intent")).to_be_focused()
    page.keyboard.type(RIGHT)
    page.keyboard.press("Enter")
    expect(page.locator("#inbox-status")).to_contain_text("1 als Trainingsbeispiel gespeichert.")
    assert MESSAGE in (services.project / "data" / "nlu" / "operator" / f"{RIGHT}.yml").read_text(encoding="utf-8")

    # train: live progress, then the page shows the new model's evaluation next to the active model's
    page.get_by_role("link", name="Modelle").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modelle")
    expect(page.locator("#rasa-model")).to_contain_text("(stimmt überein)")
    expect(page.get_by_text("1 seit dem aktiven Modell")).to_be_visible()
    axe(page, "/ops/models")
    page.get_by_role("button", name="Training starten").click()
    expect(page.locator("#job-state")).to_contain_text("Training: läuft")
    expect(page.get_by_role("button", name="Training starten")).to_be_disabled()
    expect(page.locator("#job-state")).to_contain_text("DIET Epoche", timeout=TRAINING_TIMEOUT)
    heading = page.get_by_role("heading", name="Bewertung von Modell #2 im Vergleich mit dem aktiven Modell #1")
    expect(heading).to_be_visible(timeout=TRAINING_TIMEOUT)
    expect(page.locator("#job-state")).to_contain_text("Training: fertig")
    comparison = page.locator("#comparison")
    expect(comparison).to_contain_text("Makro-F1")
    expect(comparison.locator("thead")).to_contain_text("Aktiv: #1")
    expect(page.locator("svg.confusion")).to_be_visible()
    axe(page, "/ops/models (Bewertung)")

    # activate: the gate passes, or (the fast model may be worse than the 40-epoch one) the admin overrides it
    verdict = page.locator("#gate-verdict").inner_text()
    if "verweigert" in verdict:
        page.get_by_label("Begründung für das Erzwingen").fill("Ende-zu-Ende-Test mit der schnellen Konfiguration.")
        page.get_by_role("button", name="Trotzdem aktivieren").click(timeout=SWAP_TIMEOUT)
    else:
        page.get_by_role("button", name="Modell #2 aktivieren").click(timeout=SWAP_TIMEOUT)
    notice = page.locator("p.notice[role=status]:not(#swap-status)")
    expect(notice).to_contain_text("Modell #2 ist aktiv; Rasa hat es in", timeout=SWAP_TIMEOUT)
    new_file = (services.models / "active.txt").read_text(encoding="utf-8").strip()
    assert new_file != services.original and rasa_model(services) == new_file
    expect(page.locator("#rasa-model")).to_contain_text(new_file)
    assert ask_in_widget(browser, services) == RIGHT  # the same message, now understood

    # one click back to the old model: the old behaviour returns
    page.get_by_role("button", name="Zurück zu Modell #1").click(timeout=SWAP_TIMEOUT)
    expect(notice).to_contain_text("Zurückgerollt: Modell #1 ist wieder aktiv", timeout=SWAP_TIMEOUT)
    assert rasa_model(services) == services.original
    assert ask_in_widget(browser, services) != RIGHT
    staff.context.close()
    staff.watch.assert_clean(services.web.url)
