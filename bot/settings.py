"""Settings of the web app, read once from environment variables and validated at start-up.

``Settings.from_env()`` collects every problem and raises one :class:`SettingsError` that names them all;
``Settings.for_tests(tmp_path, ...)`` builds a configuration for the tests (SQLite in ``tmp_path``, no
retention loop, fixed secrets).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTACTS_FILE = ROOT / "data" / "contacts.yml"
# Production profile (KRISENLOTSE_PROFILE=production, docs/production.md): defaults on loopback.
PROFILES = ("embedded", "production")
PRODUCTION_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/krisenlotse"
PRODUCTION_TRACKER_DB = "postgresql://postgres@127.0.0.1:5432/krisenlotse_rasa"
PRODUCTION_REDIS_URL = "redis://127.0.0.1:6379/0"


class SettingsError(ValueError):
    """One or more environment variables are missing or invalid (the message lists all of them)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration of the Krisenlotse web app:\n" + "\n".join(
            f"  - {problem}" for problem in problems))


@dataclass(frozen=True)
class Settings:
    """Everything the web app needs to know; see docs/web-contract.md for the variables."""

    rasa_token: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8080
    rasa_url: str = "http://127.0.0.1:5005"
    actions_url: str = "http://127.0.0.1:5055"
    rasa_timeout: float = 10.0
    database_url: str = "sqlite+aiosqlite:///var/krisenlotse.db"
    rasa_tracker_db: str | None = "sqlite:///var/rasa-tracker.db"
    allowed_origins: tuple[str, ...] = ()
    retention_days: int = 90
    max_message_chars: int = 1000
    # Not in the contract's table, with defaults that fit one city; documented in the README.
    session_rate_per_minute: int = 20
    address_rate_per_minute: int = 120
    trust_proxy: bool = False
    client_max_size: int = 64 * 1024
    contacts_file: Path = DEFAULT_CONTACTS_FILE
    purge_interval: float | None = 3600.0
    # How long the gateway waits for Rasa's tracker when it looks up intent and confidence.
    tracker_timeout: float = 5.0
    readiness_timeout: float = 3.0
    templates_dir: Path = ROOT / "bot" / "templates"
    static_dir: Path = ROOT / "bot" / "static"
    # Staff console and escalation (docs/escalation-contract.md).
    internal_token: str | None = None
    case_retention_days: int = 180
    staff_idle_minutes: int = 60
    admin_email: str | None = None
    admin_password: str | None = None
    # Operator console (issue 5): the Rasa project it trains from and the folder of trained models.
    project_dir: Path = ROOT
    models_dir: Path = ROOT / "models"
    # Models (bot/ops): Rasa's Python for training/evaluation, the config trained with (None: config.yml of
    # project_dir), how many models stay on disk, the activation gate (macro-F1 tolerance, largest intent-F1 drop).
    rasa_python: Path | None = None
    train_config: Path | None = None
    keep_models: int = 5
    gate_tolerance: float = 0.01
    gate_intent_drop: float = 0.10
    # NLU inbox (bot/ops/inbox.py): user messages below this confidence, from the last N days.
    inbox_threshold: float = 0.6
    inbox_days: int = 30
    # (more operator-console settings here)
    # Production profile (issue 6).
    profile: str = "embedded"
    redis_url: str | None = None  # socket.io message queue, shared rate limits and presence
    redis_prefix: str = "krisenlotse:"
    # (production-profile settings here)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment; raises SettingsError naming every bad variable."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(name)
            return default if value is None or value.strip() == "" else value.strip()

        def parse(name: str, default: Any, convert: Callable[[str], Any], check: Callable[[Any], bool],
                  expected: str) -> Any:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = convert(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not valid: expected {expected}")
                return default
            if not check(value):
                problems.append(f"{name}={raw!r} is not valid: expected {expected}")
                return default
            return value

        rasa_token = get("KRISENLOTSE_RASA_TOKEN")
        secret_key = get("KRISENLOTSE_SECRET_KEY")
        for name, value in (("KRISENLOTSE_RASA_TOKEN", rasa_token), ("KRISENLOTSE_SECRET_KEY", secret_key)):
            if not value:
                problems.append(f"{name} is required (it is generated into var/secrets.env by `make secrets`; "
                                "export it, e.g. `set -a; . var/secrets.env; set +a`)")
            elif len(value) < 16:
                problems.append(f"{name} is too short (at least 16 characters; use `make secrets`)")

        port = parse("KRISENLOTSE_PORT", 8080, int, lambda v: 1 <= v <= 65535, "a port number 1-65535")
        rasa_url = get("KRISENLOTSE_RASA_URL", "http://127.0.0.1:5005")
        actions_url = get("KRISENLOTSE_ACTIONS_URL", "http://127.0.0.1:5055")
        for name, url in (("KRISENLOTSE_RASA_URL", rasa_url), ("KRISENLOTSE_ACTIONS_URL", actions_url)):
            if not _is_http_url(url):
                problems.append(f"{name}={url!r} is not valid: expected an http:// or https:// URL")
        timeout = parse("KRISENLOTSE_RASA_TIMEOUT", 10.0, float, lambda v: 0 < v <= 55,
                        "seconds between 0 and 55 (below Rasa's 60 s lock lifetime)")
        database_url = get("DATABASE_URL", "sqlite+aiosqlite:///var/krisenlotse.db")
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            problems.append(f"DATABASE_URL={_hide_password(database_url)!r} is not supported: expected "
                            "sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        tracker_db = get("KRISENLOTSE_RASA_TRACKER_DB", "sqlite:///var/rasa-tracker.db")
        if tracker_db.lower() in {"none", "off", "-"}:
            tracker_db = None
        elif not tracker_db.startswith(("sqlite:", "postgresql:", "postgresql+", "sqlite+")):
            problems.append(f"KRISENLOTSE_RASA_TRACKER_DB={_hide_password(tracker_db)!r} is not supported: "
                            "expected sqlite:///path or postgresql://user@host/db (or 'none')")
        origins: list[str] = []
        for origin in (get("KRISENLOTSE_ALLOWED_ORIGINS", "") or "").split(","):
            origin = origin.strip().rstrip("/")
            if not origin:
                continue
            if not _is_origin_pattern(origin):
                problems.append(f"KRISENLOTSE_ALLOWED_ORIGINS entry {origin!r} is not valid: expected "
                                "scheme://host[:port] or scheme://host:* (any port)")
            else:
                origins.append(origin.lower())
        retention = parse("KRISENLOTSE_RETENTION_DAYS", 90, int, lambda v: 1 <= v <= 3650, "days between 1 and 3650")
        max_chars = parse("KRISENLOTSE_MAX_MESSAGE_CHARS", 1000, int, lambda v: 1 <= v <= 10000,
                          "a number of characters between 1 and 10000")
        session_rate = parse("KRISENLOTSE_RATE_LIMIT_SESSION", 20, int, lambda v: v >= 1,
                             "messages per minute (>= 1)")
        address_rate = parse("KRISENLOTSE_RATE_LIMIT_ADDRESS", 120, int, lambda v: v >= 1,
                             "messages per minute (>= 1)")
        trust_proxy = parse("KRISENLOTSE_TRUST_PROXY", False, _parse_bool, lambda v: True, "1/0, true/false")
        host = get("KRISENLOTSE_HOST", "127.0.0.1")
        contacts = Path(get("KRISENLOTSE_CONTACTS_FILE", str(DEFAULT_CONTACTS_FILE)))
        internal_token = get("KRISENLOTSE_INTERNAL_TOKEN")
        if internal_token is not None and len(internal_token) < 16:
            problems.append("KRISENLOTSE_INTERNAL_TOKEN is too short (at least 16 characters; use `make secrets`)")
        case_retention = parse("KRISENLOTSE_CASE_RETENTION_DAYS", 180, int, lambda v: 1 <= v <= 3650,
                               "days between 1 and 3650")
        idle = parse("KRISENLOTSE_STAFF_IDLE_MINUTES", 60, int, lambda v: 5 <= v <= 24 * 60,
                     "minutes between 5 and 1440")
        admin_email = get("KRISENLOTSE_ADMIN_EMAIL")
        admin_password = env.get("KRISENLOTSE_ADMIN_PASSWORD") or None
        if admin_email and not admin_password:
            problems.append("KRISENLOTSE_ADMIN_EMAIL is set but KRISENLOTSE_ADMIN_PASSWORD is not")
        if admin_password and len(admin_password) < 12:
            problems.append("KRISENLOTSE_ADMIN_PASSWORD is too weak (at least 12 characters)")
        values: dict[str, Any] = dict(
            rasa_token=rasa_token, secret_key=secret_key, host=host, port=port,
            rasa_url=rasa_url.rstrip("/"), actions_url=actions_url.rstrip("/"), rasa_timeout=timeout,
            database_url=database_url, rasa_tracker_db=tracker_db, allowed_origins=tuple(origins),
            retention_days=retention, max_message_chars=max_chars, session_rate_per_minute=session_rate,
            address_rate_per_minute=address_rate, trust_proxy=trust_proxy, contacts_file=contacts,
            internal_token=internal_token, case_retention_days=case_retention, staff_idle_minutes=idle,
            admin_email=admin_email, admin_password=admin_password,
        )

        # --- operator console (issue 5): project folder the operator console trains from --------------
        project_dir = Path(get("KRISENLOTSE_PROJECT_DIR", str(ROOT)))
        values["project_dir"] = project_dir
        values["models_dir"] = Path(get("KRISENLOTSE_MODELS_DIR", str(project_dir / "models")))
        # (operator console settings: add below, one `values[...] = parse(...)` each)
        values["inbox_threshold"] = parse("KRISENLOTSE_INBOX_THRESHOLD", 0.6, float, lambda v: 0 < v <= 1,
                                          "a confidence between 0 and 1, e.g. 0.6")
        values["inbox_days"] = parse("KRISENLOTSE_INBOX_DAYS", 30, int, lambda v: 1 <= v <= 3650,
                                     "days between 1 and 3650")
        rasa_python = get("KRISENLOTSE_RASA_PYTHON")
        values["rasa_python"] = Path(rasa_python) if rasa_python else None
        train_config = get("KRISENLOTSE_TRAIN_CONFIG")
        values["train_config"] = Path(train_config) if train_config else None
        values["keep_models"] = parse("KRISENLOTSE_KEEP_MODELS", 5, int, lambda v: 2 <= v <= 100,
                                      "a number of models between 2 and 100")
        values["gate_tolerance"] = parse("KRISENLOTSE_GATE_TOLERANCE", 0.01, float, lambda v: 0 <= v <= 1,
                                         "a macro-F1 difference between 0 and 1, e.g. 0.01")
        values["gate_intent_drop"] = parse("KRISENLOTSE_GATE_INTENT_DROP", 0.10, float, lambda v: 0 <= v <= 1,
                                           "an F1 difference between 0 and 1, e.g. 0.10")

        # --- production profile (issue 6) --------------------------------------------------------------
        # (production-profile settings: add below, one `values[...] = parse(...)` each)
        profile = (get("KRISENLOTSE_PROFILE", "embedded") or "embedded").lower()
        if profile not in PROFILES:
            problems.append(f"KRISENLOTSE_PROFILE={profile!r} is not valid: expected {' or '.join(PROFILES)}")
            profile = "embedded"
        values["profile"] = profile
        if profile == "production":
            # One switch: PostgreSQL and Redis on loopback unless the variables say otherwise.
            if get("DATABASE_URL") is None:
                values["database_url"] = PRODUCTION_DATABASE_URL
            if get("KRISENLOTSE_RASA_TRACKER_DB") is None:
                values["rasa_tracker_db"] = PRODUCTION_TRACKER_DB
        redis_url = get("KRISENLOTSE_REDIS_URL", PRODUCTION_REDIS_URL if profile == "production" else None)
        if redis_url is not None and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
            problems.append(f"KRISENLOTSE_REDIS_URL={_hide_password(redis_url)!r} is not valid: expected "
                            "redis://host:port/db, rediss://… or unix://…")
        values["redis_url"] = redis_url
        values["redis_prefix"] = get("KRISENLOTSE_REDIS_PREFIX", "krisenlotse:")
        if profile == "production":
            if not values["database_url"].startswith("postgresql+asyncpg://"):
                problems.append("KRISENLOTSE_PROFILE=production needs PostgreSQL: DATABASE_URL="
                                f"{_hide_password(values['database_url'])!r} is not postgresql+asyncpg://…")
            if not redis_url:
                problems.append("KRISENLOTSE_PROFILE=production needs KRISENLOTSE_REDIS_URL")

        if problems:
            raise SettingsError(problems)
        return cls(**values)

    @classmethod
    def for_tests(cls, tmp_path: Path, **overrides: Any) -> Settings:
        """A configuration for tests: SQLite and tracker DB in ``tmp_path``, no hourly purge loop."""
        values: dict[str, Any] = {
            "rasa_token": "test-rasa-token-0123456789",
            "secret_key": "test-secret-key-0123456789",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'krisenlotse.db'}",
            "rasa_tracker_db": f"sqlite:///{tmp_path / 'rasa-tracker.db'}",
            "rasa_timeout": 5.0,
            "purge_interval": None,
            "readiness_timeout": 1.0,
            "internal_token": "test-internal-token-0123456789",
        }
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def safe_summary(self) -> str:
        """One log line describing the configuration, without secrets."""
        return (f"Rasa {self.rasa_url} (time-out {self.rasa_timeout:g} s), actions {self.actions_url}, "
                f"database {_hide_password(self.database_url)}, retention {self.retention_days} days, "
                f"origins {', '.join(self.allowed_origins) or 'own + http://127.0.0.1:* + http://localhost:*'}"
                + (f", profile {self.profile}, Redis {_hide_password(self.redis_url)}" if self.redis_url else ""))


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _is_origin_pattern(origin: str) -> bool:
    parts = urlsplit(origin.replace(":*", ":1", 1) if origin.endswith(":*") else origin)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.path in {"", "/"}
            and not parts.query and not parts.fragment and "@" not in parts.netloc)


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
