"""The NLU inbox: user messages the bot did not understand well, masked, normalised and de-duplicated, and
the operators' labels of them.

Sources (within the last ``inbox_days`` days): user messages with a confidence below ``inbox_threshold`` or
the intent ``nlu_fallback``; the user message before a bot answer of the fallback action (action_clarify);
the user message before a bot answer that got 👎; the topical user messages of a conversation whose case
staff re-routed to another office. Each message is masked (e-mail, phone, IBAN, names known from the
session's cases, names after "ich bin …/mein Name ist …/ich heiße …/Frau …/Herr …"), then normalised
(:func:`bot.ops.nlu_data.normalise`); equal texts form one item, counted, most frequent first. Items whose
text is already a training example, or that an operator has labelled or ignored, are not shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.models import Case, CaseEvent, Feedback, Message, NluLabel, utcnow
from bot.ops import nlu_data
from bot.ops.nlu_data import FALLBACK_INTENT, NluDataError, normalise
from bot.redact import EMAIL, EMAIL_MASK, IBAN, IBAN_MASK, PHONE, PHONE_MASK, _phone_or_keep
from bot.store import as_utc

NAME_MASK = "[Name]"
COMPANY_MASK = "[Firma]"
# Beginnings of the fallback action's answers (actions/texts.py CLARIFY and GIVE_UP; a test keeps them equal).
FALLBACK_ANSWERS = ("Ich bin nicht sicher, ob ich Sie richtig verstanden habe.",)
# Intents that carry no topic: a re-routed case says nothing about them.
CONVERSATION_INTENTS = frozenset({"contact_request", "human_handoff", "inform", "greet", "goodbye", "affirm",
                                  "deny", "thank", "bot_challenge", "stop", "live_chat_request", FALLBACK_INTENT})
SOURCE_LABELS = {"low_confidence": "Unsicher erkannt", "fallback": "Nicht verstanden",
                 "feedback": "Negative Bewertung", "reroute": "Fall umgeleitet"}
# Fictional values for the masks when a text becomes a training example (annotated as entities).
TRAINING_VALUES = {EMAIL_MASK: "[info@beispiel-firma.de](email)", PHONE_MASK: "[0621 123456](phone)",
                   IBAN_MASK: "DE02 1203 0000 0000 2020 51", NAME_MASK: "[Anna Schmidt](person_name)",
                   COMPANY_MASK: "[Muster GmbH](company_name)"}
CONTEXT_BEFORE = 3
CONTEXT_AFTER = 2

_WORD = r"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?"
_NAME = rf"{_WORD}(?:\s+(?:von|van|de|zu)\s+{_WORD}|\s+{_WORD}){{0,2}}"
NAME_AFTER_INTRO = re.compile(
    rf"(?i:\b(?:mein\s+name\s+ist|ich\s+hei(?:ß|ss)e|hier\s+spricht|hier\s+ist|name\s*:)\s+)(?:(?:Frau|Herrn?|Dr\.|Prof\.)\s+)?({_NAME})")
# "ich bin" is followed by professions too ("ich bin Friseurin"): only first name + surname count.
NAME_AFTER_ICH_BIN = re.compile(rf"(?i:\bich\s+bin\s+(?:(?:der|die)\s+)?)({_WORD}\s+{_WORD})\b")
NAME_AFTER_TITLE = re.compile(rf"\b(?:Frau|Herrn?|Dr\.|Prof\.)\s+({_NAME})")


# --- masking and normalising ---------------------------------------------------------------------------

def mask(text: str, names: Iterable[str] = (), companies: Iterable[str] = ()) -> str:
    """``text`` with personal data replaced by [E-Mail], [IBAN], [Telefon], [Firma] and [Name]."""
    if not text:
        return text
    text = EMAIL.sub(EMAIL_MASK, text)
    text = IBAN.sub(IBAN_MASK, text)
    text = PHONE.sub(_phone_or_keep, text)
    for company in sorted({c.strip() for c in companies if c and len(c.strip()) >= 2}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(company)}(?!\w)", COMPANY_MASK, text, flags=re.IGNORECASE)
    parts: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            parts.add(name)
            parts.update(p for p in re.split(r"[\s,]+", name) if len(p) >= 3 and p[0].isupper())
    for part in sorted(parts, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", NAME_MASK, text, flags=re.IGNORECASE)
    for pattern in (NAME_AFTER_INTRO, NAME_AFTER_ICH_BIN, NAME_AFTER_TITLE):
        text = pattern.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + NAME_MASK, text)
    # "[Name] [Name]" (first name and surname masked one by one) reads as one name.
    return re.sub(r"\[Name\](?:\s+\[Name\])+", NAME_MASK, text)


def inbox_key(text: str, names: Iterable[str] = (), companies: Iterable[str] = ()) -> str:
    return normalise(mask(text, names, companies))


def training_text(masked: str) -> str:
    """The training example for a masked text: masks become fictional, annotated values."""
    text = " ".join(masked.split())
    for placeholder, value in TRAINING_VALUES.items():
        text = text.replace(placeholder, value)
    return text


def item_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def training_index(project_dir: Path) -> nlu_data.TrainingIndex:
    """The training data index with inbox keys (masked + normalised)."""
    return nlu_data.load_index(project_dir, key=inbox_key, key_name="inbox")


# --- collecting --------------------------------------------------------------------------------------

# Without intent_ranking (JSON, costly to decode for every message): it is read for one message per item.
ROW_COLUMNS = (Message.id, Message.conversation, Message.sender, Message.text, Message.intent, Message.confidence,
               Message.created)
People = dict[str, tuple[set[str], set[str]]]


class Row(NamedTuple):
    """The columns of a stored message that the inbox needs (lighter than ORM objects)."""

    id: str
    conversation: str
    sender: str
    text: str | None
    intent: str | None
    confidence: float | None
    created: datetime


@dataclass
class Hit:
    message: Row
    sources: set[str] = field(default_factory=set)
    detail: str | None = None


@dataclass
class Item:
    id: str
    key: str
    text: str
    count: int
    conversations: int
    sources: dict[str, int]
    last_seen: datetime
    ranking: list[dict[str, Any]]
    intent: str | None
    confidence: float | None
    suggestion: str | None
    context: list[dict[str, Any]]
    reroutes: list[str]
    focus: Row | None = field(default=None, repr=False)  # the latest message of the group

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "count": self.count, "conversations": self.conversations,
                "sources": self.sources, "last_seen": as_utc(self.last_seen).isoformat(),
                "ranking": self.ranking, "intent": self.intent, "confidence": self.confidence,
                "suggestion": self.suggestion, "context": self.context, "reroutes": self.reroutes}


@dataclass
class Conflict:
    id: str
    text: str
    existing_intent: str
    existing_by: str
    existing_file: str | None
    proposed_intent: str | None
    proposed_by: str | None
    label_id: int | None
    resolvable: bool

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class Inbox:
    """Queries and labels of the NLU inbox for one database and one Rasa project."""

    def __init__(self, engine: AsyncEngine, project_dir: Path, threshold: float = 0.6, days: int = 30) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.project_dir = project_dir
        self.threshold = threshold
        self.days = days

    # -- reading --

    async def _rows(self, db: Any, *where: Any) -> list[Row]:
        result = await db.execute(select(*ROW_COLUMNS).where(*where))
        return [Row(*values) for values in result.all()]

    async def _conversations(self, db: Any, sessions: Iterable[str]) -> dict[str, list[Row]]:
        messages: dict[str, list[Row]] = {}
        for chunk in _chunks(sorted(set(sessions))):
            rows = await self._rows(db, Message.conversation.in_(chunk))
            for row in sorted(rows, key=lambda r: (as_utc(r.created), r.id)):
                messages.setdefault(row.conversation, []).append(row)
        return messages

    async def _hits(self, since: datetime) -> tuple[dict[str, Hit], People]:
        hits: dict[str, Hit] = {}
        async with self.sessions() as db:
            low = await self._rows(db, Message.sender == "user", Message.created >= since,
                                   Message.text.is_not(None),
                                   (Message.intent == FALLBACK_INTENT) | (Message.confidence < self.threshold))
            for row in low:
                hits.setdefault(row.id, Hit(row)).sources.add(
                    "fallback" if row.intent == FALLBACK_INTENT else "low_confidence")
            answers = await self._rows(db, Message.sender == "bot", Message.created >= since,
                                       Message.text.startswith(FALLBACK_ANSWERS[0]))
            down = list((await db.execute(select(*ROW_COLUMNS).join(Feedback, Feedback.message == Message.id)
                                          .where(Feedback.rating == "down", Feedback.created >= since))).all())
            down_rows = [Row(*values) for values in down]
            reroutes = list((await db.execute(
                select(CaseEvent.from_unit, CaseEvent.to_unit, Case.session_id, Case.topic)
                .join(Case, Case.case_number == CaseEvent.case_number)
                .where(CaseEvent.kind == "reroute", CaseEvent.at >= since))).all())
            # Whole conversations only where the message before a bot answer or the topic is needed.
            messages = await self._conversations(
                db, [r.conversation for r in answers] + [r.conversation for r in down_rows] +
                [session for _, _, session, _ in reroutes])
            people = await self._people(db)

        def previous_user(bot_message: Row) -> Row | None:
            before = None
            for row in messages.get(bot_message.conversation, []):
                if row.id == bot_message.id:
                    return before
                if row.sender == "user" and row.text:
                    before = row
            return None

        for answer in answers:
            user = previous_user(answer)
            if user is not None:
                hits.setdefault(user.id, Hit(user)).sources.add("fallback")
        for bot_message in down_rows:
            user = previous_user(bot_message)
            if user is not None:
                hits.setdefault(user.id, Hit(user)).sources.add("feedback")
        for from_unit, to_unit, session, topic in reroutes:
            history = [r for r in messages.get(session, []) if r.sender == "user" and r.text]
            chosen = [r for r in history if topic and r.intent == topic] or \
                [r for r in history if r.intent and r.intent not in CONVERSATION_INTENTS]
            for row in chosen:
                hit = hits.setdefault(row.id, Hit(row))
                hit.sources.add("reroute")
                hit.detail = f"{from_unit or '?'} → {to_unit or '?'}"
        # Buttons send payloads ("/greet"); they are not language.
        hits = {k: h for k, h in hits.items() if h.message.text and not h.message.text.startswith("/")}
        return hits, people

    async def _rankings(self, ids: Sequence[str]) -> dict[str, Any]:
        rankings: dict[str, Any] = {}
        async with self.sessions() as db:
            for chunk in _chunks(list(ids)):
                rows = await db.execute(select(Message.id, Message.intent_ranking).where(Message.id.in_(chunk)))
                rankings.update(rows.all())
        return rankings

    @staticmethod
    async def _people(db: Any) -> People:
        """Names, companies, e-mail addresses and phone numbers of the contacts of cases, by session."""
        people: People = {}
        rows = await db.execute(select(Case.session_id, Case.contact))
        for session, contact in rows.all():
            contact = contact if isinstance(contact, dict) else {}
            names, companies = people.setdefault(session, (set(), set()))
            for value, bucket in ((contact.get("name"), names), (contact.get("company"), companies)):
                if isinstance(value, str) and value.strip():
                    bucket.add(value.strip())
            for value in (contact.get("email"), contact.get("phone")):
                if isinstance(value, str) and len(value.strip()) >= 5:
                    names.add(value.strip())
        return people

    async def labelled_keys(self) -> set[str]:
        async with self.sessions() as db:
            return set(await db.scalars(select(NluLabel.key).where(
                NluLabel.decision.in_(("confirmed", "ignored", "conflict", "rejected")))))

    async def items(self, domain_intents: Sequence[str] = (), limit: int | None = None,
                    context: int | None = 0) -> list[Item]:
        """The inbox: one item per normalised masked text, most frequent first (``limit`` items, all when
        None); the conversation around it for the first ``context`` items (all when None)."""
        since = utcnow() - timedelta(days=self.days)
        hits, people = await self._hits(since)
        index = training_index(self.project_dir)
        done = await self.labelled_keys()
        groups: dict[str, list[tuple[Hit, str]]] = {}
        plain: dict[str, tuple[str, str]] = {}  # text → (masked, key) for sessions without known names
        for hit in hits.values():
            text = hit.message.text or ""
            names, companies = people.get(hit.message.conversation, ((), ()))
            if names or companies:
                masked = " ".join(mask(text, names, companies).split())
                key = normalise(masked)
            else:
                if text not in plain:
                    masked = " ".join(mask(text).split())
                    plain[text] = (masked, normalise(masked))
                masked, key = plain[text]
            if not key or key in index or key in done:
                continue
            groups.setdefault(key, []).append((hit, masked))
        for members in groups.values():
            members.sort(key=lambda pair: as_utc(pair[0].message.created), reverse=True)
        rankings = await self._rankings(
            [next((h.message for h, _ in members if h.message.intent), members[0][0].message).id
             for members in groups.values()])
        known = set(domain_intents)
        result = []
        for key, members in groups.items():
            latest = members[0][0].message
            text = Counter(masked for _, masked in members).most_common(1)[0][0]
            sources: Counter[str] = Counter()
            for hit, _ in members:
                sources.update(hit.sources)
            ranked = next((h.message for h, _ in members if h.message.intent), latest)
            ranking = [{"name": str(r.get("name")), "confidence": r.get("confidence")}
                       for r in (rankings.get(ranked.id) or [])[:3] if isinstance(r, dict) and r.get("name")]
            suggestion = next((r["name"] for r in ranking if r["name"] != FALLBACK_INTENT
                               and (not known or r["name"] in known)), None)
            if suggestion is None and ranked.intent and ranked.intent != FALLBACK_INTENT:
                suggestion = ranked.intent
            item = Item(
                id=item_id(key), key=key, text=text, count=len(members),
                conversations=len({h.message.conversation for h, _ in members}),
                sources={s: sources[s] for s in SOURCE_LABELS if sources[s]}, last_seen=latest.created,
                ranking=ranking, intent=ranked.intent, confidence=ranked.confidence, suggestion=suggestion,
                context=[], reroutes=sorted({h.detail for h, _ in members if h.detail}))
            item.focus = latest
            result.append(item)
        result.sort(key=lambda item: (-item.count, -as_utc(item.last_seen).timestamp(), item.key))
        result = result[:limit] if limit else result
        with_context = result if context is None else result[:context]
        if with_context:
            async with self.sessions() as db:
                conversations = await self._conversations(db, [i.focus.conversation for i in with_context if i.focus])
            for item in with_context:
                focus = item.focus
                if focus is None:
                    continue
                names, companies = people.get(focus.conversation, ((), ()))
                item.context = self._context(focus, conversations.get(focus.conversation, []), names, companies)
        return result

    @staticmethod
    def _context(focus: Row, conversation: list[Row], names: Iterable[str],
                 companies: Iterable[str]) -> list[dict[str, Any]]:
        position = next((i for i, m in enumerate(conversation) if m.id == focus.id), 0)
        window = conversation[max(0, position - CONTEXT_BEFORE): position + CONTEXT_AFTER + 1]
        return [{"sender": m.sender, "text": mask(m.text or "", names, companies), "focus": m.id == focus.id}
                for m in window if m.text]

    async def conflicts(self) -> list[Conflict]:
        """Texts labelled differently: pending conflicts of operators, and texts that the training data has
        under more than one intent."""
        result: list[Conflict] = []
        async with self.sessions() as db:
            pending = list(await db.scalars(select(NluLabel).where(NluLabel.decision == "conflict")
                                            .order_by(NluLabel.at)))
            for label in pending:
                existing = await db.scalar(select(NluLabel).where(
                    NluLabel.key == label.key, NluLabel.decision == "confirmed").order_by(NluLabel.at.desc()))
                if existing is not None:
                    result.append(Conflict(f"label-{label.id}", label.text, existing.intent or "?",
                                           existing.actor, existing.file, label.intent, label.actor, label.id,
                                           True))
                else:
                    intent, _, file = (label.conflict_with or "?").partition("@")
                    result.append(Conflict(f"label-{label.id}", label.text, intent, "Trainingsdaten", file or None,
                                           label.intent, label.actor, label.id,
                                           bool(file) and file.startswith(nlu_data.OPERATOR_DIR.as_posix())))
        for key, text, intents in training_index(self.project_dir).conflicts():
            names = sorted(intents)
            result.append(Conflict(f"data-{item_id(key)}", text, names[0], "Trainingsdaten",
                                   ", ".join(intents[names[0]]), ", ".join(names[1:]),
                                   ", ".join(f for n in names[1:] for f in intents[n]), None, False))
        return result

    # -- labelling --

    async def record(self, key: str, text: str, intent: str | None, decision: str, actor: str,
                     user_id: int | None, count: int = 0, file: str | None = None,
                     conflict_with: str | None = None) -> int:
        async with self.sessions.begin() as db:
            label = NluLabel(key=key, text=text, intent=intent, decision=decision, written=file is not None,
                             file=file, message_count=count, conflict_with=conflict_with, user_id=user_id,
                             actor=actor, at=utcnow())
            db.add(label)
            await db.flush()
            return label.id

    async def labelled_items(self, ids: Iterable[str]) -> dict[str, Item]:
        """Items already labelled (so no longer in the inbox), by item id, from their latest label: a stale
        page may still send them, and a different label then is a conflict, not silently kept."""
        wanted = set(ids)
        found: dict[str, Item] = {}
        async with self.sessions() as db:
            labels = await db.scalars(select(NluLabel).order_by(NluLabel.at.desc(), NluLabel.id.desc()))
            for label in labels:
                ident = item_id(label.key)
                if ident in wanted and ident not in found:
                    found[ident] = Item(ident, label.key, label.text, label.message_count, 0, {}, label.at, [],
                                        label.intent, None, label.intent, [], [])
        return found

    async def confirmed(self, key: str) -> NluLabel | None:
        async with self.sessions() as db:
            return await db.scalar(select(NluLabel).where(NluLabel.key == key, NluLabel.decision == "confirmed")
                                   .order_by(NluLabel.at.desc()))

    async def label(self, item: Item, intent: str | None, actor: str, user_id: int | None,
                    domain: nlu_data.Domain) -> dict[str, Any]:
        """Apply one decision (intent None = ignore). Returns {"id", "status", "message", "file"?}."""
        if intent is None:
            await self.record(item.key, item.text, None, "ignored", actor, user_id, item.count)
            return {"id": item.id, "status": "ignored", "message": "Ausgeblendet."}
        nlu_data.check_intent(intent, domain)
        existing = await self.confirmed(item.key)
        if existing is not None and existing.intent != intent:
            await self.record(item.key, item.text, intent, "conflict", actor, user_id, item.count)
            return {"id": item.id, "status": "conflict",
                    "message": f"Konflikt: {existing.actor} hat diesen Text schon {existing.intent} zugeordnet."}
        if existing is not None:
            return {"id": item.id, "status": "written", "file": existing.file,
                    "message": f"Schon als {intent} gespeichert."}
        try:
            result = await asyncio.to_thread(nlu_data.add_examples, self.project_dir, intent,
                                             [training_text(item.text)], domain)
        except nlu_data.ExampleConflict as exc:
            await self.record(item.key, item.text, intent, "conflict", actor, user_id, item.count,
                              conflict_with=f"{exc.intent}@{exc.file}")
            return {"id": item.id, "status": "conflict", "message": f"Konflikt: {exc}"}
        await self.record(item.key, item.text, intent, "confirmed", actor, user_id, item.count, result.file)
        return {"id": item.id, "status": "written", "file": result.file,
                "message": f"Als {intent} in {result.file} gespeichert."}

    async def resolve(self, label_id: int, choice: str, actor: str, user_id: int | None,
                      domain: nlu_data.Domain) -> str:
        """Decide a pending conflict: ``keep`` the existing label or take the ``new`` one (moves the example
        between the operator console's files). Returns a German confirmation; raises NluDataError."""
        async with self.sessions() as db:
            label = await db.get(NluLabel, label_id)
        if label is None or label.decision != "conflict" or not label.intent:
            raise NluDataError("Diesen Konflikt gibt es nicht mehr.")
        if choice == "keep":
            await self._set(label_id, decision="rejected", actor=actor, user_id=user_id)
            return "Die bisherige Zuordnung bleibt."
        if choice != "new":
            raise NluDataError("Unbekannte Entscheidung.")
        nlu_data.check_intent(label.intent, domain)
        existing = await self.confirmed(label.key)
        if existing is not None:
            old_intent, old_file = existing.intent or "", existing.file or ""
        else:
            old_intent, _, old_file = (label.conflict_with or "").partition("@")
        if not old_file.startswith(nlu_data.OPERATOR_DIR.as_posix()):
            raise NluDataError(f"Das bisherige Beispiel steht in {old_file or 'den Trainingsdaten'}, nicht in einer "
                               "Datei der Betriebskonsole. Bitte ändern Sie es dort von Hand.")
        example = training_text(label.text)
        nlu_data.check_example(example, domain, nlu_data.testset_keys(self.project_dir))
        await asyncio.to_thread(nlu_data.remove_example, self.project_dir, old_intent, example)
        result = await asyncio.to_thread(nlu_data.add_examples, self.project_dir, label.intent, [example], domain)
        if existing is not None:
            await self._set(existing.id, decision="superseded")
        await self._set(label_id, decision="confirmed", written=True, file=result.file, actor=actor,
                        user_id=user_id)
        return f"Jetzt {label.intent} ({result.file}); aus {old_file} entfernt."

    async def _set(self, label_id: int, **values: Any) -> None:
        async with self.sessions.begin() as db:
            label = await db.get(NluLabel, label_id)
            if label is not None:
                for name, value in values.items():
                    setattr(label, name, value)
                label.at = utcnow()


@dataclass(frozen=True)
class WrittenExample:
    text: str
    intent: str
    file: str
    actor: str
    at: datetime


async def examples_written_since(engine: AsyncEngine, since: datetime | None) -> list[WrittenExample]:
    """Training examples the NLU inbox wrote after ``since`` (None: all), oldest first — e.g. for "N new
    examples since the active model"."""
    query = select(NluLabel).where(NluLabel.decision == "confirmed", NluLabel.written.is_(True))
    if since is not None:
        query = query.where(NluLabel.at > since)
    async with async_sessionmaker(engine)() as db:
        labels = await db.scalars(query.order_by(NluLabel.at, NluLabel.id))
        return [WrittenExample(label.text, label.intent or "", label.file or "", label.actor, as_utc(label.at))
                for label in labels]
