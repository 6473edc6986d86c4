"""Database engine and schema migrations (Alembic, run programmatically at start-up)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant: serialises migrations of several web processes sharing one PostgreSQL database.
_PG_MIGRATION_LOCK = 7_130_455_201


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases or in-memory SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _json(value: Any) -> str:
    """JSON columns keep umlauts as they are (searchable as text, e.g. a case's company)."""
    return json.dumps(value, ensure_ascii=False)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str) -> AsyncEngine:
    """An async engine; for SQLite the folder is created and foreign keys, WAL and a busy time-out are on."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, json_serializer=_json)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLite's own lower() folds ASCII only: "MÜLLER" would not find "Müller" in the console search.
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=_json)


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration without an ini file (bot/alembic.ini is only for the alembic CLI)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(connection: Connection, revision: str, down: bool) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(cfg, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe with several processes on PostgreSQL)."""
    async with engine.begin() as conn:
        await conn.run_sync(_run, revision, False)
    log.info("Database schema is up to date (%s)", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Undo migrations down to ``revision`` ("base": an empty schema)."""
    async with engine.begin() as conn:
        await conn.run_sync(_run, revision, True)
