"""Transcript tables (SQLAlchemy 2 declarative). The schema itself is created by the Alembic migrations
in bot/migrations; a test checks that these models and the migrations agree."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SESSION_ID_MAX = 128


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


_id_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """A time-ordered, unguessable message id (UUIDv7 layout as 32 hex digits, monotonic in-process)."""
    global _last_ms, _counter
    with _id_lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            now_ms = _last_ms
        else:
            _counter = 0
        _last_ms = now_ms
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big")
    value = (now_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | (0b10 << 62) | (rand >> 2)
    return f"{value:032x}"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Conversation(Base):
    __tablename__ = "conversations"

    session_id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    page_url: Mapped[str | None] = mapped_column(String(2048))
    page_language: Mapped[str | None] = mapped_column(String(35))
    last_activity: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("sender IN ('user', 'bot')", name="sender"),
        Index("ix_messages_conversation_created", "conversation", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation: Mapped[str] = mapped_column(
        String(SESSION_ID_MAX), ForeignKey("conversations.session_id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[Any | None] = mapped_column(JSON)
    custom: Mapped[Any | None] = mapped_column(JSON)
    intent: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    intent_ranking: Mapped[Any | None] = mapped_column(JSON)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set on messages a city employee wrote during a live handover (sender stays 'bot': the service side).
    staff_name: Mapped[str | None] = mapped_column(String(200))


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating IN ('up', 'down')", name="rating"),)

    message: Mapped[str] = mapped_column(String(32), ForeignKey("messages.id", ondelete="CASCADE"),
                                         primary_key=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- staff console: users, sessions, audit, cases (migration 0002) ---------------------------------

ROLES = ("admin", "operator", "staff")
CASE_STATUSES = ("new", "in_progress", "waiting_for_customer", "resolved")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'operator', 'staff')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UserUnit(Base):
    __tablename__ = "user_units"

    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    # SHA-256 of the random cookie value: a leaked database does not give usable sessions.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'in_progress', 'waiting_for_customer', 'resolved')", name="status"),
        Index("ix_cases_unit_status", "unit", "status"),
    )

    case_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), index=True)
    unit: Mapped[str] = mapped_column(String(64))
    secondary_units: Mapped[Any | None] = mapped_column(JSON)
    topic: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    urgent_signals: Mapped[Any | None] = mapped_column(JSON)
    contact: Mapped[Any | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    expected_response_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(32), default="new")
    assignee_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    live_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    outcome: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseEvent(Base):
    """History of a case: notes, status changes, assignments, re-routes (from_unit, to_unit, reason)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(String(32), ForeignKey("cases.case_number", ondelete="CASCADE"),
                                             index=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    from_unit: Mapped[str | None] = mapped_column(String(64))
    to_unit: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# === NLU inbox (operator console, issue 5) ===============================================================

NLU_DECISIONS = ("confirmed", "ignored", "conflict", "rejected", "superseded")


class NluLabel(Base):
    """An operator's decision on one (normalised, masked) message text of the NLU inbox (bot/ops/inbox.py).

    ``decision``: confirmed (written as a training example for ``intent`` into ``file``), ignored (hidden, not
    written), conflict (the same text already has another intent; waits for a decision), rejected (a conflict
    decided for the existing label), superseded (a confirmed label replaced when a conflict went the other way).
    """

    __tablename__ = "nlu_labels"
    __table_args__ = (
        CheckConstraint("decision IN ('confirmed', 'ignored', 'conflict', 'rejected', 'superseded')",
                        name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(1000), index=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    file: Mapped[str | None] = mapped_column(String(500))
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_with: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)



# === Model registry and training jobs (operator console, issue 5) ========================================

MODEL_STATUSES = ("ready", "active", "failed", "cancelled", "removed")


class NluModel(Base):
    """One trained Rasa model (bot/ops/registry.py): its file in the models folder, the fingerprint of the
    data it was trained on, its evaluation on the held-out test set, who trained it and when."""

    __tablename__ = "nlu_models"
    __table_args__ = (
        CheckConstraint("status IN ('ready', 'active', 'failed', 'cancelled', 'removed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    rasa_model_id: Mapped[str | None] = mapped_column(String(64))
    train_config: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    trained_by: Mapped[str] = mapped_column(String(254))
    trained_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    training_seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[Any | None] = mapped_column(JSON)
    cross_validation: Mapped[Any | None] = mapped_column(JSON)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
