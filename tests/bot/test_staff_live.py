"""Live handover over socket.io against a real loopback server: the console namespace /staff (session cookie,
presence for the availability endpoint, live_message/case_new events) and staff replies in the widget's room."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio
from aiohttp.test_utils import TestClient, TestServer

from bot.app import init_app
from bot.auth import COOKIE
from tests.bot.staff_helpers import add_user, bearer, case_payload, login, page_csrf
from tests.bot.test_socketio import TIMEOUT
from tests.bot.test_socketio import Client as WidgetClient


class Console:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in ("case_new", "case_updated", "live_message"):
            self.sio.on(name, self._handler(name), namespace="/staff")

    def _handler(self, name: str):  # noqa: ANN202
        async def handler(data: Any = None) -> None:
            await self.events.put((name, data))

        return handler

    async def connect(self, url: str, cookie: str | None, origin: str | None = None) -> None:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        if origin:
            headers["Origin"] = origin
        await self.sio.connect(url, socketio_path="/socket.io/", transports=["websocket"], headers=headers,
                               namespaces=["/staff"], wait_timeout=TIMEOUT)

    async def next(self, name: str) -> Any:
        while True:
            event, data = await asyncio.wait_for(self.events.get(), TIMEOUT)
            if event == name:
                return data


async def test_console_socket_needs_a_session(aiohttp_server, config) -> None:
    server = await aiohttp_server(await init_app(config))
    console = Console()
    try:
        await console.connect(str(server.make_url("/")), None)
    except socketio.exceptions.ConnectionError:
        pass
    else:
        raise AssertionError("connected without a session")
    finally:
        await console.sio.disconnect()


async def test_console_socket_refuses_other_origins_even_with_a_session(aiohttp_server, config) -> None:
    # A page on another loopback port may embed the widget, but must not use a staff member's session.
    server: TestServer = await aiohttp_server(await init_app(config))
    base = str(server.make_url("/")).rstrip("/")
    async with TestClient(server) as http:
        await add_user(http, "tax@mannheim.de")
        cookie = (await login(http, "tax@mannheim.de")).cookies[COOKIE].value
        foreign = Console()
        try:
            await foreign.connect(base, cookie, origin="http://127.0.0.1:1")
        except socketio.exceptions.ConnectionError:
            pass
        else:
            raise AssertionError("a foreign origin got a staff socket")
        finally:
            await foreign.sio.disconnect()
        own = Console()
        try:
            await own.connect(base, cookie, origin=base)
            assert own.sio.connected
        finally:
            await own.sio.disconnect()


async def test_presence_events_and_live_chat(aiohttp_server, config) -> None:
    server: TestServer = await aiohttp_server(await init_app(config))
    base = str(server.make_url("/")).rstrip("/")
    async with TestClient(server) as http:
        await add_user(http, "tax@mannheim.de")
        resp = await login(http, "tax@mannheim.de")
        cookie = resp.cookies[COOKIE].value
        csrf = await page_csrf(http)
        availability = "/internal/v1/units/tax_office/availability"
        assert (await (await http.get(availability, headers=bearer(http))).json())["staff_online"] == 0

        console = Console()
        widget = WidgetClient()
        try:
            await console.connect(base, cookie)
            assert (await (await http.get(availability, headers=bearer(http))).json())["staff_online"] == 1

            await widget.connect(base)
            session_id = await widget.start_session(None)
            await http.post("/api/v1/consent", json={"session_id": session_id})
            payload = case_payload(session_id=session_id)
            assert (await http.post("/internal/v1/cases", json=payload, headers=bearer(http))).status == 201
            assert (await console.next("case_new"))["case_number"] == payload["case_number"]

            number = payload["case_number"]
            resp = await http.post(f"/staff/cases/{number}/live", data={"csrf_token": csrf}, allow_redirects=False)
            assert resp.status == 303
            # the entrepreneur writes: it goes to the console, the widget stops waiting, Rasa is not asked
            await widget.sio.emit("user_uttered", {"message": "Hallo, ist da jemand?", "session_id": session_id})
            live = await console.next("live_message")
            assert live["case_number"] == number and live["message"]["text"] == "Hallo, ist da jemand?"
            assert await widget.next("bot_typing") == {"typing": True}
            assert await widget.next("bot_typing") == {"typing": False, "handled_by": "staff"}
            assert widget.events["bot_uttered"].empty()
            # staff reply reaches the widget as bot_uttered with sender staff
            resp = await http.post(f"/staff/cases/{number}/reply", json={"text": "Ja, Steueramt hier."},
                                   headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
            assert resp.status == 200
            said = await widget.next("bot_uttered")
            assert said["text"] == "Ja, Steueramt hier." and said["sender"] == "staff"
            assert said["staff_name"] == "tax" and said["message_id"]
        finally:
            await widget.sio.disconnect()
            await console.sio.disconnect()
        await asyncio.sleep(0.2)
        assert (await (await http.get(availability, headers=bearer(http))).json())["staff_online"] == 0


async def test_origin_check_applies_to_the_console(aiohttp_server, config) -> None:
    server = await aiohttp_server(await init_app(config))
    async with aiohttp.ClientSession() as session:
        resp = await session.get(server.make_url("/socket.io/"), params={"EIO": "4", "transport": "polling"},
                                 headers={"Origin": "https://evil.example"})
        assert resp.status in (400, 403)
