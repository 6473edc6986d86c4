"""Fault tests against the real services: the action server and Rasa are killed (SIGKILL) in the middle of a
conversation and started again; the web app (in-process, the real gateway) must answer politely meanwhile,
keep the user's messages and carry on with the conversation's context afterwards.

The tests start their own action server and Rasa (module scope, free loopback ports) so that killing them
never disturbs the session-wide ``rasa_stack`` of other tests. Every step is bounded in time; a test stops
by itself. Slow: one Rasa start (~25-90 s on 2 cores) plus one restart.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient

from bot.app import init_app
from bot.settings import Settings
from tests.bot.conftest import new_session
from tests.support.stack import skip_or_fail
from tools import stack

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

T = TypeVar("T")

RASA_START_SECONDS = 400  # a cold Rasa start on a busy 2-core machine
ACTIONS_START_SECONDS = 90
POLITE_SECONDS = 5.0  # the polite answer while a service is down comes at once (connection refused)
STEP_SECONDS = 60.0  # one answer of the real stack (generous: other tests share the CPU)


@dataclass
class FaultStack:
    rasa: stack.Service
    actions: stack.Service
    rasa_url: str
    actions_url: str
    tracker_db: Path
    token: str

    def ensure_up(self) -> None:
        """Start what a previous (failed) test left dead."""
        if not self.actions.alive():
            self.actions.start()
            self.actions.wait_ready(ACTIONS_START_SECONDS)
        if not self.rasa.alive():
            self.rasa.start()
            self.rasa.wait_ready(RASA_START_SECONDS, stack.model_loaded)


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    model = Path(os.environ["KRISENLOTSE_TEST_MODEL"]) if os.environ.get("KRISENLOTSE_TEST_MODEL") \
        else stack.latest_model()
    if model is None or not model.exists():
        skip_or_fail("no trained Rasa model in models/ (run `make train`)")
    if not (stack.RASA_VENV / "bin" / "rasa").exists():
        skip_or_fail(f"no Rasa environment at {stack.RASA_VENV} (run `make install`)")
    if not (stack.ROOT / "var" / "spacy" / "de_krisenlotse").exists():
        skip_or_fail("German spaCy pipeline missing (run `make spacy`)")
    tmp = tmp_path_factory.mktemp("fault_stack")
    token, actions_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    actions_port, rasa_port = stack.free_port(), stack.free_port()
    tracker_db = tmp / "tracker.db"
    endpoints = stack.write_endpoints(tmp / "endpoints.yml", actions_port, actions_token, tracker_db)
    actions = stack.actions_service(actions_port, actions_token, tmp, outbox_db=tmp / "outbox.db",
                                    web_internal_url=f"http://127.0.0.1:{stack.free_port()}")
    rasa = stack.rasa_service(rasa_port, token, model, endpoints, tmp)
    actions.start()
    rasa.start()
    try:
        actions.wait_ready(ACTIONS_START_SECONDS)
        rasa.wait_ready(RASA_START_SECONDS, stack.model_loaded)
        yield FaultStack(rasa, actions, f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}",
                         tracker_db, token)
    finally:
        rasa.stop()
        actions.stop()


@pytest.fixture
async def gateway(aiohttp_client: Any, tmp_path: Path, fault_stack: FaultStack) -> TestClient:
    """The real web app in-process, talking to the fault stack's Rasa."""
    await asyncio.to_thread(fault_stack.ensure_up)
    config = Settings.for_tests(tmp_path, rasa_url=fault_stack.rasa_url, actions_url=fault_stack.actions_url,
                                rasa_token=fault_stack.token, readiness_timeout=5.0, rasa_tracker_db=f"sqlite:///{fault_stack.tracker_db}", rasa_timeout=30.0)
    return await aiohttp_client(await init_app(config))


async def bounded(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        pytest.fail(f"{what} took longer than {seconds:g} s")


async def say(client: TestClient, session_id: str, text: str, seconds: float = STEP_SECONDS) -> list[dict]:
    async def post() -> list[dict]:
        resp = await client.post("/webhooks/rest/webhook", json={
            "sender": session_id, "message": text,
            "metadata": {"consent": True, "page_url": "https://www.mannheim.de/wirtschaft", "page_language": "de"}})
        assert resp.status == 200, await resp.text()
        return await resp.json()

    return await bounded(post(), seconds, f"the answer to {text!r}")


def is_polite_unavailable(messages: list[dict]) -> bool:
    """The gateway's answer while Rasa or the action server is down: a German apology + the contact card."""
    texts = [m.get("text") or "" for m in messages]
    cards = [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]
    return (all(m.get("error") == "rasa_unavailable" for m in messages)
            and any("nicht erreichbar" in t and "Entschuldigung" in t for t in texts)
            and any(c.get("type") == "contact_card" and "Wirtschaftsförderung" in str(c) for c in cards))


def answered(messages: list[dict]) -> bool:
    return bool(messages) and not any(m.get("error") for m in messages)


def card_topic(messages: list[dict]) -> str | None:
    for m in messages:
        custom = m.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "contact_card":
            return custom.get("topic")
    return None


async def history(client: TestClient, session_id: str) -> list[dict]:
    resp = await client.get(f"/api/v1/conversations/{session_id}/messages")
    assert resp.status == 200, await resp.text()
    return (await resp.json())["messages"]


async def test_action_server_killed_mid_conversation(gateway: TestClient, fault_stack: FaultStack) -> None:
    session_id = new_session()
    first = await say(gateway, session_id, "Gibt es Soforthilfen für kleine Betriebe?")
    assert answered(first), first

    fault_stack.actions.kill()
    started = time.monotonic()
    during = await say(gateway, session_id, "Wie beantrage ich Kurzarbeit?", POLITE_SECONDS + 30)
    assert is_polite_unavailable(during), during
    print(f"polite answer with the action server down after {time.monotonic() - started:.2f} s")
    stored = await history(gateway, session_id)
    kept = [m for m in stored if m["sender"] == "user" and m["text"] == "Wie beantrage ich Kurzarbeit?"]
    assert kept and kept[0]["delivered"] is False, stored

    await bounded(asyncio.to_thread(fault_stack.actions.start), 10, "starting the action server")
    await bounded(asyncio.to_thread(fault_stack.actions.wait_ready, ACTIONS_START_SECONDS),
                  ACTIONS_START_SECONDS + 5, "the action server's restart")
    again = await say(gateway, session_id, "Wie beantrage ich Kurzarbeit?")
    assert answered(again), again
    assert any("Agentur für Arbeit" in (m.get("text") or "") for m in again), again
    # The context is the one from before and after the fault: "whom do I call" means Kurzarbeit now.
    follow_up = await say(gateway, session_id, "und wen rufe ich da an?")
    assert answered(follow_up), follow_up
    assert card_topic(follow_up) == "short_time_work_application", follow_up


async def test_rasa_killed_and_restarted(gateway: TestClient, fault_stack: FaultStack) -> None:
    session_id = new_session()
    first = await say(gateway, session_id, "Wie beantrage ich Kurzarbeit?")
    assert answered(first), first
    assert card_topic(first) == "short_time_work_application", first

    fault_stack.rasa.kill()
    outage = ["Hallo, sind Sie noch da?", "Ich warte auf eine Antwort zur Kurzarbeit."]
    for text in outage:
        started = time.monotonic()
        reply = await say(gateway, session_id, text, POLITE_SECONDS)
        assert is_polite_unavailable(reply), reply
        assert "gespeichert" in reply[0]["text"]  # consented: the user is told the message was kept
        assert time.monotonic() - started < POLITE_SECONDS
    readiness = await gateway.get("/readyz")
    assert readiness.status == 503
    assert (await readiness.json())["checks"]["rasa"] == "unavailable"

    # Restart; while Rasa loads its model the gateway keeps answering politely.
    await bounded(asyncio.to_thread(fault_stack.rasa.start), 10, "starting Rasa")
    loading = await say(gateway, session_id, "Hallo?", POLITE_SECONDS + 30)
    assert is_polite_unavailable(loading) or answered(loading), loading
    started = time.monotonic()
    await bounded(asyncio.to_thread(fault_stack.rasa.wait_ready, RASA_START_SECONDS, stack.model_loaded),
                  RASA_START_SECONDS + 10, "Rasa's restart")
    print(f"Rasa back after {time.monotonic() - started:.1f} s")

    # The conversation goes on with its context: Rasa's tracker (SQL store) survived the kill.
    follow_up = await say(gateway, session_id, "und wen rufe ich da an?")
    assert answered(follow_up), follow_up
    assert card_topic(follow_up) == "short_time_work_application", follow_up
    assert (await gateway.get("/readyz")).status == 200

    stored = await history(gateway, session_id)
    users = {m["text"]: m for m in stored if m["sender"] == "user"}
    for text in outage:
        assert users[text]["delivered"] is False, stored  # recorded, marked undelivered
    assert users["und wen rufe ich da an?"].get("delivered", True) is True
