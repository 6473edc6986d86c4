"""KRISENLOTSE_PROFILE=production in Settings.from_env: one switch, loopback defaults, and clear errors."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError

BASE = {"KRISENLOTSE_RASA_TOKEN": "r" * 20, "KRISENLOTSE_SECRET_KEY": "s" * 20}


def test_embedded_profile_is_the_default_and_uses_no_redis() -> None:
    config = Settings.from_env(BASE)
    assert config.profile == "embedded" and config.redis_url is None
    assert config.database_url.startswith("sqlite+aiosqlite://")


def test_production_profile_moves_onto_postgresql_and_redis() -> None:
    config = Settings.from_env(BASE | {"KRISENLOTSE_PROFILE": "production"})
    assert config.database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/krisenlotse"
    assert config.rasa_tracker_db == "postgresql://postgres@127.0.0.1:5432/krisenlotse_rasa"
    assert config.redis_url == "redis://127.0.0.1:6379/0" and config.redis_prefix == "krisenlotse:"
    assert "Redis redis://127.0.0.1:6379/0" in config.safe_summary()


def test_production_profile_keeps_explicit_settings() -> None:
    config = Settings.from_env(BASE | {"KRISENLOTSE_PROFILE": "Production",
                                       "DATABASE_URL": "postgresql+asyncpg://app:geheim@db.intern/kl",
                                       "KRISENLOTSE_REDIS_URL": "redis://:pw@redis.intern:6380/2",
                                       "KRISENLOTSE_REDIS_PREFIX": "stadt:"})
    assert config.database_url.endswith("@db.intern/kl") and config.redis_url.endswith(":6380/2")
    assert "geheim" not in config.safe_summary() and "pw@" not in config.safe_summary()


@pytest.mark.parametrize(("env", "message"), [
    ({"KRISENLOTSE_PROFILE": "cluster"}, "KRISENLOTSE_PROFILE='cluster' is not valid"),
    ({"KRISENLOTSE_PROFILE": "production", "DATABASE_URL": "sqlite+aiosqlite:///x.db"}, "needs PostgreSQL"),
    ({"KRISENLOTSE_REDIS_URL": "http://127.0.0.1:6379"}, "KRISENLOTSE_REDIS_URL='http://127.0.0.1:6379' is not valid"),
])
def test_invalid_profile_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(BASE | env)
    assert message in str(info.value)
