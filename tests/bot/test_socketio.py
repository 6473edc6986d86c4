"""socket.io channel against a real running server (aiohttp test server on a loopback port) with the
python-socketio AsyncClient: session_request/session_confirm, user_uttered/bot_uttered, rooms, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from bot.app import init_app
from tests.bot.conftest import new_session

TIMEOUT = 10


class Client:
    """A socket.io client that queues every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = {}
        for name in ("session_confirm", "bot_uttered", "bot_typing"):
            self.events[name] = asyncio.Queue()
            self.sio.on(name, self._queue(name))

    def _queue(self, name: str):  # noqa: ANN202
        async def handler(data: Any = None) -> None:
            await self.events[name].put(data)

        return handler

    async def next(self, name: str) -> Any:
        return await asyncio.wait_for(self.events[name].get(), TIMEOUT)

    async def connect(self, url: str, transport: str = "websocket", headers: dict | None = None) -> None:
        await self.sio.connect(url, socketio_path="/socket.io/", transports=[transport], headers=headers or {},
                               wait_timeout=TIMEOUT)

    async def start_session(self, session_id: str | None) -> str:
        await self.sio.emit("session_request", {"session_id": session_id})
        return await self.next("session_confirm")

    async def say(self, session_id: str, text: str, **metadata: Any) -> list[dict]:
        """Send a message; collect bot messages until bot_typing goes back to false."""
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id, "metadata": metadata})
        assert (await self.next("bot_typing")) == {"typing": True}
        assert (await self.next("bot_typing")) == {"typing": False}
        messages = []
        while not self.events["bot_uttered"].empty():
            messages.append(self.events["bot_uttered"].get_nowait())
        return messages


@pytest.fixture
async def server(aiohttp_server, config) -> TestServer:
    return await aiohttp_server(await init_app(config))


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        # abort: python-engineio's client otherwise waits for the server's next ping (25 s) on polling.
        await client.sio.eio.disconnect(abort=True)
        http = client.sio.eio.http
        if http is not None and not http.closed:  # left open by a refused connection attempt
            await http.close()


def url_of(server: TestServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def connected(clients: list[Client], server: TestServer, **kwargs: Any) -> Client:
    client = Client()
    clients.append(client)
    await client.connect(url_of(server), **kwargs)
    return client


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_session_confirm_echoes_the_requested_id(server, clients, transport) -> None:
    client = await connected(clients, server, transport=transport)
    session_id = new_session()
    assert await client.start_session(session_id) == session_id


@pytest.mark.parametrize("requested", [None, "", "kurz", "../../x" * 3, 42])
async def test_session_request_without_valid_id_gets_a_new_one(server, clients, requested) -> None:
    client = await connected(clients, server)
    confirmed = await client.start_session(requested)
    assert isinstance(confirmed, str) and len(confirmed) >= 16 and confirmed != requested


async def test_user_uttered_gets_bot_uttered_in_rasa_format(server, clients) -> None:
    """Rasa is down here (closed port): the answer is the polite message and the contact card."""
    client = await connected(clients, server)
    session_id = await client.start_session(new_session())
    text, card = await client.say(session_id, "Wie beantrage ich Kurzarbeit?")
    assert text["error"] == "rasa_unavailable" and "nicht erreichbar" in text["text"]
    assert card["custom"]["type"] == "contact_card"
    assert card["custom"]["unit"]["id"] == "business_development"
    for message in (text, card):
        assert message["message_id"] and message["timestamp"].endswith("Z")


async def test_custom_data_key_of_rasa_webchat_is_accepted(server, clients) -> None:
    client = await connected(clients, server)
    session_id = await client.start_session(new_session())
    await client.sio.emit("user_uttered", {"message": "Hallo", "session_id": session_id,
                                           "customData": {"consent": True, "page_language": "de"}})
    await client.next("bot_uttered")
    # consent: true in customData starts storing the conversation
    app = server.app
    from bot.keys import STORE

    assert await app[STORE].has_consent(session_id)


async def test_all_tabs_of_a_session_get_the_answer(server, clients) -> None:
    first = await connected(clients, server)
    second = await connected(clients, server, transport="polling")
    stranger = await connected(clients, server)
    session_id = new_session()
    await first.start_session(session_id)
    await second.start_session(session_id)
    await stranger.start_session(new_session())
    await first.say(session_id, "Hallo")
    assert (await second.next("bot_uttered"))["error"] == "rasa_unavailable"
    await asyncio.sleep(0.2)
    assert stranger.events["bot_uttered"].empty()


async def test_reconnecting_client_continues_the_session(server, clients) -> None:
    client = await connected(clients, server)
    session_id = await client.start_session(new_session())
    await client.say(session_id, "Hallo", consent=True)
    await client.sio.disconnect()

    again = await connected(clients, server)
    assert await again.start_session(session_id) == session_id
    await again.say(session_id, "Ich bin wieder da")
    from bot.keys import STORE

    history = await server.app[STORE].history(session_id)
    assert [m["text"] for m in history if m["sender"] == "user"] == ["Hallo", "Ich bin wieder da"]


async def test_too_long_message_is_answered_with_an_error_and_not_forwarded(server, clients) -> None:
    client = await connected(clients, server)
    session_id = await client.start_session(new_session())
    await client.sio.emit("user_uttered", {"message": "x" * 1001, "session_id": session_id,
                                           "metadata": {"consent": True}})
    reply = await client.next("bot_uttered")
    assert reply["error"] == "message_too_long"
    assert "1000 Zeichen" in reply["text"]
    assert client.events["bot_typing"].empty()


async def test_rate_limit_over_socketio(server, clients) -> None:
    client = await connected(clients, server)
    session_id = await client.start_session(new_session())
    errors = []
    for _ in range(21):
        await client.sio.emit("user_uttered", {"message": "Hallo", "session_id": session_id})
    for _ in range(21 * 2 - 20):  # 20 answers of two messages each would be 40: read until the refusal
        message = await client.next("bot_uttered")
        if message.get("error") == "rate_limited":
            errors.append(message)
            break
    assert errors and "warten Sie" in errors[0]["text"]


async def test_invalid_payloads_are_refused_politely(server, clients) -> None:
    client = await connected(clients, server)
    await client.start_session(new_session())
    await client.sio.emit("user_uttered", "just a string")
    assert (await client.next("bot_uttered"))["error"] == "invalid_request"
    await client.sio.emit("user_uttered", {"message": "   "})
    assert (await client.next("bot_uttered"))["error"] == "empty_message"


async def test_message_without_session_request_gets_a_session(server, clients) -> None:
    client = await connected(clients, server)
    await client.sio.emit("user_uttered", {"message": "Hallo"})
    session_id = await client.next("session_confirm")
    assert len(session_id) >= 16
    assert (await client.next("bot_uttered"))["error"] == "rasa_unavailable"


async def test_foreign_origin_cannot_connect(server, clients) -> None:
    client = Client()
    clients.append(client)
    for transport in ("websocket", "polling"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url_of(server), transport=transport, headers={"Origin": "https://evil.example"})


async def test_loopback_origin_can_connect(server, clients) -> None:
    client = await connected(clients, server, headers={"Origin": "http://localhost:5173"})
    assert await client.start_session(None)


async def test_configured_origins_for_socketio(aiohttp_server, config, clients) -> None:
    server = await aiohttp_server(await init_app(config.replace(allowed_origins=("https://www.mannheim.de",))))
    await connected(clients, server, headers={"Origin": "https://www.mannheim.de"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connected(clients, server, headers={"Origin": "http://localhost:5173"})


async def test_oversized_socketio_message_drops_only_that_connection(server, clients) -> None:
    client = await connected(clients, server)
    session_id = await client.start_session(new_session())
    await client.sio.emit("user_uttered", {"message": "x" * 100_000, "session_id": session_id})
    for _ in range(50):
        if not client.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not client.sio.connected
    other = await connected(clients, server)
    assert await other.start_session(None)
