"""`python -m bot` as a real process: starts, serves, masks personal data in its log, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.bot.conftest import closed_port, new_session

ROOT = Path(__file__).resolve().parents[2]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def post(url: str, payload: dict) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",  # noqa: S310
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
        return resp.status, resp.read()


def test_python_m_bot_serves_and_stops(tmp_path) -> None:
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRISENLOTSE_") and k != "DATABASE_URL"}
    env |= {
        "KRISENLOTSE_RASA_TOKEN": "r" * 32, "KRISENLOTSE_SECRET_KEY": "s" * 32, "KRISENLOTSE_PORT": str(port),
        "KRISENLOTSE_RASA_URL": f"http://127.0.0.1:{closed_port()}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'kl.db'}",
        "KRISENLOTSE_RASA_TRACKER_DB": f"sqlite:///{tmp_path / 'tracker.db'}",
    }
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        sid = new_session()
        assert post(f"{base}/api/v1/consent", {"session_id": sid})[0] == 204
        status, body = post(f"{base}/webhooks/rest/webhook",
                            {"sender": sid, "message": "Rückruf unter 0621 2932222 oder max@example.org"})
        assert status == 200 and json.loads(body)[0]["error"] == "rasa_unavailable"
        urllib.request.urlopen(f"{base}/api/v1/conversations/{sid}/messages", timeout=5).read()  # noqa: S310
        assert (tmp_path / "var" / "kl.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    text = log.read_text(encoding="utf-8")
    assert "Starting on http://127.0.0.1" in text
    assert "r" * 32 not in text and "s" * 32 not in text
    assert sid not in text  # session ids in access-log paths are masked
    assert "2932222" not in text and "max@example.org" not in text
