"""The real action server (python -m actions.server) in a subprocess on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-1f9c0e"  # noqa: S105 - throwaway token for this test only

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRISENLOTSE_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def request(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    tmp = tmp_path_factory.mktemp("server")
    log = (tmp / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=server_env(
            KRISENLOTSE_ACTIONS_TOKEN=TOKEN,
            KRISENLOTSE_ACTIONS_HOST="127.0.0.1",
            KRISENLOTSE_ACTIONS_PORT=str(port),
            KRISENLOTSE_OUTBOX_DB=str(tmp / "outbox.db"),
            KRISENLOTSE_WEB_INTERNAL_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"action server exited with {proc.returncode}:\n{log.read()}")
            try:
                if request(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"action server did not come up:\n{log.read()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def action_call(action: str, slots: dict[str, Any]) -> dict[str, Any]:
    tracker = {
        "sender_id": "server-test",
        "slots": slots,
        "latest_message": {
            "intent": {"name": "contact_request", "confidence": 0.9},
            "intent_ranking": [],
            "entities": [],
            "text": "Wen rufe ich an?",
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {
        "next_action": action,
        "sender_id": "server-test",
        "tracker": tracker,
        "domain": {},
        "version": "3.6.21",
    }


def test_health_is_open(server: str) -> None:
    assert request(f"{server}/health") == (200, {"status": "ok"})


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", f"?tok={TOKEN}", f"?token={TOKEN}x"])
def test_webhook_refuses_without_the_right_token(server: str, query: str) -> None:
    status, body = request(f"{server}/webhook{query}", action_call("action_contact_card", {}))
    assert status == 401
    assert body == {"error": "missing or wrong token"}


def test_action_list_needs_the_token(server: str) -> None:
    assert request(f"{server}/actions")[0] == 401
    status, body = request(f"{server}/actions?token={TOKEN}")
    assert status == 200
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    served = {a["name"] for a in body if not a["name"].startswith("action_validate_")}
    assert served == set(domain["actions"])
    assert {
        "action_answer_topic",
        "action_human_handoff",
        "action_submit_case",
        "validate_escalation_form",
    } <= served


def test_webhook_serves_with_the_token(server: str) -> None:
    status, body = request(
        f"{server}/webhook?token={TOKEN}",
        action_call("action_contact_card", {"current_topic": "emergency_aid"}),
    )
    assert status == 200, body
    cards = [r["custom"] for r in body["responses"] if r.get("custom")]
    assert len(cards) == 1
    assert cards[0]["type"] == "contact_card"
    assert (cards[0]["topic"], cards[0]["unit"]["id"]) == ("emergency_aid", "chamber_of_commerce")
    assert {"event": "slot", "timestamp": None, "name": "misunderstandings", "value": 0} in body["events"]


@pytest.mark.parametrize("token", [None, "", "   "])
def test_refuses_to_start_without_token(token: str | None) -> None:
    env = server_env(KRISENLOTSE_ACTIONS_PORT=str(free_port()))
    if token is not None:
        env["KRISENLOTSE_ACTIONS_TOKEN"] = token
    proc = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "KRISENLOTSE_ACTIONS_TOKEN is not set" in proc.stderr


# --- the outbox retry loop inside the real server --------------------------------------------


async def test_server_delivers_pending_cases_from_the_outbox(tmp_path: Path) -> None:
    """A case left pending (web app was down) is delivered by the running server's background task."""
    import asyncio

    from actions.outbox import Outbox
    from tests.actions.conftest import INTERNAL_TOKEN, FakeWebApp

    payload = {"case_number": "KL-SRVR-TEST", "session_id": "s", "unit": "business_development",
               "contact": {"email": "a@b.de"}, "description": "Wir brauchen Hilfe, bitte melden."}  # fmt: skip
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(payload, next_attempt_at=0)
    webapp = await FakeWebApp().start()
    port = free_port()
    log = (tmp_path / "server.log").open("w+")
    # starting the process does not block; the fake web app keeps serving while we await below
    proc = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=server_env(
            KRISENLOTSE_ACTIONS_TOKEN=TOKEN,
            KRISENLOTSE_ACTIONS_PORT=str(port),
            KRISENLOTSE_OUTBOX_DB=str(tmp_path / "outbox.db"),
            KRISENLOTSE_WEB_INTERNAL_URL=webapp.url,
            KRISENLOTSE_INTERNAL_TOKEN=INTERNAL_TOKEN,
            KRISENLOTSE_OUTBOX_RETRY_SECONDS="0.2",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "KL-SRVR-TEST" not in webapp.cases:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"case not delivered by the server:\n{log.read()}")
            await asyncio.sleep(0.2)
        assert webapp.posted_cases()[0]["headers"]["Authorization"] == f"Bearer {INTERNAL_TOKEN}"
        entry = None
        for _ in range(50):
            entry = await outbox.get("KL-SRVR-TEST")
            if entry is not None and entry.status == "delivered":
                break
            await asyncio.sleep(0.1)
        assert entry is not None and entry.status == "delivered"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        await webapp.stop()
        log.seek(0)
        output = log.read()
        log.close()
    assert "KL-SRVR-TEST delivered" in output
    assert "a@b.de" not in output  # no contact data in the log


def test_refuses_to_start_without_a_usable_outbox(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=server_env(
            KRISENLOTSE_ACTIONS_TOKEN=TOKEN,
            KRISENLOTSE_ACTIONS_PORT=str(free_port()),
            KRISENLOTSE_OUTBOX_DB=str(blocker / "outbox.db"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 4
    assert "cannot open the case outbox" in proc.stderr
