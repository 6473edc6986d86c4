"""``python -m bot``: run the web app; ``python -m bot purge``: apply the retention period once;
``python -m bot migrate``: bring the database schema up to date;
``python -m bot users add|list|set-password|disable``: staff accounts (bot/users_cli.py);
``python -m bot model train|evaluate|activate|rollback|list``: Rasa models (bot/ops/model_cli.py).

Settings come from environment variables (docs/web-contract.md); the tokens from var/secrets.env must be
exported first (``make run`` does that).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from bot import redact
from bot.contacts import ContactsError
from bot.settings import Settings, SettingsError

# No client address: access logs keep no personal data (paths with session ids are masked by redact).
ACCESS_LOG_FORMAT = '"%r" %s %b %Tfs'


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    redact.install()
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


async def _purge(config: Settings) -> int:
    from bot.cases import CaseStore
    from bot.db import make_engine, migrate
    from bot.retention import purge
    from bot.store import Store

    engine = make_engine(config.database_url)
    try:
        await migrate(engine)
        result = await purge(Store(engine), config, cases=CaseStore(engine))
    finally:
        await engine.dispose()
    tracker = "no tracker database" if result.tracker_rows is None else f"{result.tracker_rows} tracker rows"
    print(f"Deleted {result.conversations} conversations idle for more than {config.retention_days} days "
          f"and {tracker}.")
    return 0


async def _migrate(config: Settings) -> int:
    from bot.db import make_engine, migrate

    engine = make_engine(config.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print("Database schema is up to date.")
    return 0


def users_main(argv: list[str]) -> int:
    """``python -m bot users …`` needs only DATABASE_URL (and KRISENLOTSE_CONTACTS_FILE), not the tokens."""
    import os
    from pathlib import Path

    from bot import users_cli
    from bot.settings import DEFAULT_CONTACTS_FILE

    parser = argparse.ArgumentParser(prog="python -m bot", description="Krisenlotse staff accounts")
    users_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    config = Settings(
        rasa_token="-", secret_key="-",  # noqa: S106 - placeholders: the users command needs no tokens
        database_url=os.environ.get("DATABASE_URL") or "sqlite+aiosqlite:///var/krisenlotse.db",
        contacts_file=Path(os.environ.get("KRISENLOTSE_CONTACTS_FILE") or DEFAULT_CONTACTS_FILE),
    )
    return asyncio.run(users_cli.run(args, config))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "users":
        return users_main(argv)
    if argv and argv[0] == "model":
        from bot.ops import model_cli

        configure_logging("WARNING")
        return model_cli.main(argv)
    parser = argparse.ArgumentParser(prog="python -m bot", description="Krisenlotse web app")
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "purge", "migrate"),
                        help="serve (default): run the web app; purge: delete conversations older than "
                             "KRISENLOTSE_RETENTION_DAYS; migrate: update the database schema; "
                             "users: manage staff accounts (python -m bot users --help)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level.upper())
    try:
        config = Settings.from_env()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "purge":
        return asyncio.run(_purge(config))
    if args.command == "migrate":
        return asyncio.run(_migrate(config))

    from bot.app import StartupError, init_app

    logging.getLogger(__name__).info("Starting on http://%s:%s/ — %s", config.host, config.port,
                                     config.safe_summary())
    try:
        web.run_app(init_app(config), host=config.host, port=config.port, access_log_format=ACCESS_LOG_FORMAT,
                    print=None, shutdown_timeout=10)
    except (ContactsError, StartupError) as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Cannot start on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
