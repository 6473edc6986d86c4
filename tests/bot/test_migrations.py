"""Alembic migrations: a fresh SQLite file, idempotence, agreement with the models, the alembic CLI, and
(marked services) PostgreSQL on loopback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import downgrade, make_engine, migrate
from bot.models import Base
from bot.store import NewMessage, Store
from tests.bot.conftest import consent, new_session, send, store_of, throwaway_postgres

ROOT = Path(__file__).resolve().parents[2]
HEAD = "0004_model_registry"
STAFF_TABLES = {"users", "user_units", "staff_sessions", "audit_log", "login_attempts", "cases", "case_events",
                "nlu_labels", "nlu_models"}


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def version(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


async def schema_diff(engine) -> list:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: compare_metadata(
            MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata))


async def test_fresh_sqlite_file_in_a_new_folder(tmp_path) -> None:
    path = tmp_path / "var" / "sub" / "krisenlotse.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine)
        await migrate(engine)  # idempotent
        assert tables(path) == {"alembic_version", "conversations", "messages", "feedback", *STAFF_TABLES}
        assert version(path) == HEAD
        assert await schema_diff(engine) == []  # models and migrations agree
    finally:
        await engine.dispose()


async def test_downgrade_and_upgrade_again(tmp_path) -> None:
    path = tmp_path / "db.sqlite"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine)
        await downgrade(engine, "base")
        assert tables(path) == {"alembic_version"}
        await migrate(engine)
        assert version(path) == HEAD
    finally:
        await engine.dispose()


async def test_app_start_migrates_its_database(client, config) -> None:
    path = Path(config.database_url.removeprefix("sqlite+aiosqlite:///"))
    assert version(path) == HEAD
    session_id = new_session()
    await consent(client, session_id)
    await send(client, session_id, "Hallo")
    assert (await store_of(client).counts())["messages"] == 3


def test_alembic_command_line(tmp_path) -> None:
    path = tmp_path / "cli.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    result = subprocess.run([sys.executable, "-m", "alembic", "-c", "bot/alembic.ini", "upgrade", "head"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert version(path) == HEAD


def test_python_m_bot_migrate(tmp_path) -> None:
    path = tmp_path / "m.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{path}",
           "KRISENLOTSE_RASA_TOKEN": "r" * 32, "KRISENLOTSE_SECRET_KEY": "s" * 32}
    result = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert version(path) == HEAD


# --- PostgreSQL -----------------------------------------------------------------------------------



@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throw-away PostgreSQL database on loopback (skips when no server answers)."""
    async with throwaway_postgres() as url:
        yield url


@pytest.mark.services
async def test_postgresql_schema_and_store(pg_url) -> None:
    engine = make_engine(pg_url)
    try:
        await migrate(engine)
        await migrate(engine)
        assert await schema_diff(engine) == []
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"conversations", "messages", "feedback"} <= names
        store = Store(engine)
        session_id = new_session()
        await store.give_consent(session_id, "https://www.mannheim.de", "de")
        user = NewMessage(sender="user", text="Frage \u00e4")
        bot = NewMessage(sender="bot", text="<b>Antwort</b>", buttons=[{"title": "Ja", "payload": "/affirm"}],
                         custom={"type": "contact_card"})
        assert await store.add_messages(session_id, [user, bot])
        assert await store.set_intent(bot.id, "greet", 0.93, [{"name": "greet", "confidence": 0.93}])
        assert await store.save_feedback(session_id, bot.id, "up", None)
        history = await store.history(session_id)
        assert [m["text"] for m in history] == ["Frage \u00e4", "<b>Antwort</b>"]
        assert history[1]["buttons"] == [{"title": "Ja", "payload": "/affirm"}]
        assert history[1]["feedback"] == "up"
        assert await store.delete_conversation(session_id)
        assert await store.counts() == {"conversations": 0, "messages": 0, "feedback": 0}
    finally:
        await engine.dispose()


@pytest.mark.services
async def test_app_on_postgresql(make_client, pg_url) -> None:
    client = await make_client(database_url=pg_url)
    session_id = new_session()
    await consent(client, session_id)
    assert (await send(client, session_id, "Hallo \x00 Welt")).status == 200
    history = await (await client.get(f"/api/v1/conversations/{session_id}/messages")).json()
    assert history["messages"][0]["text"] == "Hallo  Welt"


@pytest.mark.services
async def test_cases_and_accounts_on_postgresql(pg_url) -> None:
    from datetime import datetime, timedelta, timezone

    from bot.auth import Accounts, StaffUser
    from bot.cases import CaseStore, NewCase

    engine = make_engine(pg_url)
    try:
        await migrate(engine)
        accounts = Accounts(engine, timedelta(minutes=30))
        user_id = await accounts.create_user("a@mannheim.de", "A", "staff", ["tax_office"], "Ein-gutes-Passwort-99")
        token = await accounts.start_session(user_id)
        user = await accounts.session_user(token)
        assert user is not None and user.units == {"tax_office"}
        cases = CaseStore(engine)
        new = NewCase("KL-AAAA-BBBB", new_session(), "tax_office", [], None, "normal", "human_handoff", [],
                      {"email": "x@example.org", "company": "Bäckerei", "consent": True}, "Stundung", None,
                      datetime.now(timezone.utc))
        assert (await cases.create(new))[1] is True
        assert (await cases.create(new))[1] is False
        assert [c.case_number for c in await cases.visible(user, search="bäckerei")] == ["KL-AAAA-BBBB"]
        other = StaffUser(99, "b@x", "B", "staff", frozenset({"trade_office"}))
        assert await cases.get(other, "KL-AAAA-BBBB") is None
    finally:
        await engine.dispose()
