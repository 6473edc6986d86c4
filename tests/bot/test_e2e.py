"""End to end through the REAL Rasa server and action server (``rasa_stack``, tests/support/stack.py).

Real answers through the gateway (REST and socket.io), intent and confidence taken from Rasa's tracker,
readiness, erasure in Rasa's tracker, a network outage to Rasa and recovery without restart, and a dead
action server. Skipped without a trained model (``make train``); minutes because Rasa loads its model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot import tracker_db
from bot.app import init_app
from bot.keys import GATEWAY
from bot.models import Message
from bot.settings import Settings
from tests.bot.conftest import consent, drain, new_session, send, store_of
from tests.bot.netproxy import TcpProxy
from tests.bot.test_socketio import Client

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def stack_config(rasa_stack, tmp_path: Path, **overrides) -> Settings:
    values = {"rasa_url": rasa_stack.rasa_url, "actions_url": rasa_stack.actions_url, "rasa_token": rasa_stack.token,
              "rasa_tracker_db": f"sqlite:///{rasa_stack.tracker_db}", "rasa_timeout": 30.0}
    return Settings.for_tests(tmp_path, **{**values, **overrides})


@pytest.fixture
async def live(aiohttp_client, rasa_stack, tmp_path):
    return await aiohttp_client(await init_app(stack_config(rasa_stack, tmp_path)))


async def user_rows(client, session_id: str) -> list[Message]:
    await client.server.app[GATEWAY].settled(session_id)  # the answer is written right after it is sent
    async with store_of(client).sessions() as db:
        rows = await db.scalars(select(Message).where(Message.conversation == session_id, Message.sender == "user")
                                .order_by(Message.created))
        return list(rows)


async def test_real_answer_through_the_rest_channel(live) -> None:
    sid = new_session()
    await consent(live, sid)
    resp = await send(live, sid, "Wie beantrage ich Kurzarbeitergeld bei der Agentur für Arbeit?")
    assert resp.status == 200
    messages = await resp.json()
    assert messages and not any("error" in m for m in messages), messages
    assert any(m.get("text") for m in messages)
    assert all(m["recipient_id"] == sid and m["message_id"] for m in messages)
    await live.server.app[GATEWAY].settled(sid)
    history = await store_of(live).history(sid)
    assert history[0]["delivered"] is True
    assert len(history) == 1 + len(messages)


@pytest.mark.parametrize("source", ["tracker database", "Rasa's HTTP API"])
async def test_intent_and_confidence_come_from_rasas_tracker(aiohttp_client, rasa_stack, tmp_path, source) -> None:
    # Read straight from Rasa's SQL tracker store, or (no tracker database configured) over Rasa's HTTP API.
    overrides = {} if source == "tracker database" else {"rasa_tracker_db": None}
    live = await aiohttp_client(await init_app(stack_config(rasa_stack, tmp_path, **overrides)))
    sid = new_session()
    await consent(live, sid)
    await send(live, sid, "/greet")  # a button payload: intent set directly, confidence 1.0
    await send(live, sid, "Kann ich die Gewerbesteuer stunden lassen?")
    await drain(live)
    greet, question = await user_rows(live, sid)
    assert (greet.intent, greet.confidence) == ("greet", 1.0)
    # The stored values are exactly Rasa's own parse of that message (no second NLU run).
    events = [e for e in rasa_stack.tracker(sid)["events"] if e["event"] == "user"]
    parse = events[-1]["parse_data"]
    assert question.intent == parse["intent"]["name"]
    assert question.confidence == pytest.approx(parse["intent"]["confidence"])
    assert [r["name"] for r in question.intent_ranking] == [r["name"] for r in parse["intent_ranking"][:3]]
    assert events[-1]["metadata"]["krisenlotse_message_id"] == question.id
    assert question.delivered is True


async def test_intent_lookup_is_off_the_critical_path(live) -> None:
    sid = new_session()
    await consent(live, sid)
    await send(live, sid, "/greet")
    # The answer is back; the tracker look-up may still be running in the background.
    await drain(live)
    assert (await user_rows(live, sid))[0].intent == "greet"


async def test_real_answer_over_socketio(aiohttp_server, rasa_stack, tmp_path) -> None:
    server = await aiohttp_server(await init_app(stack_config(rasa_stack, tmp_path)))
    client = Client()
    try:
        await client.connect(f"http://127.0.0.1:{server.port}")
        sid = await client.start_session(new_session())
        messages = await client.say(sid, "/greet", consent=True)
        assert messages and not any("error" in m for m in messages)
        assert messages[0]["text"].startswith("Guten Tag")
        replies = messages[0]["quick_replies"]
        assert all(r["content_type"] == "text" and r["payload"].startswith("/") for r in replies)
    finally:
        await client.sio.eio.disconnect(abort=True)


async def test_readyz_with_the_real_stack(live) -> None:
    resp = await live.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"rasa": "ok", "actions": "ok", "database": "ok"}


async def test_delete_erases_rasas_tracker(live, rasa_stack) -> None:
    sid = new_session()
    await consent(live, sid)
    await send(live, sid, "Ich möchte ein Gewerbe anmelden.")
    assert sid in await tracker_db.senders(f"sqlite:///{rasa_stack.tracker_db}")
    assert (await live.delete(f"/api/v1/conversations/{sid}")).status == 204
    assert sid not in await tracker_db.senders(f"sqlite:///{rasa_stack.tracker_db}")
    assert not [e for e in rasa_stack.tracker(sid)["events"] if e["event"] == "user"]
    assert await store_of(live).history(sid) is None


async def test_outage_to_rasa_and_recovery_without_restart(aiohttp_client, rasa_stack, tmp_path) -> None:
    target = urlsplit(rasa_stack.rasa_url)
    proxy = TcpProxy(target.hostname, target.port)
    await proxy.start()
    try:
        client = await aiohttp_client(await init_app(stack_config(rasa_stack, tmp_path, rasa_url=proxy.url)))
        sid = new_session()
        await consent(client, sid)
        assert "error" not in (await (await send(client, sid, "/greet")).json())[0]

        await proxy.stop()  # Rasa unreachable
        down = await (await send(client, sid, "Gibt es Soforthilfen?")).json()
        assert [m["error"] for m in down] == ["rasa_unavailable", "rasa_unavailable"]
        assert down[1]["custom"]["unit"]["id"] == "business_development"

        await proxy.start()  # back on the same port; the web app was not restarted
        back = await (await send(client, sid, "/greet")).json()
        assert back and "error" not in back[0]
        await client.server.app[GATEWAY].drain()
        rows = await user_rows(client, sid)
        assert [(r.text, r.delivered) for r in rows] == [
            ("/greet", True), ("Gibt es Soforthilfen?", False), ("/greet", True)]
    finally:
        await proxy.stop()


async def test_dead_action_server_gives_the_polite_message(live, rasa_stack) -> None:
    sid = new_session()
    await consent(live, sid)
    rasa_stack.actions.stop()
    try:
        # action_answer_topic is a custom action: Rasa answers with nothing (or an error) without the server.
        down = await (await send(live, sid, "/loans_liquidity")).json()
        assert down[0]["error"] == "rasa_unavailable"
        assert down[1]["custom"]["type"] == "contact_card"
        assert (await live.get("/readyz")).status == 503
    finally:
        await asyncio.to_thread(rasa_stack.restart_actions)
    back = await (await send(live, sid, "/loans_liquidity")).json()
    assert back and not any("error" in m for m in back)
    assert any((m.get("custom") or {}).get("type") == "contact_card" for m in back)
    rows = await user_rows(live, sid)
    assert [r.delivered for r in rows] == [False, True]
