"""PostgreSQL and Redis on loopback for the scale-out tests (tests/scale): reachability checks, fresh
databases with unique names, Redis key prefixes, and bringing PostgreSQL/Redis back after a fault test.

How the services are started on this machine: ../shared/services.md (PostgreSQL 5432 trust auth, Redis 6379).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_HOST = os.environ.get("KRISENLOTSE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("KRISENLOTSE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("KRISENLOTSE_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("KRISENLOTSE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("KRISENLOTSE_TEST_REDIS_PORT", "6379"))
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pg_admin(sql: str, database: str = "postgres", timeout: float = 10.0) -> list[tuple]:
    import asyncpg

    async def run() -> list[tuple]:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database, timeout=timeout)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def postgresql_problem() -> str | None:
    """None when PostgreSQL answers a query on loopback; otherwise why not."""
    if not port_open(PG_HOST, PG_PORT):
        return f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} (see ../shared/services.md)"
    try:
        _pg_admin("SELECT 1", timeout=5)
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        return f"PostgreSQL on {PG_HOST}:{PG_PORT} refuses user {PG_USER}: {type(exc).__name__}: {exc}"
    return None


def redis_problem() -> str | None:
    """None when Redis answers PING on loopback; otherwise why not."""
    import redis

    try:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001
        return f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT}: {type(exc).__name__}"
    return None


def unique_name(prefix: str = "kl_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def create_database(name: str) -> None:
    _pg_admin(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    for _ in range(3):
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except Exception:  # noqa: BLE001 - PostgreSQL may be restarting; try again shortly
            time.sleep(2)


def asyncpg_url(name: str) -> str:
    """The web app's DATABASE_URL for database ``name``."""
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def psycopg_url(name: str) -> str:
    """Rasa's tracker database / KRISENLOTSE_RASA_TRACKER_DB for database ``name``."""
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@contextmanager
def fresh_database(prefix: str = "kl_test") -> Iterator[str]:
    """A new, empty PostgreSQL database with a unique name, dropped afterwards."""
    name = unique_name(prefix)
    create_database(name)
    try:
        yield name
    finally:
        drop_database(name)


def delete_redis_keys(prefix: str) -> None:
    import redis

    try:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=5)
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()
    except Exception:  # noqa: BLE001, S110 - best effort clean-up
        pass


# --- bringing services down and up (fault tests) ---------------------------------------------------------

def _pg_cluster() -> str:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        raise RuntimeError("no PostgreSQL cluster in /etc/postgresql")
    return versions[-1]


def pg_ctl(action: str, timeout: float = 60.0) -> None:
    """``pg_ctlcluster <version> main <action>`` (start/stop/restart) as in ../shared/services.md."""
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", _pg_cluster(), "main", action],
                   check=True, timeout=timeout, capture_output=True)


def wait_postgresql(timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if postgresql_problem() is None:
            return True
        time.sleep(0.5)
    return False


def ensure_postgresql_running() -> None:
    """Start PostgreSQL if it is not answering (used in ``finally`` of every test that stops it)."""
    if wait_postgresql(2):
        return
    try:
        pg_ctl("start")
    except subprocess.CalledProcessError:
        pass  # "already running" or a stale pid: wait below either way
    if not wait_postgresql(60):
        raise RuntimeError("PostgreSQL did not come back up; start it: see ../shared/services.md")


def redis_start() -> None:
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(REDIS_PORT),
                    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
                    "--logfile", "/var/log/redis/ci.log"], check=True, timeout=30, capture_output=True)


def wait_redis(timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_problem() is None:
            return True
        time.sleep(0.3)
    return False


def ensure_redis_running() -> None:
    if wait_redis(1):
        return
    redis_start()
    if not wait_redis(30):
        raise RuntimeError("Redis did not come back up; start it: see ../shared/services.md")


class PrivateRedis:
    """A redis-server of one test on a free loopback port (stopping it disturbs nobody else)."""

    def __init__(self, port: int, workdir: str) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", self.workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if port_open("127.0.0.1", self.port, 0.2):
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class PrivatePostgres:
    """A PostgreSQL server of one test (initdb into a temporary folder, trust auth, a free loopback port),
    run as the ``postgres`` user with the installed server binaries. Restarting it under load disturbs no
    other test or helper that uses the machine's PostgreSQL."""

    def __init__(self, port: int, folder: str) -> None:
        self.port = port
        self.folder = folder
        self.data = os.path.join(folder, "data")
        self.bin = os.path.join("/usr/lib/postgresql", _pg_cluster(), "bin")

    def _as_postgres(self, *argv: str, timeout: float = 120.0) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, timeout=timeout,
                       capture_output=True, cwd="/")

    def init(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        subprocess.run(["chown", "postgres:postgres", self.folder], check=True)
        self._as_postgres(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--no-sync")

    def ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.folder, "log"),
                          "-o", options, "-w", "-t", "60", action, *extra)

    def start(self) -> None:
        self.ctl("start")

    def restart(self) -> None:
        """Fast restart: open transactions are aborted, clients are disconnected (as on a crash-restart)."""
        self.ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.ctl("stop", "-m", "immediate")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"
