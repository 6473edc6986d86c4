"""Fixtures for the scale-out and fault tests (web environment; PostgreSQL and Redis on loopback).

Every test here is marked ``services`` (and the ones that start Rasa ``slow``). When PostgreSQL or Redis is
not reachable the tests skip with the reason — unless ``KRISENLOTSE_REQUIRE_SERVICES=1`` (CI), then they fail.
Each test gets its own fresh PostgreSQL databases (unique names, dropped afterwards) and its own Redis key
prefix, so tests never see each other's data.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale import services
from tests.support.stack import require_services, skip_or_fail

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def services_required() -> None:
    """Skip (or fail with KRISENLOTSE_REQUIRE_SERVICES=1) unless PostgreSQL and Redis answer on loopback."""
    problems = [p for p in (services.postgresql_problem(), services.redis_problem()) if p]
    if problems:
        skip_or_fail("; ".join(problems))


@pytest.fixture(scope="session")
def postgresql_required() -> None:
    problem = services.postgresql_problem()
    if problem:
        skip_or_fail(problem)


@pytest.fixture(scope="session")
def redis_required() -> None:
    problem = services.redis_problem()
    if problem:
        skip_or_fail(problem)


@pytest.fixture
def pg_database(postgresql_required: None) -> Iterator[str]:
    """Name of a fresh, empty PostgreSQL database (dropped after the test)."""
    with services.fresh_database() as name:
        yield name


@pytest.fixture
def redis_prefix(redis_required: None) -> Iterator[str]:
    """A Redis key prefix of this test alone (its keys are deleted afterwards)."""
    prefix = f"{services.unique_name('kltest')}:"
    yield prefix
    services.delete_redis_keys(prefix)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters (CPU is scarce); production keeps the library defaults."""
    from argon2 import PasswordHasher

    from bot import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[services.PrivateRedis]:
    """A redis-server of this test alone on a free port (fault tests stop and start it)."""
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    from tools.stack import free_port

    server = services.PrivateRedis(free_port(), str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _services_back_up() -> Iterator[None]:
    """Whatever a test did, PostgreSQL and Redis are running again after it (if they were before)."""
    pg_was_up = services.port_open(services.PG_HOST, services.PG_PORT)
    redis_was_up = services.port_open(services.REDIS_HOST, services.REDIS_PORT)
    yield
    if pg_was_up and not services.port_open(services.PG_HOST, services.PG_PORT):
        services.ensure_postgresql_running()
    if redis_was_up and not services.port_open(services.REDIS_HOST, services.REDIS_PORT):
        services.ensure_redis_running()


__all__ = ["require_services", "services"]


@pytest.fixture
def private_postgresql() -> Iterator[services.PrivatePostgres]:
    """A PostgreSQL server of this test alone (fault tests restart it)."""
    if shutil.which("runuser") is None or not Path("/usr/lib/postgresql").is_dir():
        skip_or_fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) or runuser are missing")
    from tools.stack import free_port

    folder = tempfile.mkdtemp(prefix="kl-pg-")  # outside pytest's 0700 folders: the postgres user works here
    server = services.PrivatePostgres(free_port(), folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
