"""POST /webhooks/rest/webhook: input checks, limits, origins, and Rasa down (a closed port) or slow."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web

from bot.keys import GATEWAY
from tests.bot.conftest import consent, drain, new_session, send, store_of

URL = "/webhooks/rest/webhook"


async def test_rasa_down_gives_polite_message_and_business_development_card(client, session_id) -> None:
    resp = await send(client, session_id, "Wie beantrage ich Kurzarbeit?")
    assert resp.status == 200
    messages = await resp.json()
    assert [m["error"] for m in messages] == ["rasa_unavailable", "rasa_unavailable"]
    assert all(m["recipient_id"] == session_id and m["message_id"] for m in messages)
    assert "nicht erreichbar" in messages[0]["text"]
    assert "Wirtschaftsförderung" in messages[0]["text"]
    assert "gespeichert" not in messages[0]["text"]  # no consent: nothing was stored, nothing claimed
    card = messages[1]["custom"]
    assert card["type"] == "contact_card"
    assert card["unit"]["id"] == "business_development"
    assert card["unit"]["web"].startswith("https://")


async def test_rasa_down_keeps_the_consented_message_as_undelivered(client, session_id) -> None:
    await consent(client, session_id)
    resp = await send(client, session_id, "Gibt es Soforthilfen?")
    messages = await resp.json()
    assert "gespeichert" in messages[0]["text"]
    history = await (await client.get(f"/api/v1/conversations/{session_id}/messages")).json()
    user, *bot = history["messages"]
    assert (user["sender"], user["text"], user["delivered"]) == ("user", "Gibt es Soforthilfen?", False)
    assert [m["sender"] for m in bot] == ["bot", "bot"]
    assert bot[1]["custom"]["type"] == "contact_card"


async def test_every_message_tries_rasa_again(client, session_id) -> None:
    # No circuit breaker that would keep failing after Rasa is back: each message goes to Rasa.
    for _ in range(3):
        started = time.monotonic()
        messages = await (await send(client, session_id, "Hallo")).json()
        assert messages[0]["error"] == "rasa_unavailable"
        assert time.monotonic() - started < 2  # connection refused is answered at once


async def test_slow_rasa_times_out_with_the_polite_message(aiohttp_server, make_client, session_id) -> None:
    """A slow upstream (a tiny loopback server that sleeps): the user is answered after the time-out."""

    async def sleepy(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response([{"recipient_id": "x", "text": "zu spät"}])

    slow = web.Application()
    slow.router.add_post("/webhooks/rest/webhook", sleepy)
    server = await aiohttp_server(slow)
    client = await make_client(rasa_url=f"http://127.0.0.1:{server.port}", rasa_timeout=0.5)
    await consent(client, session_id)
    started = time.monotonic()
    messages = await (await send(client, session_id, "Hallo?")).json()
    assert time.monotonic() - started < 3
    assert messages[0]["error"] == "rasa_unavailable"
    history = await store_of(client).history(session_id)
    assert history[0]["delivered"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_body"),
        (b"   ", "empty_body"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_request"),
        (b'"text"', "invalid_request"),
        (b"\xff\xfe{\"sender\": 1}", "invalid_encoding"),
        (b'{"sender": "abcdefghijklmnop1234", "message": "Gr\\u00fc\\u00dfe \\ud800"}', "invalid_encoding"),
        (b"[" * 5000 + b"]" * 5000, "invalid_json"),
    ],
)
async def test_bad_bodies_get_400_json_errors(client, body: bytes, code: str) -> None:
    resp = await client.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert error["message"]  # a German sentence


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"message": "Hallo"}, "invalid_session_id"),
        ({"sender": "kurz", "message": "Hallo"}, "invalid_session_id"),
        ({"sender": "../../etc/passwd/xxxxxxxx", "message": "Hallo"}, "invalid_session_id"),
        ({"sender": 12345678901234567890, "message": "Hallo"}, "invalid_session_id"),
        ({"sender": new_session()}, "invalid_request"),
        ({"sender": new_session(), "message": 42}, "invalid_request"),
        ({"sender": new_session(), "message": ""}, "empty_message"),
        ({"sender": new_session(), "message": "  \n\t "}, "empty_message"),
        ({"sender": new_session(), "message": "Hallo", "metadata": "x"}, "invalid_request"),
    ],
)
async def test_invalid_fields_get_400(client, payload: dict, code: str) -> None:
    resp = await client.post(URL, json=payload)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == code


async def test_100_kb_body_is_refused_with_413_json(client, session_id) -> None:
    body = json.dumps({"sender": session_id, "message": "x" * 100_000})
    resp = await client.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"


async def test_too_long_message_is_refused_and_not_forwarded_or_stored(client, session_id) -> None:
    await consent(client, session_id)
    resp = await send(client, session_id, "ä" * 1001)
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "message_too_long"
    assert "1000 Zeichen" in error["message"]
    assert (await store_of(client).counts())["messages"] == 0
    ok = await send(client, session_id, "ä" * 1000)  # exactly the limit passes
    assert ok.status == 200


async def test_limit_follows_the_setting(make_client, session_id) -> None:
    client = await make_client(max_message_chars=10)
    assert (await send(client, session_id, "0123456789")).status == 200
    resp = await send(client, session_id, "0123456789a")
    assert resp.status == 422
    assert "10 Zeichen" in (await resp.json())["error"]["message"]


async def test_session_rate_limit(client) -> None:
    session_id = new_session()
    for _ in range(20):
        assert (await send(client, session_id, "Hallo")).status == 200
    resp = await send(client, session_id, "Hallo")
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    error = (await resp.json())["error"]
    assert error["code"] == "rate_limited"
    assert "warten Sie" in error["message"]
    # Another conversation from the same address is not affected.
    assert (await send(client, new_session(), "Hallo")).status == 200


async def test_address_rate_limit_across_sessions(make_client) -> None:
    client = await make_client(address_rate_per_minute=5)
    for _ in range(5):
        assert (await send(client, new_session(), "Hallo")).status == 200
    resp = await send(client, new_session(), "Hallo")
    assert resp.status == 429
    # Consent and feedback count against the address too.
    assert (await client.post("/api/v1/consent", json={"session_id": new_session()})).status == 429


async def test_refused_messages_do_not_use_up_the_rate_limit(make_client, session_id) -> None:
    client = await make_client(session_rate_per_minute=2)
    for _ in range(5):
        assert (await send(client, session_id, "x" * 2000)).status == 422
    assert (await send(client, session_id, "Hallo")).status == 200


async def test_html_payload_is_stored_as_sent_and_served_as_json(client, session_id) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    await consent(client, session_id)
    await send(client, session_id, payload)
    resp = await client.get(f"/api/v1/conversations/{session_id}/messages")
    assert resp.content_type == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert (await resp.json())["messages"][0]["text"] == payload


async def test_nul_characters_are_dropped_not_crashing_the_database(client, session_id) -> None:
    await consent(client, session_id)
    assert (await send(client, session_id, "Hal\x00lo")).status == 200
    history = await store_of(client).history(session_id)
    assert history[0]["text"] == "Hallo"


async def test_metadata_consent_starts_storing(client, session_id) -> None:
    resp = await send(client, session_id, "Hallo", metadata={
        "consent": True, "page_url": "https://www.mannheim.de/wirtschaft", "page_language": "de"})
    assert resp.status == 200
    await drain(client)
    history = await store_of(client).history(session_id)
    assert [m["sender"] for m in history] == ["user", "bot", "bot"]


async def test_nothing_is_stored_before_consent(client, session_id) -> None:
    await send(client, session_id, "Meine Nummer ist 0621 1234567", metadata={"page_url": "https://x.example"})
    await send(client, session_id, "Noch eine Frage", metadata={"consent": "yes"})  # only true counts
    assert await store_of(client).counts() == {"conversations": 0, "messages": 0, "feedback": 0}
    assert (await client.get(f"/api/v1/conversations/{session_id}/messages")).status == 404


async def test_a_broken_database_still_gets_the_user_a_polite_answer(client, session_id) -> None:
    # The database fails under the gateway (here: the tables it reads are gone, as when a database is
    # restored wrongly or restarts): no error page, the user still gets an answer, the app keeps running.
    from sqlalchemy import text

    from bot.keys import ENGINE

    await consent(client, session_id)
    async with client.server.app[ENGINE].begin() as conn:
        await conn.execute(text("PRAGMA foreign_keys=OFF"))
        await conn.execute(text("DROP TABLE case_events"))
        await conn.execute(text("DROP TABLE cases"))
        await conn.execute(text("DROP TABLE feedback"))
        await conn.execute(text("DROP TABLE messages"))
    resp = await send(client, session_id, "Gibt es Soforthilfen?")
    assert resp.status == 200
    messages = await resp.json()
    assert [m["error"] for m in messages] == ["rasa_unavailable", "rasa_unavailable"]  # Rasa is down here too
    assert "gespeichert" not in messages[0]["text"]  # nothing could be stored, nothing is claimed
    assert (await client.get("/healthz")).status == 200


async def test_messages_wait_for_a_model_swap_instead_of_failing(aiohttp_server, make_client, session_id) -> None:
    """While Rasa loads a model (it answers nobody then), the gateway holds new messages back and forwards
    them afterwards: longer than the per-message time-out, yet answered, not refused."""
    received: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body["message"])
        return web.json_response([{"recipient_id": body["sender"], "text": f"Antwort auf {body['message']}"}])

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", answer)
    server = await aiohttp_server(rasa)
    client = await make_client(rasa_url=f"http://127.0.0.1:{server.port}", rasa_timeout=0.5)
    gateway = client.server.app[GATEWAY]
    await consent(client, session_id)
    async with gateway.hold_messages():
        pending = asyncio.ensure_future(send(client, session_id, "Erste Frage"))
        await asyncio.sleep(1.0)  # twice the time-out: the message must neither reach Rasa nor fail
        assert received == [] and not pending.done()
    messages = await (await pending).json()
    assert received == ["Erste Frage"]
    assert messages[0]["text"] == "Antwort auf Erste Frage" and "error" not in messages[0]
