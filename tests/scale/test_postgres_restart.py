"""PostgreSQL is restarted (fast mode: open transactions aborted, every connection cut) while two web-app
instances take messages and cases: nothing that was acknowledged is lost, and both instances store again
after the restart without being restarted themselves.

Acknowledged means what the sender was told: a case is acknowledged by ``201``/``200`` from the internal API
(the action server's outbox keeps and retries everything else); a user message by the answer "Ihre Nachricht
wurde gespeichert" (Rasa is a closed port here, so every answer is the "not reachable" one, which says
whether the message was kept). The test uses a PostgreSQL server of its own (same binaries as the machine's)
so the restart disturbs nothing else; it stops by itself after a fixed time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import init_app
from bot.gateway import TEXT_UNAVAILABLE_STORED
from bot.keys import ENGINE, STORE
from bot.models import Case
from bot.settings import Settings
from tests.bot.staff_helpers import case_payload
from tests.scale import services
from tools.stack import free_port

pytestmark = [pytest.mark.slow]

LOAD_SECONDS = 12.0
RESTART_AFTER = 3.0
WORKERS = 6
STORED_MARK = TEXT_UNAVAILABLE_STORED.split(".")[1].strip()  # "Ihre Nachricht wurde gespeichert, …"


@dataclass
class Tally:
    acked_messages: list[tuple[str, str]] = field(default_factory=list)  # (session, text)
    refused_messages: int = 0
    acked_cases: list[str] = field(default_factory=list)
    failed_cases: int = 0
    acked_after_restart: int = 0
    errors: list[str] = field(default_factory=list)


async def create_database(server: services.PrivatePostgres, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def test_postgresql_restart_under_load_loses_nothing_acknowledged(aiohttp_server, tmp_path: Path,
                                                                       private_postgresql, redis_prefix) -> None:
    await create_database(private_postgresql, "krisenlotse")
    clients: list[TestClient] = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        config = Settings.for_tests(folder, database_url=private_postgresql.url("krisenlotse"),
                                    redis_url=services.REDIS_URL, redis_prefix=redis_prefix, profile="production",
                                    rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2.0,
                                    session_rate_per_minute=100_000, address_rate_per_minute=100_000)
        server: TestServer = await aiohttp_server(await init_app(config))
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
    bearer = {"Authorization": "Bearer test-internal-token-0123456789"}
    sessions = [uuid.uuid4().hex for _ in range(WORKERS)]
    for sid in sessions:
        assert (await clients[0].post("/api/v1/consent", json={"session_id": sid})).status == 204

    tally = Tally()
    restarted_at: list[float] = []
    start = time.monotonic()

    async def worker(n: int) -> None:
        sid = sessions[n]
        i = 0
        while time.monotonic() - start < LOAD_SECONDS:
            client = clients[(n + i) % 2]
            i += 1
            text = f"Nachricht {n}-{i}"
            try:
                resp = await client.post("/webhooks/rest/webhook", json={"sender": sid, "message": text})
                body = await resp.json() if resp.status == 200 else []
            except Exception as exc:  # noqa: BLE001 - the load goes on; counted as not acknowledged
                tally.errors.append(type(exc).__name__)
                continue
            if resp.status == 200 and STORED_MARK in (body[0].get("text") or ""):
                tally.acked_messages.append((sid, text))
                if restarted_at and time.monotonic() > restarted_at[0]:
                    tally.acked_after_restart += 1
            else:
                tally.refused_messages += 1
            if i % 3 == 0:
                payload = case_payload(session_id=sid)
                resp = await client.post("/internal/v1/cases", json=payload, headers=bearer)
                await resp.read()
                if resp.status in (200, 201):
                    tally.acked_cases.append(payload["case_number"])
                else:
                    tally.failed_cases += 1
            await asyncio.sleep(0.02)

    async def restart() -> None:
        await asyncio.sleep(RESTART_AFTER)
        await asyncio.to_thread(private_postgresql.restart)
        restarted_at.append(time.monotonic())

    try:
        async with asyncio.timeout(LOAD_SECONDS + 90):
            await asyncio.gather(restart(), *(worker(n) for n in range(WORKERS)))
        assert restarted_at, "PostgreSQL was not restarted"
        assert tally.acked_after_restart > 0, "no message was stored after the restart (no recovery)"

        store = clients[1].server.app[STORE]
        for sid in sessions:
            history = await store.history(sid)
            stored = {m["text"] for m in history or [] if m["sender"] == "user"}
            lost = [text for s, text in tally.acked_messages if s == sid and text not in stored]
            assert not lost, f"acknowledged but lost: {lost}"
        async with clients[1].server.app[ENGINE].connect() as conn:
            known = set((await conn.execute(select(Case.case_number))).scalars())
        missing = [number for number in tally.acked_cases if number not in known]
        assert not missing, f"acknowledged cases lost: {missing}"
    finally:
        for client in clients:
            await client.close()
    print(f"acknowledged {len(tally.acked_messages)} messages ({tally.refused_messages} answered as not kept), "  # noqa: T201
          f"{len(tally.acked_cases)} cases ({tally.failed_cases} refused, to be retried by the outbox)")
