"""Two web-app instances sharing PostgreSQL and Redis (in this process, on real loopback ports; Rasa is not
needed here: it is a closed port, so every answer is the polite "not reachable" message).

- rate limits count for the cluster, not per instance;
- a live handover works when the entrepreneur's widget is on instance A and the staff member on instance B
  (socket.io through Redis, presence through Redis, the case in PostgreSQL);
- Redis unavailable: both instances keep answering (documented degradation: per-instance limits, socket.io
  only within an instance) and share again when Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import init_app
from bot.auth import COOKIE
from bot.keys import LIMITER
from bot.redis_support import REDIS_LINK, SharedRateLimiter
from bot.settings import Settings
from tests.bot.staff_helpers import add_user, bearer, case_payload, login, page_csrf
from tests.bot.test_socketio import Client as WidgetClient
from tests.bot.test_staff_live import Console
from tests.scale import services
from tools.stack import free_port

AVAILABILITY = "/internal/v1/units/tax_office/availability"


@dataclass
class Instance:
    server: TestServer
    http: TestClient

    @property
    def base(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")


def instance_config(tmp_path: Path, name: str, database: str, redis_url: str, prefix: str,
                    **overrides: object) -> Settings:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return Settings.for_tests(folder, database_url=services.asyncpg_url(database), redis_url=redis_url,
                              redis_prefix=prefix, rasa_url=f"http://127.0.0.1:{free_port()}",
                              profile="production", **overrides)


async def start_instances(aiohttp_server, tmp_path: Path, database: str, redis_url: str, prefix: str,
                          **overrides: object) -> list[Instance]:
    made = []
    for name in ("a", "b"):
        server = await aiohttp_server(await init_app(instance_config(tmp_path, name, database, redis_url, prefix,
                                                                     **overrides)))
        http = TestClient(server)
        await http.start_server()
        made.append(Instance(server, http))
    return made


@pytest.fixture
async def cleanup() -> AsyncIterator[list]:
    """Sockets and HTTP clients to close after the test (even when it fails)."""
    items: list = []
    yield items
    for item in reversed(items):
        if isinstance(item, TestClient):
            await asyncio.wait_for(item.close(), 10)
        else:
            await asyncio.wait_for(item.sio.eio.disconnect(abort=True), 10)
            http = item.sio.eio.http
            if http is not None and not http.closed:
                await http.close()
    print("cleanup done")  # noqa: T201


async def rest(instance: Instance, session_id: str, text: str) -> int:
    resp = await instance.http.post("/webhooks/rest/webhook", json={"sender": session_id, "message": text})
    await resp.read()
    return resp.status


async def test_rate_limit_counts_for_the_cluster(aiohttp_server, tmp_path, pg_database, redis_prefix,
                                                 cleanup) -> None:
    a, b = await start_instances(aiohttp_server, tmp_path, pg_database, services.REDIS_URL, redis_prefix,
                                 session_rate_per_minute=4, address_rate_per_minute=1000)
    cleanup.extend([a.http, b.http])
    session_id = uuid.uuid4().hex
    statuses = []
    for i in range(8):
        instance = (a, b)[i % 2]
        statuses.append(await rest(instance, session_id, f"Nachricht {i}"))
        await instance.server.app[LIMITER].drain()
    # 4 per minute for the session across both instances; each instance alone would allow 4 (8 in all).
    assert statuses == [200] * 4 + [429] * 4, statuses
    assert isinstance(a.server.app[LIMITER], SharedRateLimiter)


async def test_live_handover_across_instances(aiohttp_server, tmp_path, pg_database, redis_prefix,
                                              cleanup) -> None:
    a, b = await start_instances(aiohttp_server, tmp_path, pg_database, services.REDIS_URL, redis_prefix)
    cleanup.extend([a.http, b.http])
    await add_user(a.http, "tax@mannheim.de")
    cookie = (await login(b.http, "tax@mannheim.de")).cookies[COOKIE].value
    csrf = await page_csrf(b.http)
    assert (await (await a.http.get(AVAILABILITY, headers=bearer(a.http))).json())["staff_online"] == 0

    console = Console()  # staff member on instance B
    widget = WidgetClient()  # entrepreneur on instance A
    cleanup.extend([console, widget])
    await console.connect(b.base, cookie)
    # the action server asks instance A: it sees the staff member connected to B (presence in Redis)
    for _ in range(50):
        online = (await (await a.http.get(AVAILABILITY, headers=bearer(a.http))).json())["staff_online"]
        if online == 1:
            break
        await asyncio.sleep(0.1)
    assert online == 1

    await widget.connect(a.base)
    session_id = await widget.start_session(None)
    assert (await a.http.post("/api/v1/consent", json={"session_id": session_id})).status == 204
    payload = case_payload(session_id=session_id)
    assert (await a.http.post("/internal/v1/cases", json=payload, headers=bearer(a.http))).status == 201
    number = payload["case_number"]
    assert (await console.next("case_new"))["case_number"] == number  # created on A, seen on B

    resp = await b.http.post(f"/staff/cases/{number}/live", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 303
    await widget.sio.emit("user_uttered", {"message": "Hallo, ist da jemand?", "session_id": session_id})
    live = await console.next("live_message")
    assert live["case_number"] == number and live["message"]["text"] == "Hallo, ist da jemand?"
    assert await widget.next("bot_typing") == {"typing": True}
    assert await widget.next("bot_typing") == {"typing": False, "handled_by": "staff"}

    resp = await b.http.post(f"/staff/cases/{number}/reply", json={"text": "Ja, Steueramt hier."},
                             headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert resp.status == 200
    said = await widget.next("bot_uttered")  # sent on B, delivered by A
    assert said["text"] == "Ja, Steueramt hier." and said["sender"] == "staff"

    history = await (await a.http.get(f"/api/v1/conversations/{session_id}/messages")).json()
    assert [m["text"] for m in history["messages"]] == ["Hallo, ist da jemand?", "Ja, Steueramt hier."]


async def test_redis_unavailable_degrades_and_recovers(aiohttp_server, tmp_path, pg_database, private_redis,
                                                       cleanup, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="bot.redis_support")
    prefix = "kl:"
    a, b = await start_instances(aiohttp_server, tmp_path, pg_database, private_redis.url, prefix,
                                 session_rate_per_minute=4, address_rate_per_minute=1000)
    cleanup.extend([a.http, b.http])
    await add_user(a.http, "tax@mannheim.de")
    cookie = (await login(b.http, "tax@mannheim.de")).cookies[COOKIE].value

    private_redis.stop()
    async with asyncio.timeout(60):
        # 1. Users are still answered by both instances; rate limits now count per instance.
        session_id = uuid.uuid4().hex
        statuses = []
        for i in range(10):
            instance = (a, b)[i % 2]
            statuses.append(await rest(instance, session_id, f"Nachricht {i}"))
            await instance.server.app[LIMITER].drain()
        assert statuses == [200] * 8 + [429, 429], statuses
        assert "Redis" in caplog.text and "unavailable" in caplog.text
        # 2. The console still works on its own instance: the widget and the staff member both on B.
        console, widget = Console(), WidgetClient()
        cleanup.extend([console, widget])
        await console.connect(b.base, cookie)
        await widget.connect(b.base)
        sid = await widget.start_session(None)
        await b.http.post("/api/v1/consent", json={"session_id": sid})
        payload = case_payload(session_id=sid)
        assert (await b.http.post("/internal/v1/cases", json=payload, headers=bearer(b.http))).status == 201
        assert (await console.next("case_new"))["case_number"] == payload["case_number"]

        # 3. Redis is back: limits are shared again, and so are socket.io events and presence.
        private_redis.start()
        for instance in (a, b):
            link = instance.server.app[REDIS_LINK]
            for _ in range(20):
                if await link.ping():
                    break
                await asyncio.sleep(0.5)
        fresh = uuid.uuid4().hex
        statuses = []
        for i in range(6):
            instance = (a, b)[i % 2]
            statuses.append(await rest(instance, fresh, f"Nachricht {i}"))
            await instance.server.app[LIMITER].drain()
        assert statuses[:4] == [200] * 4 and statuses.count(200) <= 5 and statuses[-1] == 429, statuses
        assert "reachable again" in caplog.text
        payload = case_payload(session_id=sid)
        for _ in range(40):  # the socket.io subscriber of B reconnects within a few seconds
            assert (await a.http.post("/internal/v1/cases", json=payload, headers=bearer(a.http))).status in (200,
                                                                                                          201)
            try:
                event = await asyncio.wait_for(console.next("case_new"), 1)
            except (asyncio.TimeoutError, TimeoutError):
                payload = case_payload(session_id=sid)
                continue
            assert event["case_number"] == payload["case_number"]
            break
        else:
            raise AssertionError("socket.io events did not cross instances again after Redis came back")
