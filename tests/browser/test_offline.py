"""The widget reconnects by itself and shows a quiet status line while the server is away."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebApp, start_web_app
from tests.browser.widget import Widget
from tools import stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def own_web_app(chromium_path, tmp_path) -> Iterator[WebApp]:
    """A web app (without Rasa) that this test may stop and start again on the same port."""
    dead = f"http://127.0.0.1:{stack.free_port()}"
    app = start_web_app(tmp_path, dead, secrets.token_urlsafe(24), dead, tmp_path / "tracker.db")
    try:
        yield app
    finally:
        app.service.stop()


def test_offline_status_and_automatic_reconnect(browser, own_web_app) -> None:
    from tests.browser.conftest import open_context

    b = open_context(browser, own_web_app.url, reduced_motion="reduce")
    try:
        page = b.new_page()
        widget = Widget(page).goto("/")
        widget.open()
        widget.accept()
        expect(widget.status).to_have_text("")

        own_web_app.service.stop()
        expect(widget.status).to_contain_text("Keine Verbindung", timeout=15_000)
        expect(widget.status).to_have_attribute("role", "status")

        expect(page.locator(".kl")).to_have_attribute("data-connection", "offline")

        own_web_app.start()  # same port, same database
        expect(widget.status).not_to_contain_text("Keine Verbindung", timeout=30_000)
        widget.wait_connected()
        # the conversation goes on over the new connection (Rasa is down: a polite error answer)
        before = widget.bot_turns.count()
        widget.ask("Sind Sie wieder da?")
        expect(widget.bot_turns).to_have_count(before + 1)
        expect(widget.user_messages.last).to_contain_text("Sind Sie wieder da?")
    finally:
        b.context.close()
    assert not b.watch.errors, b.watch.errors
