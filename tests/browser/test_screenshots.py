"""Screenshots of the widget in use (desktop and a 360 px phone) on the real stack.

They are written to the test's temporary folder; with KRISENLOTSE_UPDATE_SCREENSHOTS=1 they also replace
docs/screenshot-widget.png and docs/screenshot-widget-mobile.png (the pictures in the README).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, open_context
from tests.browser.widget import QUESTION, Widget

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def publish(shot: Path, name: str) -> None:
    if os.environ.get("KRISENLOTSE_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS / name)


@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "screenshot-widget.png"),
                                                (PHONE, "screenshot-widget-mobile.png")])
def test_screenshot_of_the_widget_in_use(browser, web_app, tmp_path, viewport, name) -> None:
    b = open_context(browser, web_app.url, viewport=viewport, reduced_motion="reduce")
    try:
        page = b.new_page()
        widget = Widget(page).goto("/")
        widget.open()
        widget.accept()
        answer = widget.ask(QUESTION)
        card = answer.locator('.kl-card[data-unit-id="employment_agency"]')
        expect(card).to_be_visible()
        # the end of the answer and the contact card; no focus ring or hover in the picture
        card.evaluate("""el => {
            const body = el.closest('.kl-body');
            body.scrollTop += el.getBoundingClientRect().top - body.getBoundingClientRect().top - 90;
        }""")
        page.evaluate("() => document.querySelector('#krisenlotse-widget').shadowRoot.activeElement?.blur()")
        page.mouse.move(0, 0)
        page.wait_for_timeout(200)
        box = widget.panel.bounding_box()
        assert box is not None
        if viewport is PHONE:
            assert box["width"] == PHONE["width"]
        shot = tmp_path / name
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        publish(shot, name)
    finally:
        b.context.close()
    b.watch.assert_clean(web_app.url)
