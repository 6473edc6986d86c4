"""The widget against the real stack: web app (python -m bot) → Rasa → action server, in headless Chromium.

A user opens the demo page, accepts the privacy notice, asks about short-time work, gets the answer with
the contact card of the Agentur für Arbeit, follows a quick reply, reloads, opens a second tab, rates an
answer, and deletes the conversation.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.widget import OPEN_OR_CLOSED, QUESTION, Widget, bot_text

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]


def test_question_answer_card_quick_reply_reload_and_second_tab(browsing, web_app) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    expect(widget.panel).to_be_hidden()
    widget.open()
    # nothing can be typed before the privacy notice is accepted
    expect(widget.consent).to_contain_text("90 Tage")
    expect(widget.consent.get_by_role("link", name=re.compile("Datenschutzhinweise"))).to_have_attribute(
        "href", f"{web_app.url}/datenschutz")
    expect(widget.input).to_be_disabled()
    widget.accept()
    session_id = widget.session()["id"]
    assert widget.session()["consent"] is True

    answer = widget.ask(QUESTION)
    expect(widget.user_messages.last).to_contain_text(QUESTION)
    assert "Kurzarbeit" in bot_text(answer)
    card = answer.locator('.kl-card[data-unit-id="employment_agency"]')
    expect(card).to_have_count(1)
    expect(card.get_by_role("heading", level=3)).to_contain_text("Agentur für Arbeit")
    # No page states the hotline's hours: no open/closed badge, no table, a pointer to the office's page.
    if card.locator("tr").count():
        expect(card.locator(".kl-badge")).to_have_text(OPEN_OR_CLOSED)
        expect(card.locator("tr")).to_have_count(7)  # Mo … So
    else:
        expect(card.locator(".kl-badge")).to_have_count(0)
        expect(card.locator(".kl-hours")).to_contain_text(re.compile(r"Bitte auf der\s+Seite der Stelle.*prüfen\."))
    phone = card.locator('a[href^="tel:"]')
    if phone.count():
        assert re.fullmatch(r"tel:\+?\d{3,}", phone.get_attribute("href") or "")
    else:
        expect(card).to_contain_text("Telefon und E-Mail finden Sie auf der Seite der Stelle.")
    expect(card.locator(".kl-card__checked")).to_contain_text("Kontaktdaten geprüft am")
    expect(answer.locator(".kl-feedback")).to_have_count(1)
    replies = answer.locator(".kl-reply")
    assert replies.count() >= 2

    title, follow_up = widget.click_quick_reply(answer)
    expect(widget.user_messages.last).to_contain_text(title)
    assert bot_text(follow_up).strip(), "the quick reply got no answer"
    expect(answer.locator(".kl-reply")).to_have_count(0)  # used quick replies disappear

    turns_before = widget.bot_turns.count()
    user_before = widget.user_messages.count()
    replies_before = widget.bot_turns.last.locator(".kl-reply").all_inner_texts()
    cards_before = widget.card("employment_agency").count()

    # reload: the transcript comes back from GET /api/v1/conversations/{id}/messages
    page.reload()
    widget = Widget(page)
    widget.open()
    expect(widget.consent).to_be_hidden()
    expect(widget.input).to_be_enabled()
    expect(widget.bot_turns).to_have_count(turns_before)
    expect(widget.user_messages).to_have_count(user_before)
    expect(widget.user_messages.first).to_contain_text(QUESTION)
    expect(widget.user_messages.last).to_contain_text(title)  # the button title, not its /payload
    expect(widget.card("employment_agency")).to_have_count(cards_before)
    # quick replies are offered again under the last answer only
    assert widget.bot_turns.last.locator(".kl-reply").all_inner_texts() == replies_before
    expect(widget.log.locator(".kl-reply")).to_have_count(len(replies_before))
    assert widget.session()["id"] == session_id

    # a second tab of the same browser continues the same conversation
    other = browsing.new_page()
    second = Widget(other).goto("/")
    second.open()
    second.wait_connected()
    expect(second.consent).to_be_hidden()
    expect(second.user_messages).to_have_count(user_before)
    expect(second.card("employment_agency")).to_have_count(cards_before)
    # and gets the bot's answers to a question asked in the first tab (socket.io room of the session)
    widget.ask("Wie hoch ist das Kurzarbeitergeld?")
    expect(second.bot_turns).to_have_count(turns_before + 1, timeout=30_000)
    expect(second.user_messages.last).to_contain_text("Wie hoch ist das Kurzarbeitergeld?")

    status, data = web_app.get(f"/api/v1/conversations/{session_id}/messages")
    assert status == 200
    said = [m["text"] for m in data["messages"] if m["sender"] == "user"]
    assert said[said.index(QUESTION) + 1].startswith("/"), said  # the quick reply sent its payload


def test_page_url_and_language_go_with_every_message(browsing) -> None:
    page = browsing.new_page()
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    widget = Widget(page).goto("/?utm_source=test#top")
    widget.open()
    widget.accept()
    widget.ask(QUESTION)
    uttered = [json.loads(frame[frame.index("["):]) for frame in sent if "user_uttered" in frame]
    assert uttered, f"no user_uttered frame among {sent}"
    event, data = uttered[-1][0], uttered[-1][1]
    assert event == "user_uttered"
    assert data["message"] == QUESTION
    assert data["session_id"] == widget.session()["id"]
    assert data["metadata"]["page_url"] == browsing.base_url + "/"  # without query and fragment
    assert data["metadata"]["page_language"] == "de"
    assert data["metadata"]["consent"] is True


def test_html_and_script_typed_as_message_are_shown_as_text(browsing, web_app) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()
    payloads = [
        '<img src=x onerror="window.__xss=1">',
        "<script>window.__xss=2</script><b>fett</b>",
        '[klick](javascript:window.__xss=3) **<i>x</i>**',
    ]
    for payload in payloads:
        widget.ask(payload)
        expect(widget.user_messages.last).to_have_text("Sie: " + payload)
    for _ in range(2):
        assert page.evaluate("() => window.__xss") is None
        assert widget.log.locator("img, script, b, i, a[href^='javascript']").count() == 0
        page.reload()
        widget = Widget(page)
        widget.open()
        expect(widget.user_messages).to_have_count(len(payloads))
    assert [t.removeprefix("Sie: ") for t in widget.user_messages.all_text_contents()] == payloads


def test_thumbs_down_with_a_comment(browsing, web_app) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()
    answer = widget.ask(QUESTION)
    message_id = answer.locator(".kl-msg--bot[data-message-id]").first.get_attribute("data-message-id")
    down = answer.get_by_role("button", name="Nein, nicht hilfreich")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")) as first:
        down.click()
    assert first.value.status == 204
    expect(down).to_have_attribute("aria-pressed", "true")
    comment = answer.get_by_label("Was hat gefehlt? (optional)")
    expect(comment).to_be_focused()
    comment.fill("Mir fehlte, wie lange das Kurzarbeitergeld gezahlt wird.")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/feedback")) as request, \
            page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")) as response:
        answer.get_by_role("button", name="Rückmeldung senden").click()
    assert response.value.status == 204
    assert request.value.post_data_json == {
        "session_id": widget.session()["id"], "message_id": message_id, "rating": "down",
        "comment": "Mir fehlte, wie lange das Kurzarbeitergeld gezahlt wird.",
    }
    expect(answer.locator(".kl-feedback")).to_contain_text("Danke")
    expect(comment).to_be_hidden()

    status, data = web_app.get(f"/api/v1/conversations/{widget.session()['id']}/messages")
    assert status == 200
    assert {m["id"]: m["feedback"] for m in data["messages"]}[message_id] == "down"
    page.reload()
    widget = Widget(page)
    widget.open()
    expect(widget.bot_turns.nth(1).get_by_role("button", name="Nein, nicht hilfreich")).to_have_attribute(
        "aria-pressed", "true")


def test_delete_conversation_after_confirmation(browsing, web_app) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()
    widget.ask(QUESTION)
    old_id = widget.session()["id"]
    assert web_app.get(f"/api/v1/conversations/{old_id}/messages")[0] == 200

    widget.delete_button.click()
    confirm = page.get_by_role("group", name=re.compile("Gespräch wirklich löschen"))
    expect(confirm).to_be_visible()
    expect(page.get_by_role("button", name="Abbrechen")).to_be_focused()
    page.get_by_role("button", name="Abbrechen").click()  # first: changed my mind
    expect(confirm).to_be_hidden()
    expect(widget.user_messages).to_have_count(1)

    widget.delete_button.click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        page.get_by_role("button", name="Ja, endgültig löschen").click()
    assert deleted.value.status == 204
    expect(widget.user_messages).to_have_count(0)
    expect(widget.card("employment_agency")).to_have_count(0)
    expect(widget.status).to_have_text("Das Gespräch wurde gelöscht.")
    expect(widget.consent).to_be_visible()  # a new conversation asks again
    expect(widget.input).to_be_disabled()
    assert widget.session()["id"] != old_id
    assert web_app.get(f"/api/v1/conversations/{old_id}/messages")[0] == 404

    page.reload()
    widget = Widget(page)
    widget.open()
    expect(widget.user_messages).to_have_count(0)
    expect(widget.consent).to_be_visible()


def test_new_conversation_starts_over(browsing, web_app) -> None:
    page = browsing.new_page()
    widget = Widget(page).goto("/")
    widget.open()
    widget.accept()
    widget.ask(QUESTION)
    old_id = widget.session()["id"]
    widget.new_button.click()
    expect(widget.user_messages).to_have_count(0)
    expect(widget.input).to_be_focused()  # consent carries over to the new conversation
    expect(widget.bot_turns).to_have_count(1, timeout=30_000)  # the greeting again
    widget.wait_idle()
    new_id = widget.session()["id"]
    assert new_id != old_id
    widget.ask("Kann ich die Gewerbesteuer stunden lassen?")
    assert web_app.get(f"/api/v1/conversations/{old_id}/messages")[0] == 200  # the old one is kept
    status, data = web_app.get(f"/api/v1/conversations/{new_id}/messages")
    assert status == 200
    assert [m["text"] for m in data["messages"] if m["sender"] == "user"][-1] == \
        "Kann ich die Gewerbesteuer stunden lassen?"
