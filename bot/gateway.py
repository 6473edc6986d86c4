"""The gateway between the public channels (REST, socket.io) and Rasa's REST channel.

Per user message: check length and rate limits, forward it to ``POST {RASA_URL}/webhooks/rest/webhook``
with a time-out while storing it (only after consent; stored before the answer is returned), return the
bot's answer and store it right after (reads of the conversation wait for that write: ``settled``). Intent
and confidence of the message come from Rasa's tracker (the ``user`` event carrying our
``krisenlotse_message_id``) instead of running NLU a second time: straight from Rasa's SQL tracker store
when KRISENLOTSE_RASA_TRACKER_DB points at it, else (in the background) through Rasa's HTTP API.

When Rasa (or its action server) is down, slow or answers with an error or with nothing, the user gets a
polite German message and the contact card of the Wirtschaftsförderung; the user's message stays stored
with ``delivered = false``. No state is kept about the failure: the next message tries Rasa again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from bot.models import new_id, utcnow
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from bot.store import NewMessage, Store, iso
from bot.tracker_db import TrackerReader

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
METADATA_ID_KEY = "krisenlotse_message_id"

RASA_UNAVAILABLE = "rasa_unavailable"
LOOKUP_CONCURRENCY = 4
MAX_PENDING_LOOKUPS = 1000
# Longest time a message waits for a model swap (Rasa loads a model in 15-35 s on two busy cores).
HOLD_MAX_SECONDS = 90.0

TEXT_UNAVAILABLE_STORED = (
    "Entschuldigung, der Krisenlotse ist gerade nicht erreichbar. Ihre Nachricht wurde gespeichert, "
    "konnte aber noch nicht beantwortet werden. Bitte versuchen Sie es in einigen Minuten noch einmal "
    "oder wenden Sie sich direkt an die Wirtschaftsförderung:"
)
TEXT_UNAVAILABLE = (
    "Entschuldigung, der Krisenlotse ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen "
    "Minuten noch einmal oder wenden Sie sich direkt an die Wirtschaftsförderung:"
)


class GatewayError(Exception):
    """A message the gateway refuses, with an error code and a German text for the user."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def valid_session_id(value: object) -> bool:
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


def clean_text(value: str) -> str:
    """Text as sent, minus NUL characters (PostgreSQL cannot store them)."""
    return value.replace("\x00", "")


@dataclass(frozen=True)
class PageInfo:
    """What the widget tells about the page it runs on, and whether the user consented."""

    page_url: str | None = None
    page_language: str | None = None
    consent: bool = False

    @classmethod
    def from_metadata(cls, metadata: object) -> PageInfo:
        if not isinstance(metadata, Mapping):
            return cls()
        url = metadata.get("page_url")
        lang = metadata.get("page_language")
        return cls(
            page_url=clean_text(url)[:2048] if isinstance(url, str) and url else None,
            page_language=clean_text(lang)[:35] if isinstance(lang, str) and lang else None,
            consent=metadata.get("consent") is True,
        )


@dataclass
class Outgoing:
    """One bot message as it goes to the user (and into the store)."""

    text: str | None = None
    buttons: list[dict[str, str]] | None = None
    custom: dict[str, Any] | None = None
    image: str | None = None
    error: str | None = None
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    @classmethod
    def from_rasa(cls, raw: object) -> Outgoing | None:
        if not isinstance(raw, Mapping):
            return None
        text = raw.get("text") if isinstance(raw.get("text"), str) else None
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in raw.get("buttons") or [] if isinstance(b, Mapping)
        ] if isinstance(raw.get("buttons"), list) else None
        custom = raw.get("custom") if isinstance(raw.get("custom"), dict) else None
        image = raw.get("image") if isinstance(raw.get("image"), str) else None
        if not (text or buttons or custom or image):
            return None
        return cls(text=text, buttons=buttons or None, custom=custom, image=image)

    def stored(self) -> NewMessage:
        custom = self.custom
        if self.image:
            custom = {**(custom or {}), "image": self.image}
        return NewMessage(sender="bot", text=self.text, buttons=self.buttons, custom=custom, id=self.id,
                          created=self.created)

    def rest(self, recipient_id: str) -> dict[str, Any]:
        """Rasa REST channel format."""
        out: dict[str, Any] = {"recipient_id": recipient_id}
        if self.text is not None:
            out["text"] = self.text
        if self.buttons:
            out["buttons"] = self.buttons
        if self.custom is not None:
            out["custom"] = self.custom
        if self.image:
            out["image"] = self.image
        out["message_id"] = self.id
        if self.error:
            out["error"] = self.error
        return out

    def socket(self) -> dict[str, Any]:
        """Rasa socket.io channel format (``bot_uttered``)."""
        out: dict[str, Any] = {}
        if self.text is not None:
            out["text"] = self.text
        if self.buttons:
            out["quick_replies"] = [{"content_type": "text", "title": b["title"], "payload": b["payload"]}
                                    for b in self.buttons]
        if self.custom is not None:
            out["custom"] = self.custom
        if self.image:
            out["attachment"] = {"type": "image", "payload": {"src": self.image}}
        out["message_id"] = self.id
        out["timestamp"] = iso(self.created)
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Reply:
    messages: list[Outgoing]
    error: str | None = None
    stored: bool = False
    user_message_id: str | None = None
    live: bool = False  # staff have taken the conversation over: the message went to them, not to Rasa


class Gateway:
    """Forwards user messages to Rasa and records the conversation."""

    def __init__(self, config: Settings, http: aiohttp.ClientSession, store: Store, limiter: RateLimiter,
                 contact_card: dict[str, Any]) -> None:
        self.config = config
        self.http = http
        self.store = store
        self.limiter = limiter
        self.contact_card = contact_card
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writes: dict[str, set[asyncio.Task[Any]]] = {}  # answers being written, per conversation
        # Tracker look-ups are extra work for Rasa: a few at a time, so they never crowd out user messages.
        self._lookups = asyncio.Semaphore(LOOKUP_CONCURRENCY)
        # Rasa's SQL tracker store, read directly (bot.tracker_db.TrackerReader); None: ask Rasa over HTTP.
        self.tracker_reader: TrackerReader | None = None
        # Live handover (bot.live): returns True when staff have taken the conversation over; the message
        # then goes to the console instead of Rasa.
        self.live_hook: Callable[[str, NewMessage], Awaitable[bool]] | None = None
        # Model swaps (hold_messages): new messages wait while Rasa loads a model; messages on their way
        # through Rasa are counted so a swap starts when they are answered.
        self._open = asyncio.Event()
        self._open.set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # --- input checks ------------------------------------------------------------------------------

    def check_text(self, text: object) -> str:
        if not isinstance(text, str):
            raise GatewayError(400, "invalid_request", "Die Nachricht fehlt oder ist kein Text.")
        text = clean_text(text).strip()
        if not text:
            raise GatewayError(400, "empty_message", "Bitte geben Sie eine Nachricht ein.")
        limit = self.config.max_message_chars
        if len(text) > limit:
            raise GatewayError(
                422, "message_too_long",
                f"Ihre Nachricht ist zu lang ({len(text)} Zeichen). Bitte fassen Sie sich kürzer: "
                f"höchstens {limit} Zeichen pro Nachricht. Sie können Ihr Anliegen auch auf mehrere "
                "Nachrichten verteilen.")
        return text

    def check_rate(self, session_id: str | None, address: str | None) -> None:
        wait = self.limiter.check(session_id, address)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise GatewayError(
                429, "rate_limited",
                "Sie haben in kurzer Zeit sehr viele Nachrichten geschickt. Bitte warten Sie "
                f"{seconds} Sekunde{'n' if seconds != 1 else ''} und versuchen Sie es dann noch einmal.",
                retry_after=seconds)

    # --- one message -------------------------------------------------------------------------------

    async def handle(self, session_id: str, text: object, metadata: object, address: str | None) -> Reply:
        """Check and answer one user message (raises GatewayError for refused input)."""
        checked = self.check_text(text)
        await self.refresh_rate(session_id, address)
        self.check_rate(session_id, address)
        return await self.answer(session_id, checked, metadata)

    async def refresh_rate(self, session_id: str | None, address: str | None) -> None:
        """Shared rate limits (bot.redis_support, several instances): take over the cluster's buckets first."""
        refresh = getattr(self.limiter, "refresh", None)
        if refresh is not None:
            await refresh(session_id, address)

    async def answer(self, session_id: str, text: str, metadata: object) -> Reply:
        """Answer a checked user message: store it (after consent), ask Rasa, store and return the answer."""
        page = PageInfo.from_metadata(metadata)
        user = NewMessage(sender="user", text=text, delivered=False)
        # Live handover: staff get the message at once (then it is stored), Rasa does not get it.
        if await self._is_live(session_id, user):
            user.delivered = True
            stored = await self._store_user_message(session_id, user, page)
            return Reply(messages=[], stored=stored, user_message_id=user.id, live=True)
        # The user's message is written while Rasa thinks (it is kept before the user sees an answer).
        storing = asyncio.ensure_future(self._store_user_message(session_id, user, page))
        try:
            answer = await self._forward(session_id, text, page, user.id)
        finally:
            stored = await storing
        if answer is None:
            messages = [
                Outgoing(text=TEXT_UNAVAILABLE_STORED if stored else TEXT_UNAVAILABLE, error=RASA_UNAVAILABLE),
                Outgoing(custom=self.contact_card, error=RASA_UNAVAILABLE),
            ]
            error = RASA_UNAVAILABLE
        else:
            messages, error = answer, None
        if stored:
            # The answer goes to the user at once and is written right after; reads of this conversation
            # in this process (history, feedback, erasure) wait for it (``settled``).
            self._track(session_id, self.spawn(self._store_answer(session_id, user.id, messages, error)))
        return Reply(messages=messages, error=error, stored=stored, user_message_id=user.id)

    async def _store_answer(self, session_id: str, user_id: str, messages: list[Outgoing], error: str | None) -> None:
        # Rasa saved the tracker before it answered: intent and confidence are usually in its tracker
        # database already, and go into the same transaction as the answer (one write, not two).
        parsed = await self._parse_from_db(session_id, user_id) if error is None else None
        try:
            await self.store.add_messages(session_id, [m.stored() for m in messages],
                                          delivered=user_id if error is None else None, intent=parsed)
        except SQLAlchemyError as exc:
            log.error("Could not store the bot's answer: %s", type(exc).__name__)
            return
        if error is None and parsed is None and len(self._tasks) < MAX_PENDING_LOOKUPS:
            self.spawn(self.record_intent(session_id, user_id))

    def _track(self, session_id: str, task: asyncio.Task[Any]) -> None:
        pending = self._writes.setdefault(session_id, set())
        pending.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            pending.discard(finished)
            if not pending and self._writes.get(session_id) is pending:
                del self._writes[session_id]

        task.add_done_callback(done)

    async def settled(self, session_id: str, timeout: float = 5.0) -> None:
        """Wait until the answers to this conversation's messages are written (reads see what users saw)."""
        pending = list(self._writes.get(session_id, ()))
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def _is_live(self, session_id: str, user: NewMessage) -> bool:
        """Whether staff have taken the conversation over (the message then goes to them, not to Rasa).

        When the database cannot tell (it is restarting), the bot answers: nothing can be stored for the
        console meanwhile either, and an answer is better than an error page."""
        if self.live_hook is None:
            return False
        try:
            return await self.live_hook(session_id, user)
        except (SQLAlchemyError, OSError) as exc:
            log.error("Could not check for a live handover (%s); the bot answers", type(exc).__name__)
            return False

    async def _store_user_message(self, session_id: str, user: NewMessage, page: PageInfo) -> bool:
        try:
            return await self.store.add_messages(session_id, [user], page.page_url, page.page_language,
                                                 consent=page.consent)
        except SQLAlchemyError as exc:
            # The conversation goes on without a transcript rather than failing for the user.
            log.error("Could not store the user's message: %s", type(exc).__name__)
            return False

    @contextlib.asynccontextmanager
    async def hold_messages(self, drain_timeout: float = 15.0) -> AsyncIterator[None]:
        """Hold new messages back (up to HOLD_MAX_SECONDS each) while the block runs, e.g. while Rasa loads a
        new model (``PUT /model``), when it answers nobody for many seconds. The block starts when the
        messages Rasa is answering now are answered (at most ``drain_timeout`` seconds). Held messages are
        forwarded afterwards, in order; the widget shows its typing indicator meanwhile."""
        self._open.clear()
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), drain_timeout)
            yield
        finally:
            self._open.set()

    async def _forward(self, session_id: str, text: str, page: PageInfo, message_id: str) -> list[Outgoing] | None:
        """Rasa's answer, or None when Rasa is unreachable, too slow, failing or silent."""
        if not self._open.is_set():
            log.info("A model swap is running: the message waits for it")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._open.wait(), HOLD_MAX_SECONDS)
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._post_to_rasa(session_id, text, page, message_id)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _post_to_rasa(self, session_id: str, text: str, page: PageInfo,
                            message_id: str) -> list[Outgoing] | None:
        metadata: dict[str, Any] = {METADATA_ID_KEY: message_id}
        if page.page_url:
            metadata["page_url"] = page.page_url
        if page.page_language:
            metadata["page_language"] = page.page_language
        payload = {"sender": session_id, "message": text, "metadata": metadata}
        url = f"{self.config.rasa_url}/webhooks/rest/webhook"
        try:
            async with self.http.post(url, json=payload) as resp:
                if resp.status != 200:
                    log.warning("Rasa answered HTTP %s to a message", resp.status)
                    return None
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("Rasa did not answer a message (%s)", type(exc).__name__)
            return None
        if not isinstance(body, list):
            log.warning("Rasa answered with something other than a list of messages")
            return None
        messages = [m for m in (Outgoing.from_rasa(raw) for raw in body) if m is not None]
        if not messages:
            # Rasa answers with nothing when the action server is down or an action failed.
            log.warning("Rasa answered with no messages (action server down or action failed?)")
            return None
        return messages

    # --- intent and confidence from Rasa's tracker ---------------------------------------------------

    async def record_intent(self, session_id: str, message_id: str, attempts: int = 3) -> bool:
        """Store intent, confidence and the top-3 ranking of our message from Rasa's tracker.

        Read from Rasa's tracker database when one is configured (cheap, and no extra work for the Rasa
        process); otherwise, or when that database cannot be read, from Rasa's HTTP API."""
        for attempt in range(attempts):
            async with self._lookups:
                tracker = await self._tracker_from_db(session_id)
                if tracker is None:
                    tracker = await self._tracker_from_rasa(session_id)
            parsed = find_parse_data(tracker, message_id)
            if parsed is not None:
                try:
                    return await self.store.set_intent(message_id, *parsed)
                except SQLAlchemyError as exc:
                    log.error("Could not store intent and confidence: %s", type(exc).__name__)
                    return False
            await asyncio.sleep(0.2 * (attempt + 1))
        log.info("Message not found in Rasa's tracker; intent not recorded")
        return False

    async def _parse_from_db(self, session_id: str, message_id: str,
                             ) -> tuple[str | None, float | None, list[dict[str, Any]]] | None:
        """Intent, confidence and ranking of our message from Rasa's tracker database, if it is there."""
        tracker = await self._tracker_from_db(session_id)
        return find_parse_data(tracker, message_id) if tracker is not None else None

    async def _tracker_from_db(self, session_id: str) -> dict[str, Any] | None:
        if self.tracker_reader is None:
            return None
        events = await self.tracker_reader.user_events(session_id)
        return None if events is None else {"events": events}

    async def _tracker_from_rasa(self, session_id: str) -> Any:
        url = f"{self.config.rasa_url}/conversations/{quote(session_id, safe='')}/tracker"
        timeout = aiohttp.ClientTimeout(total=self.config.tracker_timeout)
        try:
            async with self.http.get(url, params={"token": self.config.rasa_token},
                                     timeout=timeout) as resp:
                if resp.status != 200:
                    log.warning("Rasa's tracker answered HTTP %s", resp.status)
                    return None
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("Could not read Rasa's tracker (%s)", type(exc).__name__)
            return None

    # --- background tasks ----------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until all background tasks (tracker look-ups) are done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 10.0) -> None:
        """Let background work finish (answers being written are data: they get ``grace`` seconds, enough
        for a SQLite lock held by another writer), then cancel what is left."""
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # --- readiness and erasure -------------------------------------------------------------------------

    async def readiness(self) -> dict[str, str]:
        """"ok" or "unavailable" for Rasa (model loaded) and the action server."""
        timeout = aiohttp.ClientTimeout(total=self.config.readiness_timeout)

        async def rasa() -> str:
            try:
                async with self.http.get(f"{self.config.rasa_url}/status",
                                         params={"token": self.config.rasa_token}, timeout=timeout) as resp:
                    body = await resp.json(content_type=None) if resp.status == 200 else None
                    return "ok" if isinstance(body, dict) and body.get("model_file") else "unavailable"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                return "unavailable"

        async def actions() -> str:
            try:
                async with self.http.get(f"{self.config.actions_url}/health", timeout=timeout) as resp:
                    return "ok" if resp.status == 200 else "unavailable"
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return "unavailable"

        rasa_state, actions_state = await asyncio.gather(rasa(), actions())
        return {"rasa": rasa_state, "actions": actions_state}

    async def clear_rasa_tracker(self, session_id: str) -> bool:
        """Replace the conversation's events in Rasa with nothing (``PUT .../tracker/events``)."""
        url = f"{self.config.rasa_url}/conversations/{quote(session_id, safe='')}/tracker/events"
        try:
            async with self.http.put(url, params={"token": self.config.rasa_token}, json=[]) as resp:
                if resp.status == 200:
                    return True
                log.warning("Rasa answered HTTP %s when clearing a tracker", resp.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("Could not clear Rasa's tracker (%s)", type(exc).__name__)
        return False


def find_parse_data(tracker: object, message_id: str) -> tuple[str | None, float | None, list[dict[str, Any]]] | None:
    """(intent, confidence, top-3 ranking) of the user event with our message id, or None."""
    if not isinstance(tracker, Mapping) or not isinstance(tracker.get("events"), list):
        return None
    for event in reversed(tracker["events"]):
        if not isinstance(event, Mapping) or event.get("event") != "user":
            continue
        metadata = event.get("metadata")
        if not isinstance(metadata, Mapping) or metadata.get(METADATA_ID_KEY) != message_id:
            continue
        parse = event.get("parse_data") if isinstance(event.get("parse_data"), Mapping) else {}
        intent = parse.get("intent") if isinstance(parse.get("intent"), Mapping) else {}
        ranking = [
            {"name": item.get("name"), "confidence": _float(item.get("confidence"))}
            for item in (parse.get("intent_ranking") or [])[:3] if isinstance(item, Mapping)
        ]
        return intent.get("name"), _float(intent.get("confidence")), ranking
    return None


def _float(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
