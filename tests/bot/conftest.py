"""Fixtures for the web app tests (web environment: .venv-web).

Fast tests run the app in-process with ``aiohttp_client(await init_app(config))`` and point it at a closed
loopback port for Rasa ("Rasa down"). Tests that need real answers use the real Rasa and action server
from the ``rasa_stack`` fixture (tests/support/stack.py, loaded by tests/conftest.py) and are marked
slow + e2e. There is no fake Rasa anywhere.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import init_app
from bot.keys import GATEWAY, STORE
from bot.settings import Settings
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Warnings are errors in the web app's tests (the libraries here allow it); tests/bot/browser has
    its own rules."""
    here = Path(__file__).parent
    for item in items:
        parents = Path(str(item.path)).parents
        if here in parents and here / "browser" not in parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
            # Intermittent, seen in 2 of 3 full runs on 2026-12-08 and in none of the per-module runs: a pooled
            # aiosqlite connection of an earlier test's app is garbage-collected unclosed inside a later, unrelated
            # test. Not attributable to a test yet (a gc.collect() after every test did not reproduce it); it is
            # ignored by its exact message only, so every other warning stays an error.
            item.add_marker(pytest.mark.filterwarnings(
                r"ignore:Exception ignored in. <function Connection.__del__:pytest.PytestUnraisableExceptionWarning"))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_session() -> str:
    return uuid.uuid4().hex


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters in tests (CPU is scarce); production keeps the library defaults."""
    from argon2 import PasswordHasher

    from bot import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def session_id() -> str:
    return new_session()


@pytest.fixture
def dead_url() -> str:
    """Rasa 'down': a closed loopback port (connection refused at once)."""
    return f"http://127.0.0.1:{closed_port()}"


@pytest.fixture
def config(tmp_path: Path, dead_url: str) -> Settings:
    return Settings.for_tests(tmp_path, rasa_url=dead_url, actions_url=dead_url)


MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client: Any, config: Settings) -> MakeClient:
    """``await make_client(**setting_overrides)``: a test client of a freshly built app."""

    async def make(**overrides: Any) -> TestClient:
        app = await init_app(config.replace(**overrides) if overrides else config)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    return await make_client()


def app_of(client: TestClient) -> web.Application:
    return client.server.app


def store_of(client: TestClient) -> Store:
    return app_of(client)[STORE]


async def drain(client: TestClient) -> None:
    """Wait for the gateway's background tasks (tracker look-ups)."""
    await app_of(client)[GATEWAY].drain()


async def consent(client: TestClient, session_id: str) -> None:
    resp = await client.post("/api/v1/consent", json={"session_id": session_id})
    assert resp.status == 204, await resp.text()


async def send(client: TestClient, session_id: str, message: str, **extra: Any) -> Any:
    resp = await client.post("/webhooks/rest/webhook", json={"sender": session_id, "message": message, **extra})
    return resp


PG_ADMIN_URL = os.environ.get("KRISENLOTSE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """A throw-away PostgreSQL database on loopback, as a postgresql+asyncpg URL; dropped afterwards. Skips when
    no server answers, fails then with KRISENLOTSE_REQUIRE_SERVICES=1."""
    import asyncpg

    name = f"krisenlotse_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("KRISENLOTSE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
