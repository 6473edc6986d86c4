"""Several web-app instances starting at once against one fresh PostgreSQL database: the Alembic upgrade
runs under a PostgreSQL advisory lock (bot/db.py), so exactly one instance migrates and the others find the
schema at head; none fails."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.db import alembic_config, make_engine, migrate
from tests.scale import services
from tools.stack import ROOT

INSTANCES = 6


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_concurrent_migrations_in_one_process(pg_database) -> None:
    engines = [make_engine(services.asyncpg_url(pg_database)) for _ in range(INSTANCES)]
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(*(migrate(engine) for engine in engines))
        async with engines[0].connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
            tables = (await conn.execute(text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))).scalar_one()
    finally:
        for engine in engines:
            await engine.dispose()
    assert versions == [head_revision()]
    assert tables > 5


def test_concurrent_migrations_in_separate_processes(pg_database) -> None:
    """As N web-app processes would: each its own interpreter, all started at once."""
    script = ("import asyncio, sys\n"
              "from bot.db import make_engine, migrate\n"
              "async def main():\n"
              "    engine = make_engine(sys.argv[1])\n"
              "    try:\n"
              "        await migrate(engine)\n"
              "    finally:\n"
              "        await engine.dispose()\n"
              "asyncio.run(main())\n")
    url = services.asyncpg_url(pg_database)
    procs = [subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for _ in range(INSTANCES)]
    outputs = [proc.communicate(timeout=180)[0].decode(errors="replace") for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * INSTANCES, "\n".join(outputs)
    rows = services._pg_admin("SELECT version_num FROM alembic_version", database=pg_database)
    assert rows == [(head_revision(),)]
