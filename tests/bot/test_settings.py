"""Settings from the environment: defaults, validation with clear messages, and `python -m bot` refusing to
start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from tests.bot.conftest import closed_port

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"KRISENLOTSE_RASA_TOKEN": "r" * 32, "KRISENLOTSE_SECRET_KEY": "s" * 32}


def test_defaults_match_the_contract() -> None:
    config = Settings.from_env(SECRETS)
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert config.rasa_url == "http://127.0.0.1:5005"
    assert config.actions_url == "http://127.0.0.1:5055"
    assert config.rasa_timeout == 10
    assert config.database_url == "sqlite+aiosqlite:///var/krisenlotse.db"
    assert config.rasa_tracker_db == "sqlite:///var/rasa-tracker.db"
    assert config.allowed_origins == ()
    assert config.retention_days == 90
    assert config.max_message_chars == 1000


def test_values_are_read() -> None:
    config = Settings.from_env({
        **SECRETS, "KRISENLOTSE_PORT": "9090", "KRISENLOTSE_RASA_URL": "http://rasa:5005/",
        "KRISENLOTSE_RASA_TIMEOUT": "2.5", "DATABASE_URL": "postgresql+asyncpg://kl@db/kl",
        "KRISENLOTSE_ALLOWED_ORIGINS": " https://www.mannheim.de/ ,http://localhost:* ",
        "KRISENLOTSE_RETENTION_DAYS": "30", "KRISENLOTSE_MAX_MESSAGE_CHARS": "500",
        "KRISENLOTSE_RASA_TRACKER_DB": "none", "KRISENLOTSE_TRUST_PROXY": "true",
    })
    assert config.port == 9090
    assert config.rasa_url == "http://rasa:5005"
    assert config.rasa_timeout == 2.5
    assert config.allowed_origins == ("https://www.mannheim.de", "http://localhost:*")
    assert (config.retention_days, config.max_message_chars) == (30, 500)
    assert config.rasa_tracker_db is None
    assert config.trust_proxy is True


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({
            "KRISENLOTSE_PORT": "http", "KRISENLOTSE_RASA_TIMEOUT": "120", "KRISENLOTSE_RASA_URL": "rasa:5005",
            "DATABASE_URL": "mysql://x", "KRISENLOTSE_ALLOWED_ORIGINS": "https://ok.example,*,ftp://x",
            "KRISENLOTSE_RETENTION_DAYS": "0", "KRISENLOTSE_MAX_MESSAGE_CHARS": "-1",
        })
    text = str(info.value)
    for name in ("KRISENLOTSE_RASA_TOKEN", "KRISENLOTSE_SECRET_KEY", "KRISENLOTSE_PORT", "KRISENLOTSE_RASA_TIMEOUT",
                 "KRISENLOTSE_RASA_URL", "DATABASE_URL", "'*'", "'ftp://x'", "KRISENLOTSE_RETENTION_DAYS",
                 "KRISENLOTSE_MAX_MESSAGE_CHARS"):
        assert name in text, name
    assert "make secrets" in text
    assert len(info.value.problems) == 10


def test_database_password_is_not_repeated_in_errors() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**SECRETS, "DATABASE_URL": "mysql://user:hunter2@db/x"})
    assert "hunter2" not in str(info.value)


def test_summary_has_no_secrets() -> None:
    config = Settings.from_env({**SECRETS, "DATABASE_URL": "postgresql+asyncpg://kl:hunter2@db/kl"})
    summary = config.safe_summary()
    assert "hunter2" not in summary and SECRETS["KRISENLOTSE_RASA_TOKEN"] not in summary


def run_bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KRISENLOTSE_") and k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_python_m_bot_refuses_to_start_without_secrets() -> None:
    result = run_bot({})
    assert result.returncode == 2
    assert "KRISENLOTSE_RASA_TOKEN is required" in result.stderr
    assert "KRISENLOTSE_SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_m_bot_names_a_broken_contacts_file(tmp_path) -> None:
    broken = tmp_path / "contacts.yml"
    broken.write_text("units:\n  trade_office: {name: x}\n", encoding="utf-8")
    result = run_bot({**SECRETS, "KRISENLOTSE_PORT": str(closed_port()), "KRISENLOTSE_CONTACTS_FILE": str(broken),
                      "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"})
    assert result.returncode == 1
    assert "business_development" in result.stderr and str(broken) in result.stderr
    assert "Traceback" not in result.stderr
