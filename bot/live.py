"""Live handover: the socket.io namespace ``/staff`` of the console, who is online per unit, and the
messages between a conversation taken over by staff and the widget.

The console connects to ``/staff``; the connection is authenticated by the session cookie of the console
(the socket.io server's origin check applies as for the widget). Each socket joins one room per unit of its
user (``unit:<id>``; admins and operators also ``all``). Events to the console:
``case_new`` / ``case_updated`` (queue summaries) and ``live_message`` {case_number, message}.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import socketio

from bot.auth import COOKIE, Accounts, StaffUser
from bot.gateway import Outgoing
from bot.models import Case
from bot.settings import Settings
from bot.store import NewMessage, Store

log = logging.getLogger(__name__)

NAMESPACE = "/staff"
HANDBACK_ACTION = "action_handback"


def same_origin(environ: dict[str, Any]) -> bool:
    """The staff console socket is for the console's own pages only (stricter than the widget's allow-list:
    SameSite=Strict does not keep a page on another localhost port from sending the staff cookie)."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return True  # not a browser page (no cookie-bearing cross-origin request possible)
    host = (environ.get("HTTP_HOST") or "").strip().lower()
    return bool(host) and urlsplit(origin.strip().lower()).netloc == host


def unit_room(unit: str) -> str:
    return f"unit:{unit}"


class Presence:
    """Console sockets per user; a unit's staff online = distinct connected users who are members."""

    def __init__(self) -> None:
        self.sockets: dict[str, StaffUser] = {}

    def add(self, sid: str, user: StaffUser) -> None:
        self.sockets[sid] = user

    def remove(self, sid: str) -> None:
        self.sockets.pop(sid, None)

    def staff_online(self, unit: str) -> int:
        return len({u.id for u in self.sockets.values() if u.member_of(unit)})

    def by_unit(self) -> dict[str, int]:
        users: dict[str, set[int]] = defaultdict(set)
        for user in self.sockets.values():
            for unit in user.units:
                users[unit].add(user.id)
        return {unit: len(ids) for unit, ids in users.items()}


def session_cookie(environ: dict[str, Any]) -> str | None:
    raw = environ.get("HTTP_COOKIE") or ""
    request = environ.get("aiohttp.request")
    if request is not None:
        return request.cookies.get(COOKIE)
    try:
        cookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel else None


def attach_staff_namespace(sio: socketio.AsyncServer, accounts_of: Any, presence: Presence) -> None:
    """``accounts_of()`` returns the app's Accounts (created later, in the database context)."""

    @sio.on("connect", namespace=NAMESPACE)
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if not same_origin(environ):
            log.info("Refused a console socket from another origin")
            return False
        accounts: Accounts = accounts_of()
        user = await accounts.session_user(session_cookie(environ))
        if user is None:
            log.info("Refused a console socket without a valid session")
            return False
        await sio.save_session(sid, {"user_id": user.id}, namespace=NAMESPACE)
        for unit in user.units:
            await sio.enter_room(sid, unit_room(unit), namespace=NAMESPACE)
        if user.sees_all_units():
            await sio.enter_room(sid, "all", namespace=NAMESPACE)
        presence.add(sid, user)
        return True

    @sio.on("disconnect", namespace=NAMESPACE)
    async def disconnect(sid: str, *args: Any) -> None:
        presence.remove(sid)


async def notify_case(sio: socketio.AsyncServer, event: str, case: Case, extra_units: tuple[str, ...] = ()) -> None:
    from bot.cases import case_summary

    payload = case_summary(case)
    rooms = [unit_room(case.unit), *(unit_room(u) for u in extra_units), "all"]
    await sio.emit(event, payload, room=rooms, namespace=NAMESPACE)


async def notify_message(sio: socketio.AsyncServer, case: Case, message: dict[str, Any]) -> None:
    await sio.emit("live_message", {"case_number": case.case_number, "message": message},
                   room=[unit_room(case.unit), "all"], namespace=NAMESPACE)


def staff_outgoing(text: str, staff_name: str) -> tuple[Outgoing, dict[str, Any]]:
    """The staff reply as stored/sent to the widget: bot_uttered with sender "staff" and staff_name."""
    out = Outgoing(text=text)
    socket = {**out.socket(), "sender": "staff", "staff_name": staff_name}
    return out, socket


async def send_staff_reply(sio: socketio.AsyncServer, store: Store, case: Case, text: str,
                           staff_name: str) -> dict[str, Any]:
    out, payload = staff_outgoing(text, staff_name)
    stored = out.stored()
    message = NewMessage(sender="bot", text=stored.text, id=stored.id, created=stored.created)
    await store.add_messages(case.session_id, [message])
    await store.set_staff_name(message.id, staff_name)
    await sio.emit("bot_uttered", payload, room=case.session_id)
    return {"id": out.id, "sender": "staff", "staff_name": staff_name, "text": text,
            "timestamp": payload["timestamp"]}


async def run_handback(config: Settings, http: aiohttp.ClientSession, session_id: str) -> list[Outgoing] | None:
    """Run ``action_handback`` on Rasa; its messages (None if Rasa failed)."""
    url = f"{config.rasa_url}/conversations/{quote(session_id, safe='')}/execute"
    body = {"name": HANDBACK_ACTION, "policy": None, "confidence": 1.0}
    try:
        async with http.post(url, params={"token": config.rasa_token}, json=body) as resp:
            if resp.status != 200:
                log.warning("Rasa answered HTTP %s to the hand-back", resp.status)
                return None
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("Hand-back to Rasa failed (%s)", type(exc).__name__)
        return None
    raw = data.get("messages") if isinstance(data, dict) else None
    return [m for m in (Outgoing.from_rasa(r) for r in raw or []) if m is not None]
