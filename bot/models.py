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


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating IN ('up', 'down')", name="rating"),)

    message: Mapped[str] = mapped_column(String(32), ForeignKey("messages.id", ondelete="CASCADE"),
                                         primary_key=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
