"""JSON API: consent, history, feedback, deletion (store and Rasa's tracker rows), origins and CORS."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import tracker_db
from bot.keys import CONFIG
from tests.bot.conftest import app_of, consent, new_session, send, store_of

# Rasa 3.6's SQL tracker store table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent).
RASA_EVENTS_TABLE = """
CREATE TABLE events (
    id INTEGER NOT NULL PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)"""


def tracker_file(client) -> Path:
    url = app_of(client)[CONFIG].rasa_tracker_db
    return Path(url.removeprefix("sqlite:///"))


def make_tracker_db(path: Path, rows: list[tuple[str, float]]) -> None:
    with sqlite3.connect(path) as db:
        db.execute(RASA_EVENTS_TABLE)
        db.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, '{}')",
                       rows)


def tracker_senders(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT sender_id FROM events")}


async def bot_message_id(client, session_id: str) -> str:
    await consent(client, session_id)
    messages = await (await send(client, session_id, "Hallo")).json()
    return messages[0]["message_id"]


# --- consent --------------------------------------------------------------------------------------

async def test_consent_is_idempotent_and_records_page(client, session_id) -> None:
    for _ in range(2):
        resp = await client.post("/api/v1/consent", json={
            "session_id": session_id, "page_url": "https://www.mannheim.de/de/wirtschaft", "page_language": "de"})
        assert resp.status == 204
    assert await store_of(client).has_consent(session_id)
    assert (await store_of(client).counts())["conversations"] == 1


@pytest.mark.parametrize("body", [{}, {"session_id": "short"}, {"session_id": None}, {"session_id": ["x" * 20]}])
async def test_consent_needs_a_valid_session_id(client, body) -> None:
    resp = await client.post("/api/v1/consent", json=body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_session_id"


async def test_consent_rejects_empty_and_broken_bodies(client) -> None:
    assert (await client.post("/api/v1/consent", data=b"")).status == 400
    assert (await client.post("/api/v1/consent", data=b"\xc3\x28")).status == 400
    assert (await client.post("/api/v1/consent", data=b"{")).status == 400
    assert (await client.post("/api/v1/consent", data=b"{" + b" " * 100_000 + b"}")).status == 413


# --- history --------------------------------------------------------------------------------------

async def test_history_of_unknown_or_malformed_session_is_404(client) -> None:
    for sid in (new_session(), "kurz", "a" * 200, "%3Cscript%3E"):
        resp = await client.get(f"/api/v1/conversations/{sid}/messages")
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "unknown_session"


async def test_history_has_the_contract_fields_in_order(client, session_id) -> None:
    await consent(client, session_id)
    await send(client, session_id, "Erste Frage")
    await send(client, session_id, "Zweite Frage")
    resp = await client.get(f"/api/v1/conversations/{session_id}/messages")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    messages = (await resp.json())["messages"]
    assert [m["text"] for m in messages if m["sender"] == "user"] == ["Erste Frage", "Zweite Frage"]
    for message in messages:
        assert {"id", "sender", "text", "buttons", "custom", "timestamp", "feedback"} <= set(message)
        assert message["timestamp"].endswith("Z")
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)


# --- feedback -------------------------------------------------------------------------------------

async def test_feedback_is_stored_and_shown_in_history(client, session_id) -> None:
    message_id = await bot_message_id(client, session_id)
    resp = await client.post("/api/v1/feedback", json={
        "session_id": session_id, "message_id": message_id, "rating": "down",
        "comment": "Die Nummer fehlt <b>leider</b>"})
    assert resp.status == 204
    # A second rating replaces the first.
    resp = await client.post("/api/v1/feedback", json={
        "session_id": session_id, "message_id": message_id, "rating": "up"})
    assert resp.status == 204
    history = await store_of(client).history(session_id)
    assert [m["feedback"] for m in history if m["id"] == message_id] == ["up"]
    assert (await store_of(client).counts())["feedback"] == 1


async def test_feedback_comment_is_stored_as_sent(client, session_id) -> None:
    message_id = await bot_message_id(client, session_id)
    comment = "<script>alert(1)</script>"
    await client.post("/api/v1/feedback", json={
        "session_id": session_id, "message_id": message_id, "rating": "down", "comment": comment})
    from sqlalchemy import select

    from bot.models import Feedback

    async with store_of(client).sessions() as db:
        assert await db.scalar(select(Feedback.comment)) == comment


async def test_feedback_on_unknown_or_foreign_message_is_404(client, session_id) -> None:
    message_id = await bot_message_id(client, session_id)
    other = new_session()
    await consent(client, other)
    for body in (
        {"session_id": session_id, "message_id": "0" * 32, "rating": "up"},
        {"session_id": other, "message_id": message_id, "rating": "up"},  # someone else's message
    ):
        resp = await client.post("/api/v1/feedback", json=body)
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "unknown_message"


async def test_feedback_on_the_users_own_message_is_404(client, session_id) -> None:
    await bot_message_id(client, session_id)
    user_id = (await store_of(client).history(session_id))[0]["id"]
    resp = await client.post("/api/v1/feedback", json={"session_id": session_id, "message_id": user_id,
                                                       "rating": "up"})
    assert resp.status == 404


@pytest.mark.parametrize("patch", [
    {"rating": "meh"}, {"rating": None}, {"message_id": ""}, {"message_id": 5}, {"comment": 5},
    {"session_id": "nope"},
])
async def test_feedback_validation(client, session_id, patch) -> None:
    body = {"session_id": session_id, "message_id": "0" * 32, "rating": "up", **patch}
    resp = await client.post("/api/v1/feedback", json=body)
    assert resp.status == 400


async def test_feedback_comment_too_long(client, session_id) -> None:
    message_id = await bot_message_id(client, session_id)
    resp = await client.post("/api/v1/feedback", json={
        "session_id": session_id, "message_id": message_id, "rating": "down", "comment": "x" * 1001})
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "comment_too_long"


# --- deletion -------------------------------------------------------------------------------------

async def test_delete_removes_transcript_feedback_and_tracker_rows(client, session_id) -> None:
    message_id = await bot_message_id(client, session_id)
    await client.post("/api/v1/feedback", json={"session_id": session_id, "message_id": message_id,
                                                "rating": "up"})
    other = new_session()
    make_tracker_db(tracker_file(client), [(session_id, 1.0), (session_id, 2.0), (other, 3.0)])

    resp = await client.delete(f"/api/v1/conversations/{session_id}")
    assert resp.status == 204
    assert await store_of(client).counts() == {"conversations": 0, "messages": 0, "feedback": 0}
    assert tracker_senders(tracker_file(client)) == {other}
    assert (await client.get(f"/api/v1/conversations/{session_id}/messages")).status == 404
    assert (await client.delete(f"/api/v1/conversations/{session_id}")).status == 404


async def test_delete_without_consent_still_erases_rasas_tracker(client, session_id) -> None:
    # Rasa keeps a tracker even when the web app stored nothing: the user can still have it erased.
    make_tracker_db(tracker_file(client), [(session_id, 1.0)])
    assert (await client.delete(f"/api/v1/conversations/{session_id}")).status == 204
    assert tracker_senders(tracker_file(client)) == set()


async def test_delete_unknown_session_is_404(client) -> None:
    assert (await client.delete(f"/api/v1/conversations/{new_session()}")).status == 404
    assert (await client.delete("/api/v1/conversations/x")).status == 404


async def test_delete_reports_when_rasa_could_not_be_cleared(make_client, session_id) -> None:
    # No tracker database and Rasa down: our copy is gone, but the user is told the erasure is incomplete.
    client = await make_client(rasa_tracker_db=None)
    await bot_message_id(client, session_id)
    resp = await client.delete(f"/api/v1/conversations/{session_id}")
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "erasure_incomplete"
    assert (await store_of(client).counts())["conversations"] == 0


async def test_tracker_db_helpers_tolerate_missing_database_and_table(tmp_path) -> None:
    assert await tracker_db.delete_conversation(None, "x" * 16) is None
    assert await tracker_db.delete_conversation(f"sqlite:///{tmp_path / 'missing.db'}", "x" * 16) is None
    assert not (tmp_path / "missing.db").exists()  # not created by looking
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert await tracker_db.delete_conversation(f"sqlite:///{empty}", "x" * 16) is None


def test_async_url_conversion() -> None:
    assert tracker_db.async_url("sqlite:///var/rasa-tracker.db") == "sqlite+aiosqlite:///var/rasa-tracker.db"
    assert tracker_db.async_url("postgresql://rasa:pw@db/rasa") == "postgresql+asyncpg://rasa:pw@db/rasa"
    assert tracker_db.async_url("postgresql+psycopg2://db/rasa") == "postgresql+asyncpg://db/rasa"


# --- origins and CORS -----------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1.evil.example:80",
                                    "http://localhost.evil.example"])
async def test_foreign_origin_is_refused(client, session_id, origin) -> None:
    resp = await client.post("/api/v1/consent", json={"session_id": session_id}, headers={"Origin": origin})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "origin_not_allowed"
    resp = await client.post("/webhooks/rest/webhook", json={"sender": session_id, "message": "Hallo"},
                             headers={"Origin": origin})
    assert resp.status == 403
    assert not await store_of(client).has_consent(session_id)


@pytest.mark.parametrize("origin", ["http://127.0.0.1:3000", "http://localhost:8000", "http://localhost"])
async def test_loopback_origins_are_allowed_by_default_with_cors_headers(client, session_id, origin) -> None:
    resp = await client.post("/api/v1/consent", json={"session_id": session_id}, headers={"Origin": origin})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in resp.headers["Vary"]


async def test_own_origin_is_always_allowed(make_client, session_id) -> None:
    client = await make_client(allowed_origins=("https://www.mannheim.de",))
    own = {"Origin": f"http://{client.host}:{client.port}"}
    assert (await client.post("/api/v1/consent", json={"session_id": session_id}, headers=own)).status == 204
    proxied = {"Origin": "https://chat.mannheim.example", "Host": "chat.mannheim.example"}
    assert (await client.post("/api/v1/consent", json={"session_id": session_id}, headers=proxied)).status == 204
    mismatch = {"Origin": "https://chat.mannheim.example", "Host": "other.example"}
    assert (await client.post("/api/v1/consent", json={"session_id": session_id}, headers=mismatch)).status == 403


async def test_configured_origins_replace_the_loopback_default(make_client, session_id) -> None:
    client = await make_client(allowed_origins=("https://www.mannheim.de", "http://intranet.example:*"))
    ok = {"Origin": "https://www.mannheim.de"}
    assert (await client.post("/api/v1/consent", json={"session_id": session_id}, headers=ok)).status == 204
    port = {"Origin": "http://intranet.example:8443"}
    assert (await client.post("/api/v1/consent", json={"session_id": session_id}, headers=port)).status == 204
    loop = {"Origin": "http://localhost:3000"}
    assert (await client.post("/api/v1/consent", json={"session_id": session_id}, headers=loop)).status == 403


async def test_preflight(client) -> None:
    resp = await client.options("/api/v1/feedback", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in resp.headers["Access-Control-Allow-Headers"]
    resp = await client.options("/api/v1/feedback", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_headers_on_error_responses(client) -> None:
    resp = await client.post("/api/v1/consent", data=b"{", headers={"Origin": "http://localhost:3000"})
    assert resp.status == 400
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
