"""actions/delivery.py against a real aiohttp server on loopback standing in for the web app's internal API.

Persist-then-acknowledge: the case is in the outbox before the first attempt; 201/200 mark it delivered,
503/401/closed port leave it pending (the retry loop delivers it later), 400 marks it failed for good.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from actions import delivery
from actions.delivery import (
    DeliveryConfig,
    Result,
    WebAppClient,
    backoff,
    deliver_due,
    deliver_now,
    run_retry_loop,
)
from actions.outbox import Outbox
from tests.actions.conftest import INTERNAL_TOKEN, FakeWebApp, free_port


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "FIRST_PAUSE", 0.05)


def case(number: str = "KL-7H3K-Q9PX") -> dict[str, Any]:
    return {
        "case_number": number,
        "session_id": "s-1",
        "unit": "business_development",
        "priority": "normal",
        "trigger": "human_handoff",
        "contact": {"name": "Anna Schmidt", "email": "anna@mueller-bau.de", "phone": None},
        "description": "Wir brauchen Hilfe bei der Kurzarbeit.",
        "expected_response_by": "2026-11-25T11:00:00+01:00",
        "created_at": "2026-11-24T10:00:00+01:00",
    }


def client_for(url: str, token: str = INTERNAL_TOKEN, interval: float = 0.05) -> WebAppClient:
    return WebAppClient(DeliveryConfig(base_url=url, token=token, retry_interval=interval))


async def stored(tmp_path: Path, payload: dict[str, Any] | None = None) -> Outbox:
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(payload or case())
    return outbox


# --- single calls ------------------------------------------------------------------------


async def test_created_then_known_is_idempotent(webapp: FakeWebApp) -> None:
    client = client_for(webapp.url)
    first = await client.post_case(case())
    again = await client.post_case(case())
    assert (first.status, first.ok) == (201, True)
    assert (again.status, again.ok) == (200, True)
    assert len(webapp.cases) == 1


async def test_token_header_is_sent(webapp: FakeWebApp) -> None:
    await client_for(webapp.url).post_case(case())
    request = webapp.posted_cases()[0]
    assert request["headers"]["Authorization"] == f"Bearer {INTERNAL_TOKEN}"
    assert request["json"] == case()


async def test_wrong_token_is_retryable_not_permanent(webapp: FakeWebApp) -> None:
    result = await client_for(webapp.url, token="wrong").post_case(case())  # noqa: S106
    assert (result.status, result.ok, result.permanent) == (401, False, False)
    assert webapp.cases == {}


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (404, True), (409, True), (422, True), (401, False), (408, False), (429, False), (500, False),
     (503, False)],
)  # fmt: skip
async def test_status_classification(webapp: FakeWebApp, status: int, permanent: bool) -> None:
    webapp.case_status = status
    result = await client_for(webapp.url).post_case(case())
    assert result.status == status
    assert not result.ok
    assert result.permanent is permanent
    assert result.error.startswith(f"HTTP {status}")


async def test_closed_port_is_no_answer() -> None:
    result = await client_for(f"http://127.0.0.1:{free_port()}").post_case(case())
    assert (result.status, result.ok, result.permanent) == (0, False, False)


async def test_offline_client_makes_no_request(webapp: FakeWebApp) -> None:
    for client in (client_for(webapp.url, token=""), client_for("off")):
        assert client.offline
        assert (await client.post_case(case())).status == 0
        assert await client.staff_online("business_development") is None
    assert webapp.requests == []


async def test_staff_online(webapp: FakeWebApp) -> None:
    client = client_for(webapp.url)
    webapp.staff_online = 2
    assert await client.staff_online("business_development") == 2
    assert webapp.requests[-1]["path"] == "/internal/v1/units/business_development/availability"
    for bad in (True, "2", None, -1.5):
        webapp.staff_online = bad
        assert await client.staff_online("business_development") is None
    webapp.staff_online, webapp.availability_status = 3, 500
    assert await client.staff_online("business_development") is None
    assert await client_for(f"http://127.0.0.1:{free_port()}").staff_online("business_development") is None


# --- deliver_now: persist first, then a few quick attempts ---------------------------------


async def test_deliver_now_marks_delivered(webapp: FakeWebApp, tmp_path: Path) -> None:
    outbox = await stored(tmp_path)
    result = await deliver_now(outbox, client_for(webapp.url), case())
    assert result.ok
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None and entry.status == "delivered"
    assert "contact" not in entry.payload  # no personal data kept after delivery


async def test_deliver_now_when_the_web_app_is_down_keeps_the_case_pending(tmp_path: Path) -> None:
    outbox = await stored(tmp_path)
    started = time.monotonic()
    result = await deliver_now(outbox, client_for(f"http://127.0.0.1:{free_port()}"), case(), budget=0.6)
    assert time.monotonic() - started < 2.0  # within the budget
    assert (result.status, result.ok) == (0, False)
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None
    assert entry.status == "pending" and entry.attempts >= 2


async def test_deliver_now_retries_503_within_the_budget(webapp: FakeWebApp, tmp_path: Path) -> None:
    webapp.case_status = 503
    outbox = await stored(tmp_path)
    result = await deliver_now(outbox, client_for(webapp.url), case(), budget=0.6)
    assert result.status == 503
    assert len(webapp.posted_cases()) >= 2
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None and (entry.status, entry.last_status) == ("pending", 503)


async def test_deliver_now_gives_up_for_good_on_400(
    webapp: FakeWebApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    webapp.case_status = 400
    outbox = await stored(tmp_path)
    with caplog.at_level(logging.ERROR, logger="actions.delivery"):
        result = await deliver_now(outbox, client_for(webapp.url), case(), budget=2.0)
    assert result.permanent
    assert len(webapp.posted_cases()) == 1  # not retried
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None
    assert (entry.status, entry.last_status) == ("failed", 400)
    assert entry.payload == case()  # kept for a person to look at
    assert "KL-7H3K-Q9PX" in caplog.text and "failed" in caplog.text
    assert "anna" not in caplog.text.casefold()  # no personal data in the log


async def test_deliver_now_offline_does_not_wait(tmp_path: Path) -> None:
    outbox = await stored(tmp_path)
    result = await deliver_now(outbox, client_for("off"), case(), budget=5.0)
    assert result.status == 0
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None and entry.status == "pending"


# --- the retry loop --------------------------------------------------------------------------


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def status_soon(
    outbox: Outbox, case_number: str, wanted: str = "delivered", timeout: float = 5.0
) -> str:
    """The entry's status once it is ``wanted`` (or whatever it is when ``timeout`` runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        entry = await outbox.get(case_number)
        status = entry.status if entry else "missing"
        if status == wanted or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.02)


async def test_retry_loop_delivers_once_the_web_app_is_up(tmp_path: Path) -> None:
    port = free_port()
    client = client_for(f"http://127.0.0.1:{port}", interval=0.05)
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case(), next_attempt_at=0)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(run_retry_loop(outbox, client, stop))
    try:
        await asyncio.sleep(0.3)  # web app down: a few rounds, the case stays
        entry = await outbox.get("KL-7H3K-Q9PX")
        assert entry is not None and entry.status == "pending" and entry.attempts >= 1
        webapp = await FakeWebApp(port=port).start()  # web app comes up
        try:
            await wait_for(lambda: "KL-7H3K-Q9PX" in webapp.cases)
            assert webapp.cases["KL-7H3K-Q9PX"] == case()
            assert await status_soon(outbox, "KL-7H3K-Q9PX") == "delivered"
        finally:
            await webapp.stop()
    finally:
        stop.set()
        await asyncio.wait_for(loop_task, timeout=5)


async def test_deliver_due_redelivers_a_case_the_web_app_already_has(
    webapp: FakeWebApp, tmp_path: Path
) -> None:
    """The web app took the case but the answer was lost: the next round gets 200 and is done."""
    client = client_for(webapp.url)
    await client.post_case(case())  # web app has it already
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case(), next_attempt_at=0)
    assert await deliver_due(outbox, client) == {"delivered": 1, "failed": 0, "pending": 0}
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None and (entry.status, entry.last_status) == ("delivered", 200)
    assert len(webapp.cases) == 1


async def test_deliver_due_backs_off_and_marks_refused_cases(webapp: FakeWebApp, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case("KL-AAAA-AAAA"), next_attempt_at=0)
    webapp.case_status = 503
    client = client_for(webapp.url, interval=1.0)
    assert await deliver_due(outbox, client) == {"delivered": 0, "failed": 0, "pending": 1}
    entry = await outbox.get("KL-AAAA-AAAA")
    assert entry is not None and entry.next_attempt_at > time.time() + 0.5  # waits before the next try
    assert await deliver_due(outbox, client) == {"delivered": 0, "failed": 0, "pending": 0}  # not due yet
    webapp.case_status = 422
    await outbox.add(case("KL-BBBB-BBBB"), next_attempt_at=0)
    assert await deliver_due(outbox, client) == {"delivered": 0, "failed": 1, "pending": 0}
    assert await outbox.counts() == {"pending": 1, "delivered": 0, "failed": 1}


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n, 5.0) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff(10, 5.0) == delivery.MAX_BACKOFF
    assert backoff(0, 5.0) == 5.0


def test_config_from_env(tmp_path: Path) -> None:
    config = DeliveryConfig.from_env(
        {
            "KRISENLOTSE_WEB_INTERNAL_URL": "http://127.0.0.1:9000/",
            "KRISENLOTSE_INTERNAL_TOKEN": " secret ",
            "KRISENLOTSE_OUTBOX_DB": str(tmp_path / "o.db"),
            "KRISENLOTSE_OUTBOX_RETRY_SECONDS": "2.5",
        }
    )
    assert config == DeliveryConfig("http://127.0.0.1:9000", "secret", tmp_path / "o.db", 2.5)
    assert not config.offline
    default = DeliveryConfig.from_env({})
    assert (default.base_url, default.retry_interval, default.offline) == ("http://127.0.0.1:8080", 5.0, True)
    assert DeliveryConfig.from_env({"KRISENLOTSE_OUTBOX_RETRY_SECONDS": "soon"}).retry_interval == 5.0


def test_result_flags() -> None:
    assert Result(201).ok and Result(200).ok and not Result(204).ok
    assert Result(400).permanent and not Result(0).permanent and not Result(503).permanent
