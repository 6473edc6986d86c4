"""``python -m bot model train|evaluate|activate|rollback|list``: the model operations of the operator
console on the command line (same code, same registry, same audit log, same one-job-at-a-time lock).

Needs DATABASE_URL (the web app's database) and, for activate/rollback, KRISENLOTSE_RASA_URL and
KRISENLOTSE_RASA_TOKEN (``set -a; . var/secrets.env; set +a``). ``--as EMAIL`` records a staff account as the
actor in the audit log (otherwise "system"). Forcing a blocked activation with ``--override REASON`` needs an
admin account when ``--as`` names one; without ``--as`` the command line counts as admin (it runs on the
server with its secrets).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta
from typing import Any

import aiohttp

from bot.auth import Accounts, StaffUser
from bot.db import make_engine, migrate
from bot.ops.rasa_admin import RasaAdmin
from bot.ops.registry import ModelRegistry
from bot.ops.training import GateBlocked, ModelOps, OpsError
from bot.settings import Settings, SettingsError
from bot.store import as_utc

PLACEHOLDER = "-placeholder-not-a-token-"


def add_parser(subparsers: Any) -> None:
    model = subparsers.add_parser("model", help="train, evaluate, activate, roll back and list Rasa models")
    commands = model.add_subparsers(dest="model_command", required=True)
    commands.add_parser("list", help="the model registry, newest first")
    commands.add_parser("train", help="train a model (re-uses the kept model when nothing changed) and evaluate it")
    evaluate = commands.add_parser("evaluate", help="evaluate a model on the held-out test set")
    evaluate.add_argument("model_id", type=int)
    evaluate.add_argument("--cross-validation", type=int, metavar="K", help="also K-fold cross-validation (slow)")
    activate = commands.add_parser("activate", help="load a model into the running Rasa (activation gate)")
    activate.add_argument("model_id", type=int)
    activate.add_argument("--override", metavar="REASON", help="force a blocked activation (admin, audited)")
    rollback = commands.add_parser("rollback", help="back to an earlier kept model (default: the previous one)")
    rollback.add_argument("model_id", type=int, nargs="?")
    for sub in (activate, rollback, commands.choices["train"], evaluate):
        sub.add_argument("--as", dest="actor", metavar="EMAIL", help="staff account recorded in the audit log")


def settings_from_env() -> Settings:
    env = dict(os.environ)
    for name in ("KRISENLOTSE_RASA_TOKEN", "KRISENLOTSE_SECRET_KEY"):
        if not env.get(name, "").strip():
            env[name] = PLACEHOLDER
    return Settings.from_env(env)


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


async def _actor(accounts: Accounts, email: str | None) -> StaffUser | None:
    if not email:
        return None
    record = await accounts.user_by_email(email)
    user = await accounts.staff_user(record.id) if record and record.active else None
    if user is None:
        raise OpsError(f"Kein aktives Konto {email!r}.")
    return user


async def _follow(ops: ModelOps) -> int:
    """Print the job's stage changes until it ends; exit code 0 when it succeeded or re-used a model."""
    seen = ""
    while True:
        job = ops.job
        assert job is not None
        line = f"[{job.progress * 100:3.0f} %] {job.stage_text}"
        if line != seen and job.running:
            print(line, file=sys.stderr, flush=True)
            seen = line
        if not job.running:
            break
        await asyncio.sleep(1.0)
    await ops.wait()
    if job.status in ("succeeded", "reused"):
        print(job.message)
        return 0
    tail = "\n".join(list(job.log)[-15:])
    print(f"{job.error}\n--- letzte Zeilen ---\n{tail}", file=sys.stderr)
    return 1


async def run(args: argparse.Namespace, config: Settings) -> int:
    engine = make_engine(config.database_url)
    session = aiohttp.ClientSession()
    try:
        await migrate(engine)
        accounts = Accounts(engine, timedelta(minutes=config.staff_idle_minutes))
        registry = ModelRegistry(engine)
        admin = RasaAdmin(session, config.rasa_url, config.rasa_token) \
            if config.rasa_token != PLACEHOLDER else None
        ops = ModelOps(config, registry, accounts, admin)
        await ops.sync()
        command = args.model_command
        user = await _actor(accounts, getattr(args, "actor", None))
        if command == "list":
            rows = await registry.all()
            print(f"{'id':>4}  {'status':9}  {'makro-F1':>8}  {'genau':>6}  {'trainiert':16}  {'von':24}  datei")
            for m in rows:
                metrics = m.metrics or {}
                print(f"{m.id:>4}  {m.status:9}  {fmt(metrics.get('macro_f1')):>8}  {fmt(metrics.get('accuracy')):>6}  "
                      f"{as_utc(m.created_at).astimezone():%Y-%m-%d %H:%M}  {m.trained_by[:24]:24}  "
                      f"{m.file_name or '–'}")
            return 0
        if command == "train":
            await ops.start_training(user)
            return await _follow(ops)
        if command == "evaluate":
            await ops.start_evaluation(args.model_id, user, args.cross_validation)
            code = await _follow(ops)
            record = await registry.get(args.model_id)
            if code == 0 and record and record.metrics:
                print(f"Modell #{record.id}: Genauigkeit {fmt(record.metrics.get('accuracy'))}, "
                      f"Makro-F1 {fmt(record.metrics.get('macro_f1'))}")
            return code
        if admin is None:
            raise OpsError("KRISENLOTSE_RASA_TOKEN fehlt (set -a; . var/secrets.env; set +a).")
        if command == "activate":
            result = await ops.activate(args.model_id, user, override_reason=args.override,
                                        is_admin=True if user is None else None)
        else:
            target = args.model_id or getattr(await registry.rollback_target(), "id", None)
            if target is None:
                raise OpsError("Es gibt kein älteres Modell, zu dem zurückgerollt werden kann.")
            result = await ops.activate(target, user, rollback=True)
        print(f"Rasa nutzt jetzt Modell #{result.model.id} ({result.model.file_name}); Wechsel in "
              f"{result.seconds:.1f} s" + (" — Freigabe erzwungen" if result.override else "") + ".")
        return 0
    except GateBlocked as exc:
        print(f"{exc}\nMit --override \"Begründung\" erzwingen (wird protokolliert).", file=sys.stderr)
        return 3
    except OpsError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        await session.close()
        await engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Krisenlotse models")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        config = settings_from_env()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    return asyncio.run(run(args, config))
