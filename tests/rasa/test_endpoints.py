"""The committed endpoints.yml, as Rasa reads it for `make run` and raw `rasa` commands."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_action_server_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rasa expands ${VAR} only in unquoted YAML scalars; a quoted one was sent literally (401 from actions).
    from rasa.core.utils import AvailableEndpoints

    monkeypatch.setenv("KRISENLOTSE_ACTIONS_TOKEN", "t0k-en_value")
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert endpoints.action.url == "http://127.0.0.1:5055/webhook"
    assert endpoints.action.token == "t0k-en_value"
    assert endpoints.action.token_name == "token"


def test_tracker_store_is_sqlite_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.utils import AvailableEndpoints

    monkeypatch.setenv("KRISENLOTSE_ACTIONS_TOKEN", "x")
    store = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml")).tracker_store
    assert store.type == "SQL" and store.kwargs["dialect"] == "sqlite"
    assert store.kwargs["db"].startswith("var/")
