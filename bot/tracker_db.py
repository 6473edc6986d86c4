"""Erasure in Rasa's SQL tracker store (KRISENLOTSE_RASA_TRACKER_DB): rows of table ``events``.

Rasa's ``PUT /conversations/{id}/tracker/events`` with ``[]`` does not remove rows from a SQL tracker
store, so the web app deletes them itself. A missing database file or table means "nothing to delete".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.db import sqlite_path

log = logging.getLogger(__name__)


def async_url(url: str) -> str:
    """The same database with an async driver (sqlite → aiosqlite, postgresql → asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}.get(backend)
    if driver is None:
        raise ValueError(f"unsupported tracker database: {backend}")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def _engine(url: str | None, pooled: bool = False) -> AsyncEngine | None:
    """An engine for Rasa's tracker database, or None when it is not configured or the SQLite file is missing.

    ``pooled``: kept open for many short reads (the gateway's, on the way to the user's answer), with short
    waits so that a locked or restarting database makes the caller fall back instead of holding the answer."""
    if not url:
        return None
    aurl = async_url(url)
    path = sqlite_path(aurl)
    if path is not None and not path.exists():
        return None
    if not pooled:
        return create_async_engine(aurl, poolclass=NullPool)
    args = {"timeout": 1.0} if path is not None else {"timeout": 2.0, "command_timeout": 2.0}
    return create_async_engine(aurl, pool_pre_ping=path is None, connect_args=args)


async def _run(url: str | None, statement: str, params: dict[str, object]) -> int | None:
    """Rows deleted, or None when the tracker database is not configured, missing or has no events table."""
    engine = _engine(url)
    if engine is None:
        return None
    try:
        async with engine.begin() as conn:
            has_events = await conn.run_sync(lambda sync: inspect(sync).has_table("events"))
            if not has_events:
                return None
            result = await conn.execute(text(statement), params)
            return result.rowcount
    except (SQLAlchemyError, OSError) as exc:
        log.warning("Rasa's tracker database could not be changed (%s)", type(exc).__name__)
        return None
    finally:
        await engine.dispose()


async def delete_conversation(url: str | None, session_id: str) -> int | None:
    """Delete all tracker rows of ``session_id``."""
    return await _run(url, "DELETE FROM events WHERE sender_id = :sid", {"sid": session_id})


async def purge_idle(url: str | None, before_timestamp: float) -> int | None:
    """Delete the tracker rows of every conversation whose last event is older than ``before_timestamp``."""
    return await _run(
        url,
        "DELETE FROM events WHERE sender_id IN "
        "(SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :before)",
        {"before": before_timestamp},
    )


async def senders(url: str | None) -> Sequence[str] | None:
    """Distinct sender ids in the tracker database (tests)."""
    engine = _engine(url)
    if engine is None:
        return None
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT DISTINCT sender_id FROM events"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


class TrackerReader:
    """Reads a conversation's ``user`` events straight from Rasa's SQL tracker store.

    The gateway uses it to learn intent and confidence of a message after Rasa answered, without asking the
    Rasa process for the whole tracker (``GET /conversations/{id}/tracker`` serialises every event of the
    conversation in Rasa's event loop, where it competes with the next user message). Rasa saves the tracker
    before its REST channel answers, so the event is there when the gateway looks. ``None`` from
    :meth:`user_events` means "no tracker database here": the caller falls back to Rasa's HTTP API.
    """

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None

    def _ready(self) -> AsyncEngine | None:
        # None until Rasa has created its database (SQLite), then one pooled engine for all reads.
        if self._engine is None:
            self._engine = _engine(self.url, pooled=True)
        return self._engine

    async def user_events(self, session_id: str, limit: int = 10) -> list[dict[str, object]] | None:
        """The newest ``limit`` user events of ``session_id`` (newest first), or None when unavailable."""
        engine = self._ready()
        if engine is None:
            return None
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT data FROM events WHERE sender_id = :sid AND type_name = 'user' "
                         "ORDER BY id DESC LIMIT :n"), {"sid": session_id, "n": limit})
                raw = [row[0] for row in rows]
        except (SQLAlchemyError, OSError) as exc:
            log.warning("Rasa's tracker database could not be read (%s)", type(exc).__name__)
            return None
        events: list[dict[str, object]] = []
        for item in raw:
            try:
                event = json.loads(item) if isinstance(item, str) else None
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
