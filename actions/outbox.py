"""Local outbox of cases (SQLite): a case is stored here before the web app is asked to take it.

Persist-then-acknowledge: ``add`` commits the case to disk first; only then the action tries to deliver
it. Entries stay ``pending`` until the web app answers 200/201 (``delivered``) or refuses them for good
(``failed``, kept for a person to look at, never deleted). The retry loop in the action server
(actions/delivery.py) picks up what is due.

The file comes from ``KRISENLOTSE_OUTBOX_DB`` (default ``var/outbox.db``); it holds personal data, so it
is created with mode 0600, and a delivered case keeps only what is needed to find it again (no contact
data, no description). Standard-library sqlite3, one connection per call, run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "var" / "outbox.db"
ENV_PATH = "KRISENLOTSE_OUTBOX_DB"
STATUSES: tuple[str, ...] = ("pending", "delivered", "failed")
#: Fields of a delivered case that stay in the outbox (everything else is personal or not needed).
KEPT_AFTER_DELIVERY: tuple[str, ...] = (
    "case_number",
    "unit",
    "priority",
    "trigger",
    "expected_response_by",
    "created_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_number     TEXT PRIMARY KEY,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_due ON cases (status, next_attempt_at);
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or written (full disk, permissions, …)."""


class DuplicateCase(OutboxError):
    """A case with this number is already in the outbox."""


@dataclass(frozen=True)
class Entry:
    case_number: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: float
    last_status: int | None
    last_error: str | None


def path_from_env(env: Mapping[str, str]) -> Path:
    """``KRISENLOTSE_OUTBOX_DB`` (relative paths: to the working directory), else var/outbox.db."""
    raw = env.get(ENV_PATH, "").strip()
    return Path(raw).expanduser().resolve() if raw else DEFAULT_PATH


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        case_number=row["case_number"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_status=row["last_status"],
        last_error=row["last_error"],
    )


class Outbox:
    """The outbox file. Every public method is a coroutine that runs sqlite3 in a worker thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._ready = False

    # --- sync helpers (worker thread) ------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if not self.path.exists():
                    fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            if not self._ready:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
                self._ready = True
            conn.execute("PRAGMA synchronous = FULL")
            return conn
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"outbox {self.path}: {exc}") from exc

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                cursor = conn.execute(sql, params)
                conn.execute("COMMIT")
                return cursor.rowcount
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise DuplicateCase(str(exc)) from exc
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise OutboxError(f"outbox {self.path}: {exc}") from exc

    def _add(self, payload: dict[str, Any], next_attempt_at: float) -> None:
        now = _now_iso()
        self._write(
            "INSERT INTO cases (case_number, payload, next_attempt_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (payload["case_number"], json.dumps(payload, ensure_ascii=False), next_attempt_at, now, now),
        )

    def _get(self, case_number: str) -> Entry | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT * FROM cases WHERE case_number = ?", (case_number,)).fetchone()
        return _entry(row) if row else None

    def _claim_due(self, now: float, lease: float, limit: int) -> list[Entry]:
        with closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                rows = conn.execute(
                    "SELECT * FROM cases WHERE status = 'pending' AND next_attempt_at <= ? "
                    "ORDER BY next_attempt_at LIMIT ?",
                    (now, limit),
                ).fetchall()
                conn.executemany(
                    "UPDATE cases SET next_attempt_at = ? WHERE case_number = ?",
                    [(now + lease, row["case_number"]) for row in rows],
                )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise OutboxError(f"outbox {self.path}: {exc}") from exc
        return [_entry(row) for row in rows]

    def _mark_delivered(self, case_number: str, status: int, payload: dict[str, Any]) -> None:
        kept = {key: payload.get(key) for key in KEPT_AFTER_DELIVERY}
        self._write(
            "UPDATE cases SET status = 'delivered', payload = ?, attempts = attempts + 1, last_status = ?, "
            "last_error = NULL, updated_at = ? WHERE case_number = ?",
            (json.dumps(kept, ensure_ascii=False), status, _now_iso(), case_number),
        )

    def _mark_failed(self, case_number: str, status: int, error: str) -> None:
        self._write(
            "UPDATE cases SET status = 'failed', attempts = attempts + 1, last_status = ?, last_error = ?, "
            "updated_at = ? WHERE case_number = ? AND status = 'pending'",
            (status, error[:500], _now_iso(), case_number),
        )

    def _mark_retry(self, case_number: str, status: int, error: str, attempts: int, next_at: float) -> None:
        self._write(
            "UPDATE cases SET attempts = attempts + ?, last_status = ?, last_error = ?, next_attempt_at = ?, "
            "updated_at = ? WHERE case_number = ? AND status = 'pending'",
            (attempts, status, error[:500], next_at, _now_iso(), case_number),
        )

    def _counts(self) -> dict[str, int]:
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT status, COUNT(*) AS n FROM cases GROUP BY status").fetchall()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    def check(self) -> dict[str, int]:
        """Open (create) the file and count the cases per status, synchronously (server start-up)."""
        return self._counts()

    # --- async API -------------------------------------------------------------------------

    async def add(self, payload: dict[str, Any], next_attempt_at: float | None = None) -> None:
        """Store a new pending case (committed to disk when this returns); DuplicateCase if the number exists."""
        due = time.time() if next_attempt_at is None else next_attempt_at
        await asyncio.to_thread(self._add, payload, due)

    async def get(self, case_number: str) -> Entry | None:
        return await asyncio.to_thread(self._get, case_number)

    async def claim_due(self, now: float | None = None, lease: float = 30.0, limit: int = 20) -> list[Entry]:
        """Pending cases whose next attempt is due; they are not due again for ``lease`` seconds."""
        return await asyncio.to_thread(self._claim_due, time.time() if now is None else now, lease, limit)

    async def mark_delivered(self, case_number: str, status: int, payload: dict[str, Any]) -> None:
        """The web app has the case: keep only its number, unit and times (no personal data)."""
        await asyncio.to_thread(self._mark_delivered, case_number, status, payload)

    async def mark_failed(self, case_number: str, status: int, error: str) -> None:
        """Refused for good (e.g. 400): kept with the error for a person to look at."""
        await asyncio.to_thread(self._mark_failed, case_number, status, error)

    async def mark_retry(
        self, case_number: str, status: int, error: str, attempts: int, next_at: float
    ) -> None:
        await asyncio.to_thread(self._mark_retry, case_number, status, error, attempts, next_at)

    async def counts(self) -> dict[str, int]:
        """Number of cases per status."""
        return await asyncio.to_thread(self._counts)
