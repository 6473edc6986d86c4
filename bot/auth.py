"""Staff accounts: argon2id password hashes, server-side sessions with a CSRF token each, login throttling,
the audit log, and the middleware that protects the console (``/staff``) and its state-changing requests.

The session cookie holds a random value; the database keeps only its SHA-256 (``staff_sessions.id``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.models import ROLES, AuditEntry, LoginAttempt, StaffSession, User, UserUnit, utcnow
from bot.store import as_utc

log = logging.getLogger(__name__)

COOKIE = "kl_staff"
LOGIN_CSRF_COOKIE = "kl_login"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
ABSOLUTE_SESSION = timedelta(hours=12)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_ACCOUNT = 5
MAX_FAILURES_ADDRESS = 20

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PasswordError(ValueError):
    """A new password is refused (the message is German, for the form)."""


def check_password_strength(password: str, email: str | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
    if len(password) > MAX_PASSWORD:
        raise PasswordError("Das Passwort ist zu lang.")
    if len(set(password)) < 5:
        raise PasswordError("Das Passwort ist zu einfach.")
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) >= 4:
        raise PasswordError("Das Passwort darf nicht die E-Mail-Adresse enthalten.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class StaffUser:
    """The logged-in user as the console sees it."""

    id: int
    email: str
    name: str
    role: str
    units: frozenset[str]
    csrf: str = ""
    session_hash: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def member_of(self, unit: str) -> bool:
        return unit in self.units

    def sees_all_units(self) -> bool:
        """Admins and operators see every unit's queue; staff only their own units."""
        return self.role in {"admin", "operator"}


class Accounts:
    """Users, unit memberships, sessions, login attempts and the audit log."""

    def __init__(self, engine: AsyncEngine, idle: timedelta) -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.idle = idle

    # --- users ----------------------------------------------------------------------------------

    async def create_user(self, email: str, name: str, role: str, units: Iterable[str], password: str) -> int:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
        email = normalise_email(email)
        if "@" not in email or len(email) > 254:
            raise ValueError("invalid e-mail address")
        check_password_strength(password, email)
        now = utcnow()
        try:
            async with self.sessions.begin() as db:
                user = User(email=email, display_name=name.strip() or email, password_hash=hash_password(password),
                            role=role, active=True, created=now, password_changed=now)
                db.add(user)
                await db.flush()
                for unit in sorted(set(units)):
                    db.add(UserUnit(user_id=user.id, unit=unit))
                return user.id
        except IntegrityError:
            raise ValueError(f"a user with the e-mail address {email} exists already") from None

    async def users(self) -> list[tuple[User, list[str]]]:
        async with self.sessions() as db:
            users = list(await db.scalars(select(User).order_by(User.email)))
            memberships: dict[int, list[str]] = {}
            for row in await db.execute(select(UserUnit.user_id, UserUnit.unit).order_by(UserUnit.unit)):
                memberships.setdefault(row.user_id, []).append(row.unit)
            return [(u, memberships.get(u.id, [])) for u in users]

    async def user_by_email(self, email: str) -> User | None:
        async with self.sessions() as db:
            return await db.scalar(select(User).where(User.email == normalise_email(email)))

    async def staff_user(self, user_id: int) -> StaffUser | None:
        async with self.sessions() as db:
            user = await db.get(User, user_id)
            if user is None or not user.active:
                return None
            units = frozenset(await db.scalars(select(UserUnit.unit).where(UserUnit.user_id == user_id)))
            return StaffUser(user.id, user.email, user.display_name, user.role, units)

    async def colleagues(self, unit: str) -> list[tuple[int, str]]:
        """Active users who are members of ``unit`` (for "assign to a colleague")."""
        async with self.sessions() as db:
            rows = await db.execute(select(User.id, User.display_name).join(UserUnit, UserUnit.user_id == User.id)
                                    .where(UserUnit.unit == unit, User.active.is_(True))
                                    .order_by(User.display_name))
            return [(r.id, r.display_name) for r in rows]

    async def set_password(self, user_id: int, password: str) -> None:
        async with self.sessions.begin() as db:
            user = await db.get(User, user_id)
            if user is None:
                raise ValueError("unknown user")
            check_password_strength(password, user.email)
            user.password_hash = hash_password(password)
            user.password_changed = utcnow()

    async def set_active(self, user_id: int, active: bool) -> None:
        async with self.sessions.begin() as db:
            user = await db.get(User, user_id)
            if user is None:
                raise ValueError("unknown user")
            user.active = active
            if not active:
                await db.execute(delete(StaffSession).where(StaffSession.user_id == user_id))

    async def update_user(self, user_id: int, role: str, units: Iterable[str]) -> None:
        if role not in ROLES:
            raise ValueError("unknown role")
        async with self.sessions.begin() as db:
            user = await db.get(User, user_id)
            if user is None:
                raise ValueError("unknown user")
            user.role = role
            await db.execute(delete(UserUnit).where(UserUnit.user_id == user_id))
            for unit in sorted(set(units)):
                db.add(UserUnit(user_id=user_id, unit=unit))

    async def has_admin(self) -> bool:
        async with self.sessions() as db:
            return bool(await db.scalar(select(func.count()).select_from(User).where(
                User.role == "admin", User.active.is_(True))))

    # --- login and sessions -----------------------------------------------------------------------

    async def throttled(self, email: str, address: str, now: datetime | None = None) -> bool:
        since = (now or utcnow()) - THROTTLE_WINDOW
        async with self.sessions() as db:
            by_account = await db.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.email == normalise_email(email), LoginAttempt.success.is_(False),
                LoginAttempt.at >= since))
            by_address = await db.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.address == address, LoginAttempt.success.is_(False), LoginAttempt.at >= since))
        return by_account >= MAX_FAILURES_ACCOUNT or by_address >= MAX_FAILURES_ADDRESS

    async def authenticate(self, email: str, password: str, address: str) -> User | None:
        """The active user with these credentials, or None; every attempt is recorded for throttling."""
        email = normalise_email(email)[:254]
        user = await self.user_by_email(email)
        ok = verify_password(user.password_hash if user else None, password[:MAX_PASSWORD])
        ok = ok and user is not None and user.active
        async with self.sessions.begin() as db:
            db.add(LoginAttempt(email=email, address=address[:64], success=ok, at=utcnow()))
            await db.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - 4 * THROTTLE_WINDOW))
        return user if ok else None

    async def start_session(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self.sessions.begin() as db:
            db.add(StaffSession(id=token_hash(token), user_id=user_id, csrf=secrets.token_urlsafe(32),
                                created=now, last_seen=now, expires=now + self.idle))
            await db.execute(delete(StaffSession).where(StaffSession.expires < now))
        return token

    async def session_user(self, token: str | None, touch: bool = True) -> StaffUser | None:
        """The user of a valid, unexpired session (sliding idle expiry), else None."""
        if not token or len(token) > 100:
            return None
        key = token_hash(token)
        now = utcnow()
        async with self.sessions.begin() as db:
            sess = await db.get(StaffSession, key)
            if sess is None:
                return None
            if as_utc(sess.expires) <= now or as_utc(sess.created) + ABSOLUTE_SESSION <= now:
                await db.delete(sess)
                return None
            user = await db.get(User, sess.user_id)
            if user is None or not user.active:
                await db.delete(sess)
                return None
            if touch and (now - as_utc(sess.last_seen)).total_seconds() > 15:
                sess.last_seen = now
                sess.expires = now + self.idle
            units = frozenset(await db.scalars(select(UserUnit.unit).where(UserUnit.user_id == user.id)))
            return StaffUser(user.id, user.email, user.display_name, user.role, units, sess.csrf, key)

    async def end_session(self, session_hash: str) -> None:
        async with self.sessions.begin() as db:
            await db.execute(delete(StaffSession).where(StaffSession.id == session_hash))

    async def end_other_sessions(self, user_id: int, keep: str) -> None:
        async with self.sessions.begin() as db:
            await db.execute(delete(StaffSession).where(StaffSession.user_id == user_id, StaffSession.id != keep))

    # --- audit ------------------------------------------------------------------------------------

    async def audit(self, user: StaffUser | None, action: str, case_number: str | None = None,
                    detail: str | None = None) -> None:
        async with self.sessions.begin() as db:
            db.add(AuditEntry(user_id=user.id if user else None, actor=user.email if user else "system",
                              action=action, case_number=case_number, detail=detail, at=utcnow()))

    async def audit_entries(self, case_number: str | None = None, limit: int = 200) -> list[AuditEntry]:
        async with self.sessions() as db:
            query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
            if case_number is not None:
                query = query.where(AuditEntry.case_number == case_number)
            return list(await db.scalars(query))


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and isinstance(given, str) and secrets.compare_digest(expected.encode(), given.encode())


Bootstrap = Callable[[Accounts], Awaitable[None]]


async def bootstrap_admin(accounts: Accounts, email: str | None, password: str | None) -> bool:
    """Create the first admin from KRISENLOTSE_ADMIN_EMAIL/_PASSWORD when there is no admin yet."""
    if not email or not password or await accounts.has_admin():
        return False
    if await accounts.user_by_email(email) is not None:
        log.warning("KRISENLOTSE_ADMIN_EMAIL names an existing non-admin user; no admin created")
        return False
    await accounts.create_user(email, "Administration", "admin", [], password)
    log.info("Created the first admin account from KRISENLOTSE_ADMIN_EMAIL")
    return True
