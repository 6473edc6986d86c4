"""Retention: idle conversations are deleted from the store and from Rasa's tracker database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.app import init_app
from bot.models import Conversation, utcnow
from bot.retention import purge
from bot.store import NewMessage
from tests.bot.conftest import new_session
from tests.bot.test_api import make_tracker_db, tracker_senders

ROOT = Path(__file__).resolve().parents[2]


async def age(store, session_id: str, days: int) -> None:
    async with store.sessions.begin() as db:
        conv = await db.get(Conversation, session_id)
        conv.last_activity = utcnow() - timedelta(days=days)


async def seed(store, session_id: str, days_idle: int) -> None:
    await store.give_consent(session_id)
    message = NewMessage(sender="bot", text="Antwort")
    await store.add_messages(session_id, [NewMessage(sender="user", text="Frage"), message])
    await store.save_feedback(session_id, message.id, "up", "gut")
    await age(store, session_id, days_idle)


async def test_purge_deletes_only_idle_conversations(aiohttp_client, config) -> None:
    from bot.keys import STORE

    client = await aiohttp_client(await init_app(config.replace(retention_days=90)))
    store = client.server.app[STORE]
    old, recent = new_session(), new_session()
    await seed(store, old, days_idle=91)
    await seed(store, recent, days_idle=89)
    tracker = Path(config.rasa_tracker_db.removeprefix("sqlite:///"))
    stale = (utcnow() - timedelta(days=100)).timestamp()
    fresh = utcnow().timestamp()
    make_tracker_db(tracker, [(old, stale), ("never-consented-old", stale),
                              ("mixed", stale), ("mixed", fresh), (recent, fresh)])

    result = await purge(store, config.replace(retention_days=90))
    assert result.conversations == 1
    assert result.tracker_rows == 2
    assert await store.history(old) is None
    assert len(await store.history(recent)) == 2
    assert await store.counts() == {"conversations": 1, "messages": 2, "feedback": 1}
    # A conversation with a recent event keeps all its events (Rasa needs the whole tracker).
    assert tracker_senders(tracker) == {"mixed", recent}


async def test_purge_without_tracker_database(aiohttp_client, config) -> None:
    from bot.keys import STORE

    client = await aiohttp_client(await init_app(config.replace(rasa_tracker_db=None)))
    store = client.server.app[STORE]
    await seed(store, new_session(), days_idle=365)
    result = await purge(store, config.replace(rasa_tracker_db=None))
    assert (result.conversations, result.tracker_rows) == (1, None)


async def test_background_purge_runs_at_start(aiohttp_client, config, tmp_path) -> None:
    from bot.keys import STORE

    first = await aiohttp_client(await init_app(config))
    session_id = new_session()
    await seed(first.server.app[STORE], session_id, days_idle=120)
    await first.close()
    second = await aiohttp_client(await init_app(config.replace(purge_interval=3600)))
    for _ in range(50):
        if await second.server.app[STORE].history(session_id) is None:
            break
        import asyncio

        await asyncio.sleep(0.05)
    assert await second.server.app[STORE].history(session_id) is None


def test_python_m_bot_purge(tmp_path) -> None:
    db = tmp_path / "kl.db"
    tracker = tmp_path / "tracker.db"
    old_ts = (utcnow() - timedelta(days=40)).timestamp()
    make_tracker_db(tracker, [("old-session-000001", old_ts)])
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "KRISENLOTSE_RETENTION_DAYS": "30",
           "KRISENLOTSE_RASA_TRACKER_DB": f"sqlite:///{tracker}",
           "KRISENLOTSE_RASA_TOKEN": "r" * 32, "KRISENLOTSE_SECRET_KEY": "s" * 32}
    # Seed an old conversation through the store of a migrated database.
    seed_code = (
        "import asyncio\n"
        "from datetime import timedelta\n"
        "from bot.db import make_engine, migrate\n"
        "from bot.store import Store\n"
        "from bot.models import Conversation, utcnow\n"
        "async def main():\n"
        f"    e = make_engine('sqlite+aiosqlite:///{db}'); await migrate(e); s = Store(e)\n"
        "    await s.give_consent('old-session-000001')\n"
        "    async with s.sessions.begin() as d:\n"
        "        (await d.get(Conversation, 'old-session-000001')).last_activity = utcnow() - timedelta(days=31)\n"
        "    await e.dispose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", seed_code], cwd=ROOT, env=env, check=True, timeout=60)
    result = subprocess.run([sys.executable, "-m", "bot", "purge"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Deleted 1 conversations" in result.stdout and "1 tracker rows" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 0
    assert tracker_senders(tracker) == set()
