"""``python -m bot users …``: manage staff accounts from the command line (no default passwords anywhere).

  python -m bot users add --email a@mannheim.de --name "A. B." --role staff --unit tax_office [--unit …]
  python -m bot users list | set-password --email … | disable --email …
Passwords are prompted twice, or read from standard input with --password-stdin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta

from bot.auth import Accounts, PasswordError, check_password_strength
from bot.contacts import unit_names
from bot.models import ROLES
from bot.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="manage staff accounts")
    cmds = users.add_subparsers(dest="users_command", required=True)
    add = cmds.add_parser("add", help="create an account")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=ROLES, default="staff")
    add.add_argument("--unit", action="append", default=[], help="unit id from data/contacts.yml (repeatable)")
    add.add_argument("--password-stdin", action="store_true")
    cmds.add_parser("list", help="list accounts")
    setpw = cmds.add_parser("set-password", help="set a new password")
    setpw.add_argument("--email", required=True)
    setpw.add_argument("--password-stdin", action="store_true")
    disable = cmds.add_parser("disable", help="disable an account (ends its sessions)")
    disable.add_argument("--email", required=True)


def read_password(from_stdin: bool, email: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Passwort: ")
        if getpass.getpass("Passwort wiederholen: ") != password:
            raise PasswordError("Die Passwörter stimmen nicht überein.")
    check_password_strength(password, email)
    return password


async def run(args: argparse.Namespace, config: Settings) -> int:
    from bot.db import make_engine, migrate

    engine = make_engine(config.database_url)
    try:
        await migrate(engine)
        accounts = Accounts(engine, timedelta(minutes=config.staff_idle_minutes))
        command = args.users_command
        if command == "add":
            known = unit_names(config.contacts_file)
            unknown = [u for u in args.unit if u not in known]
            if unknown:
                print(f"Unknown unit(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})", file=sys.stderr)
                return 2
            if args.role == "staff" and not args.unit:
                print("A staff account needs at least one --unit", file=sys.stderr)
                return 2
            password = read_password(args.password_stdin, args.email)
            user_id = await accounts.create_user(args.email, args.name, args.role, args.unit, password)
            await accounts.audit(None, "user_create", detail=f"user {user_id} (command line)")
            print(f"Created {args.role} account {args.email.strip().lower()} (id {user_id}).")
        elif command == "list":
            for user, units in await accounts.users():
                state = "active" if user.active else "disabled"
                print(f"{user.id}\t{user.email}\t{user.display_name}\t{user.role}\t{state}\t{','.join(units)}")
        else:
            user = await accounts.user_by_email(args.email)
            if user is None:
                print(f"No account {args.email}", file=sys.stderr)
                return 1
            if command == "set-password":
                await accounts.set_password(user.id, read_password(args.password_stdin, user.email))
                print("Password changed.")
            else:
                await accounts.set_active(user.id, False)
                print(f"Disabled {user.email}.")
            await accounts.audit(None, f"user_{command}", detail=f"user {user.id} (command line)")
        return 0
    except (PasswordError, ValueError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
