"""pytest fixture ``rasa_stack``: the real action server and Rasa server on free loopback ports.

Load with ``pytest_plugins = ["tests.support.stack"]``. Starting Rasa takes 30-60 s, so the fixture is
session-scoped. Without a trained model (``make train``) the tests skip with the reason, unless
``KRISENLOTSE_REQUIRE_SERVICES=1`` (CI), where a missing model is an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import stack
from tools.run import active_model


def require_services() -> bool:
    return os.environ.get("KRISENLOTSE_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    if require_services():
        pytest.fail(f"{reason} (KRISENLOTSE_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@dataclass
class RasaStack:
    rasa_url: str
    actions_url: str
    token: str
    actions_token: str
    tracker_db: Path
    model: Path
    rasa: stack.Service
    actions: stack.Service
    log_dir: Path
    internal_token: str = ""
    web_port: int = 0  # reserved for a web app that receives cases from the action server

    def send(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """One message through Rasa's REST channel; returns the bot messages."""
        status, body = stack.http_post_json(
            f"{self.rasa_url}/webhooks/rest/webhook",
            {"sender": sender, "message": message, "metadata": metadata or {}},
        )
        assert status == 200, f"Rasa answered {status}: {body}"
        return body

    def tracker(self, sender: str) -> dict:
        import json

        status, body = stack.http_get(f"{self.rasa_url}/conversations/{sender}/tracker?token={self.token}", 10)
        assert status == 200, status
        return json.loads(body)

    def restart_actions(self) -> None:
        self.actions.stop()
        self.actions.start()
        self.actions.wait_ready(60)


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    model = Path(os.environ["KRISENLOTSE_TEST_MODEL"]) if os.environ.get("KRISENLOTSE_TEST_MODEL") \
        else active_model() or stack.latest_model()  # models/active.txt: the model activated in /ops/models
    if model is None or not model.exists():
        skip_or_fail("no trained Rasa model in models/ (run `make train`)")
    if not (stack.RASA_VENV / "bin" / "rasa").exists():
        skip_or_fail(f"no Rasa environment at {stack.RASA_VENV} (run `make install`)")
    if not (stack.ROOT / "var" / "spacy" / "de_krisenlotse").exists():
        skip_or_fail("German spaCy pipeline missing (run `make spacy`)")

    tmp = tmp_path_factory.mktemp("rasa_stack")
    token, actions_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    internal_token = secrets.token_urlsafe(24)
    actions_port, rasa_port, web_port = stack.free_port(), stack.free_port(), stack.free_port()
    tracker_db = tmp / "tracker.db"
    endpoints = stack.write_endpoints(tmp / "endpoints.yml", actions_port, actions_token, tracker_db)
    # The action server hands cases to the web app on ``web_port`` (a test that needs that starts the web
    # app there with ``internal_token``); until then cases wait in the outbox.
    actions = stack.actions_service(actions_port, actions_token, tmp, internal_token=internal_token,
                                    web_internal_url=f"http://127.0.0.1:{web_port}", outbox_db=tmp / "outbox.db")
    rasa = stack.rasa_service(rasa_port, token, model, endpoints, tmp)
    actions.start()
    rasa.start()
    try:
        actions.wait_ready(90)
        rasa.wait_ready(240, stack.model_loaded)
        yield RasaStack(
            rasa_url=f"http://127.0.0.1:{rasa_port}", actions_url=f"http://127.0.0.1:{actions_port}",
            token=token, actions_token=actions_token, tracker_db=tracker_db, model=model,
            rasa=rasa, actions=actions, log_dir=tmp, internal_token=internal_token, web_port=web_port,
        )
    finally:
        rasa.stop()
        actions.stop()
