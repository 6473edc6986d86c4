"""Live handover against the REAL Rasa (``rasa_stack``): while staff have the conversation, the user's
messages never reach Rasa's tracker; hand-back runs ``action_handback`` and the bot answers again.
Skipped without a trained model; marked slow + e2e."""

from __future__ import annotations

import aiohttp
import pytest

from bot.app import init_app
from tests.bot.conftest import consent, drain, new_session, send
from tests.bot.staff_helpers import add_user, create_case, login, page_csrf, post_action
from tests.bot.test_e2e import stack_config

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


async def tracker_texts(rasa_stack, session_id: str) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(
            f"{rasa_stack.rasa_url}/conversations/{session_id}/tracker", params={"token": rasa_stack.token}) as resp:
        tracker = await resp.json()
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


async def test_live_messages_do_not_reach_rasa_and_handback_resumes_the_bot(aiohttp_client, rasa_stack,
                                                                          tmp_path) -> None:
    client = await aiohttp_client(await init_app(stack_config(rasa_stack, tmp_path)))
    sid = new_session()
    await consent(client, sid)
    first = await (await send(client, sid, "Hallo")).json()
    assert first and "error" not in first[0]
    number = (await create_case(client, session_id=sid))["case_number"]
    await add_user(client, "tax@mannheim.de")
    await login(client, "tax@mannheim.de")
    csrf = await page_csrf(client)
    assert (await post_action(client, number, "live", csrf)).status == 303

    private = "Das hier liest nur die Stadt: Umsatz 12345 Euro"
    assert await (await send(client, sid, private)).json() == []
    await drain(client)
    texts = await tracker_texts(rasa_stack, sid)
    assert "Hallo" in texts and private not in texts

    assert (await post_action(client, number, "handback", csrf)).status == 303
    history = await (await client.get(f"/api/v1/conversations/{sid}/messages")).json()
    assert any("wieder für Sie da" in (m["text"] or "") for m in history["messages"] if m["sender"] == "bot"), \
        "action_handback did not answer (model without the escalation data?)"
    again = await (await send(client, sid, "Wie beantrage ich Kurzarbeitergeld?")).json()
    assert again and "error" not in again[0]
    assert "Wie beantrage ich Kurzarbeitergeld?" in await tracker_texts(rasa_stack, sid)
