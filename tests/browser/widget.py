"""Page object for the chat widget (its DOM lives in an open shadow root; Playwright's locators pierce it)."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

#: A real Rasa answer (NLU + action server + gateway) may take a while on a busy 2-core machine.
ANSWER_TIMEOUT = 60_000

DEEP_ACTIVE = """() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el) return null;
    return {tag: el.tagName.toLowerCase(), label: el.getAttribute('aria-label'),
            text: (el.textContent || '').trim().slice(0, 80), cls: el.className || '',
            inWidget: !!(el.getRootNode && el.getRootNode().host &&
                         el.getRootNode().host.id === 'krisenlotse-widget')};
}"""


class Widget:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator(".kl-launcher")
        self.panel = page.get_by_role("dialog", name="Krisenlotse")
        self.input = page.get_by_label("Ihre Nachricht", exact=True)
        self.consent = page.locator(".kl-consent")
        self.accept_button = page.get_by_role("button", name="Einverstanden")
        self.log = page.locator(".kl-log")
        self.bot_turns = page.locator(".kl-turn--bot")
        self.user_messages = page.locator(".kl-msg--user")
        self.typing = page.locator(".kl-typing")
        self.status = page.locator(".kl-status")
        self.new_button = page.get_by_role("button", name="Neues Gespräch")
        self.delete_button = page.get_by_role("button", name="Gespräch löschen")
        self.close_button = page.get_by_role("button", name="Chat schließen")

    # --- actions with the mouse ----------------------------------------------------------------

    def goto(self, path: str = "/") -> Widget:
        self.page.goto(path)
        expect(self.launcher).to_be_visible()
        return self

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def wait_connected(self) -> None:
        """Until the socket.io connection has joined the session's room (data-connection="online")."""
        expect(self.page.locator(".kl")).to_have_attribute("data-connection", "online", timeout=20_000)

    def accept(self) -> None:
        """Accept the privacy notice and wait for the bot's greeting (data-start-message="/greet")."""
        expect(self.consent).to_be_visible()
        self.accept_button.click()
        expect(self.input).to_be_enabled()
        expect(self.consent).to_be_hidden()
        expect(self.bot_turns).to_have_count(1, timeout=ANSWER_TIMEOUT)
        self.wait_idle()

    def wait_idle(self) -> None:
        expect(self.typing).to_be_hidden(timeout=ANSWER_TIMEOUT)

    def ask(self, text: str) -> Locator:
        """Send ``text`` and return the bot turn that answers it (after the bot stopped typing)."""
        before = self.bot_turns.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.bot_turns).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
        self.wait_idle()
        return self.bot_turns.nth(before)

    def click_quick_reply(self, turn: Locator, index: int = 0) -> tuple[str, Locator]:
        button = turn.locator(".kl-reply").nth(index)
        title = button.inner_text().strip()
        before = self.bot_turns.count()
        button.click()
        expect(self.bot_turns).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
        self.wait_idle()
        return title, self.bot_turns.nth(before)

    # --- reading -------------------------------------------------------------------------------

    def session(self) -> dict[str, Any]:
        return json.loads(self.page.evaluate("() => localStorage.getItem('krisenlotse:session')") or "null")

    def focused(self) -> dict[str, Any] | None:
        return self.page.evaluate(DEEP_ACTIVE)

    def expect_focus(self, locator: Locator) -> None:
        expect(locator).to_be_focused()

    def card(self, unit_id: str) -> Locator:
        return self.page.locator(f'.kl-card[data-unit-id="{unit_id}"]')

    # --- keyboard ------------------------------------------------------------------------------

    def tab_to(self, locator: Locator, *, backwards: bool = False, limit: int = 80) -> int:
        """Press (Shift+)Tab until ``locator`` has the focus; returns the number of key presses."""
        key = "Shift+Tab" if backwards else "Tab"
        handle = locator.element_handle()
        assert handle is not None
        for presses in range(1, limit + 1):
            self.page.keyboard.press(key)
            if self.page.evaluate(
                """(target) => {
                    let el = document.activeElement;
                    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
                    return el === target;
                }""",
                handle,
            ):
                return presses
        raise AssertionError(f"{key} never reached {locator} in {limit} presses (focus: {self.focused()})")


def bot_text(turn: Locator) -> str:
    return " ".join(t.strip() for t in turn.locator(".kl-msg--bot").all_inner_texts())


QUESTION = "Wie beantrage ich Kurzarbeit für meine Mitarbeiter?"
OPEN_OR_CLOSED = re.compile(r"^(✓\s*Jetzt erreichbar|✕\s*Derzeit nicht erreichbar)$")
