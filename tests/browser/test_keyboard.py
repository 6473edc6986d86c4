"""The whole conversation with the keyboard alone (Tab, Shift+Tab, Enter, Escape, typing; no mouse)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, open_context
from tests.browser.widget import ANSWER_TIMEOUT, QUESTION, Widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_for_turns(widget: Widget, count: int) -> None:
    expect(widget.bot_turns).to_have_count(count, timeout=ANSWER_TIMEOUT)
    widget.wait_idle()


@pytest.mark.e2e
def test_keyboard_only_conversation(browsing) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    keys = page.keyboard

    # the launcher is the last control of the page: Shift+Tab from the top reaches it at once
    assert widget.tab_to(widget.launcher, backwards=True, limit=3) == 1
    keys.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.accept_button).to_be_focused()
    keys.press("Enter")
    expect(widget.input).to_be_focused()
    wait_for_turns(widget, 1)  # greeting

    keys.type(QUESTION)
    keys.press("Enter")
    wait_for_turns(widget, 2)
    answer = widget.bot_turns.nth(1)
    expect(answer.locator('.kl-card[data-unit-id="employment_agency"]')).to_have_count(1)
    expect(widget.input).to_be_focused()

    # from the input, Shift+Tab reaches the answer's feedback buttons, then its quick replies
    widget.tab_to(answer.get_by_role("button", name="Nein, nicht hilfreich"), backwards=True, limit=3)
    reply = answer.locator(".kl-reply").first
    title = reply.inner_text().strip()
    widget.tab_to(reply, backwards=True, limit=10)
    keys.press("Enter")
    wait_for_turns(widget, 3)
    expect(widget.user_messages.last).to_contain_text(title)
    expect(widget.input).to_be_focused()

    # 👎 with a comment
    follow_up = widget.bot_turns.nth(2)
    down = follow_up.get_by_role("button", name="Nein, nicht hilfreich")
    widget.tab_to(down, backwards=True, limit=3)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")):
        keys.press("Enter")
    comment = follow_up.get_by_label("Was hat gefehlt? (optional)")
    expect(comment).to_be_focused()
    keys.type("Ein Beispiel hätte geholfen.")
    keys.press("Tab")
    expect(follow_up.get_by_role("button", name="Rückmeldung senden")).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")) as sent:
        keys.press("Enter")
    assert sent.value.status == 204
    expect(follow_up.locator(".kl-feedback")).to_contain_text("Danke")

    # Escape closes the dialog and gives the focus back to the launcher
    keys.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")

    # reload: the transcript is there again, still without a mouse
    page.reload()
    widget = Widget(page)
    widget.tab_to(widget.launcher, backwards=True, limit=3)
    keys.press("Enter")
    expect(widget.input).to_be_focused()
    expect(widget.bot_turns).to_have_count(3)
    expect(widget.card("employment_agency").first).to_be_visible()

    # delete: the confirmation takes the focus, Escape there cancels, then delete for real
    widget.tab_to(widget.delete_button, backwards=True)
    keys.press("Enter")
    expect(page.get_by_role("button", name="Abbrechen")).to_be_focused()
    keys.press("Escape")
    expect(page.get_by_role("button", name="Abbrechen")).to_be_hidden()
    expect(widget.delete_button).to_be_focused()
    keys.press("Enter")
    keys.press("Shift+Tab")
    expect(page.get_by_role("button", name="Ja, endgültig löschen")).to_be_focused()
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        keys.press("Enter")
    assert deleted.value.status == 204
    expect(widget.user_messages).to_have_count(0)
    expect(widget.accept_button).to_be_focused()
    keys.press("Escape")
    expect(widget.launcher).to_be_focused()


def test_page_button_opens_the_chat_and_gets_the_focus_back(bare_browsing) -> None:
    page = bare_browsing.new_page()
    widget = Widget(page).goto("/")
    opener = page.get_by_role("button", name="Krisenlotse fragen")
    widget.tab_to(opener)
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.accept_button).to_be_focused()
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(opener).to_be_focused()


def test_phone_panel_is_full_screen_and_keeps_the_focus(browser, bare_web_app) -> None:
    b = open_context(browser, bare_web_app.url, viewport=PHONE, reduced_motion="reduce", has_touch=True)
    try:
        page = b.new_page()
        widget = Widget(page).goto("/")
        widget.tab_to(widget.launcher, backwards=True, limit=3)
        page.keyboard.press("Enter")
        expect(widget.panel).to_be_visible()
        box = widget.panel.bounding_box()
        assert box is not None
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, PHONE["width"], PHONE["height"])
        expect(widget.panel).to_have_attribute("aria-modal", "true")
        expect(widget.launcher).to_be_hidden()  # covered by the panel; it comes back on close
        # Tab cycles inside the full-screen dialog, never into the page behind it
        seen = set()
        for _ in range(14):
            page.keyboard.press("Tab")
            focus = widget.focused()
            assert focus and focus["inWidget"], f"focus left the dialog: {focus}"
            seen.add(focus["label"] or focus["text"])
        assert {"Chat schließen", "Einverstanden", "Nein, danke"} <= seen
        page.keyboard.press("Escape")
        expect(widget.launcher).to_be_focused()
        # no horizontal scrolling on a 360 px phone
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        b.context.close()
    assert not b.watch.errors
