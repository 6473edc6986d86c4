"""The transcript store: conversations, messages and feedback (SQLAlchemy 2 async).

Nothing is written for a session before its consent: every write except :meth:`Store.give_consent` needs a
conversation row with ``consent_at`` set, and silently does nothing otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.models import Case, Conversation, Feedback, Message, new_id, utcnow


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; everything is stored in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a trailing Z."""
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class NewMessage:
    """A message about to be stored (the gateway creates these for every message, stored or not)."""

    sender: str
    text: str | None = None
    buttons: list[dict[str, Any]] | None = None
    custom: dict[str, Any] | None = None
    delivered: bool = True
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)


class Store:
    """Data access for the transcript tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def give_consent(self, session_id: str, page_url: str | None = None,
                           page_language: str | None = None) -> None:
        """Record consent (idempotent: the first consent time is kept; page details are updated)."""
        now = utcnow()
        for attempt in range(2):
            try:
                async with self.sessions.begin() as db:
                    conv = await db.get(Conversation, session_id)
                    if conv is None:
                        db.add(Conversation(session_id=session_id, created=now, consent_at=now,
                                            page_url=page_url, page_language=page_language, last_activity=now))
                    else:
                        conv.consent_at = conv.consent_at or now
                        conv.page_url = page_url or conv.page_url
                        conv.page_language = page_language or conv.page_language
                        conv.last_activity = now
                return
            except IntegrityError:  # a parallel request created the row first: update it instead
                if attempt:
                    raise

    async def has_consent(self, session_id: str) -> bool:
        async with self.sessions() as db:
            consent = await db.scalar(
                select(Conversation.consent_at).where(Conversation.session_id == session_id))
            return consent is not None

    async def exists(self, session_id: str) -> bool:
        async with self.sessions() as db:
            return await db.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.session_id == session_id)) > 0

    async def add_messages(self, session_id: str, messages: Sequence[NewMessage],
                           page_url: str | None = None, page_language: str | None = None,
                           delivered: str | None = None, consent: bool = False,
                           intent: tuple[str | None, float | None, list[dict[str, Any]] | None] | None = None,
                           ) -> bool:
        """Store ``messages`` if the session has consented; returns whether anything was stored.

        ``delivered``: id of an earlier user message to mark as delivered in the same transaction (with
        ``intent``: its intent, confidence and top-3 ranking, too).
        ``consent``: the messages come with the user's consent (recorded first, in the same transaction).

        One transaction with plain SQL statements: this runs twice for every chat message, on the path
        between the user's message and the bot's answer.
        """
        for attempt in range(2):
            try:
                return await self._add_messages(session_id, messages, page_url, page_language, delivered,
                                                consent, intent)
            except IntegrityError:  # a parallel request created the conversation first: try once more
                if attempt:
                    raise
        return False  # pragma: no cover - the loop returns or raises

    async def _add_messages(self, session_id: str, messages: Sequence[NewMessage], page_url: str | None,
                            page_language: str | None, delivered: str | None, consent: bool,
                            intent: tuple[str | None, float | None, list[dict[str, Any]] | None] | None) -> bool:
        now = utcnow()
        async with self.engine.begin() as conn:
            row = (await conn.execute(
                select(Conversation.consent_at, Conversation.last_activity)
                .where(Conversation.session_id == session_id))).first()
            if (row is None or row.consent_at is None) and not consent:
                return False
            before = now if row is None else as_utc(row.last_activity)
            newest = max([before, *(m.created for m in messages)])
            if row is None:
                await conn.execute(insert(Conversation).values(
                    session_id=session_id, created=now, consent_at=now, page_url=page_url,
                    page_language=page_language, last_activity=newest))
            if delivered:
                values: dict[str, Any] = {"delivered": True}
                if intent is not None:
                    values.update(intent=intent[0], confidence=intent[1], intent_ranking=intent[2])
                await conn.execute(update(Message).where(Message.id == delivered).values(**values))
            if messages:
                await conn.execute(insert(Message), [
                    {"id": msg.id, "conversation": session_id, "sender": msg.sender, "text": msg.text,
                     "buttons": msg.buttons, "custom": msg.custom, "delivered": msg.delivered,
                     "created": msg.created} for msg in messages])
            if row is not None:
                changes: dict[str, Any] = {}
                if newest != before:
                    changes["last_activity"] = newest
                if row.consent_at is None:
                    changes["consent_at"] = now
                if page_url:
                    changes["page_url"] = page_url
                if page_language:
                    changes["page_language"] = page_language
                if changes:
                    await conn.execute(update(Conversation).where(Conversation.session_id == session_id)
                                       .values(**changes))
        return True

    async def mark_delivered(self, message_id: str) -> None:
        async with self.sessions.begin() as db:
            await db.execute(update(Message).where(Message.id == message_id).values(delivered=True))

    async def set_intent(self, message_id: str, intent: str | None, confidence: float | None,
                         ranking: list[dict[str, Any]] | None) -> bool:
        async with self.sessions.begin() as db:
            result = await db.execute(update(Message).where(Message.id == message_id).values(
                intent=intent, confidence=confidence, intent_ranking=ranking))
            return result.rowcount > 0

    async def set_staff_name(self, message_id: str, staff_name: str) -> None:
        async with self.sessions.begin() as db:
            await db.execute(update(Message).where(Message.id == message_id).values(staff_name=staff_name))

    async def transcript(self, session_id: str) -> list[dict[str, Any]]:
        """All stored messages of a conversation for the console (intent, confidence, feedback, staff)."""
        async with self.sessions() as db:
            rows = await db.execute(
                select(Message, Feedback.rating, Feedback.comment)
                .outerjoin(Feedback, Feedback.message == Message.id)
                .where(Message.conversation == session_id)
                .order_by(Message.created, Message.id))
            return [
                {"id": msg.id, "sender": "staff" if msg.staff_name else msg.sender, "text": msg.text,
                 "buttons": msg.buttons, "custom": msg.custom, "intent": msg.intent,
                 "confidence": msg.confidence, "timestamp": iso(msg.created), "created": as_utc(msg.created),
                 "feedback": rating, "feedback_comment": comment, "staff_name": msg.staff_name}
                for msg, rating, comment in rows
            ]

    async def message(self, message_id: str) -> Message | None:
        async with self.sessions() as db:
            return await db.get(Message, message_id)

    async def history(self, session_id: str) -> list[dict[str, Any]] | None:
        """The consented conversation's messages in order, with feedback; None if unknown."""
        async with self.sessions() as db:
            conv = await db.get(Conversation, session_id)
            if conv is None or conv.consent_at is None:
                return None
            rows = await db.execute(
                select(Message, Feedback.rating)
                .outerjoin(Feedback, Feedback.message == Message.id)
                .where(Message.conversation == session_id)
                .order_by(Message.created, Message.id))
            return [
                {"id": msg.id, "sender": msg.sender, "text": msg.text, "buttons": msg.buttons,
                 "custom": msg.custom, "timestamp": iso(msg.created), "feedback": rating,
                 "delivered": msg.delivered, **({"staff_name": msg.staff_name} if msg.staff_name else {})}
                for msg, rating in rows
            ]

    async def save_feedback(self, session_id: str, message_id: str, rating: str, comment: str | None) -> bool:
        """Store (or replace) the feedback on a bot message of this session; False if there is none."""
        async with self.sessions.begin() as db:
            msg = await db.get(Message, message_id)
            if msg is None or msg.conversation != session_id or msg.sender != "bot":
                return False
            existing = await db.get(Feedback, message_id)
            if existing is None:
                db.add(Feedback(message=message_id, rating=rating, comment=comment, created=utcnow()))
            else:
                existing.rating, existing.comment, existing.created = rating, comment, utcnow()
            await db.execute(update(Conversation).where(Conversation.session_id == session_id)
                             .values(last_activity=utcnow()))
        return True

    async def delete_conversation(self, session_id: str) -> bool:
        """Remove the conversation with all its messages and feedback; False if there was none."""
        async with self.sessions.begin() as db:
            return await self._delete(db, [session_id]) > 0

    async def purge(self, before: datetime) -> list[str]:
        """Delete conversations whose last activity is older than ``before``; returns their ids."""
        async with self.sessions.begin() as db:
            # Conversations of cases still open are kept until the case is resolved (and its own
            # retention, KRISENLOTSE_CASE_RETENTION_DAYS, has passed).
            open_cases = select(Case.session_id).where(Case.status != "resolved")
            ids = list(await db.scalars(
                select(Conversation.session_id).where(Conversation.last_activity < before,
                                                      Conversation.session_id.not_in(open_cases))))
            await self._delete(db, ids)
            return ids

    @staticmethod
    async def _delete(db: AsyncSession, session_ids: Iterable[str]) -> int:
        ids = list(session_ids)
        if not ids:
            return 0
        # Explicit order instead of relying on ON DELETE CASCADE (SQLite needs a pragma for that).
        deleted = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            message_ids = select(Message.id).where(Message.conversation.in_(chunk)).scalar_subquery()
            await db.execute(delete(Feedback).where(Feedback.message.in_(message_ids)))
            await db.execute(delete(Message).where(Message.conversation.in_(chunk)))
            result = await db.execute(delete(Conversation).where(Conversation.session_id.in_(chunk)))
            deleted += result.rowcount
        return deleted

    async def counts(self) -> dict[str, int]:
        """Row counts per table (tests and the purge command)."""
        async with self.sessions() as db:
            return {
                name: await db.scalar(select(func.count()).select_from(model))
                for name, model in (("conversations", Conversation), ("messages", Message),
                                    ("feedback", Feedback))
            }
