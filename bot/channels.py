"""socket.io channel, protocol-compatible with Rasa's socket.io channel (docs/web-contract.md).

client → ``session_request`` {session_id|null}; server → ``session_confirm`` <session_id> and joins the socket
to the room named by the session id (every tab of a session gets the bot's messages).
client → ``user_uttered`` {message, session_id, metadata|customData}; server → ``bot_typing`` {typing},
``bot_uttered`` per bot message. Refused messages come back as ``bot_uttered`` with ``error``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from bot.gateway import GatewayError, valid_session_id
from bot.keys import CONFIG, GATEWAY
from bot.models import new_id, utcnow
from bot.origins import origin_allowed
from bot.settings import Settings
from bot.store import iso

log = logging.getLogger(__name__)

INTERNAL_ERROR = ("Entschuldigung, bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es später noch einmal "
                  "oder wenden Sie sich direkt an die Wirtschaftsförderung.")


def create_server(config: Settings, client_manager: socketio.AsyncManager | None = None) -> socketio.AsyncServer:
    """The socket.io server; ``client_manager`` is the Redis message queue of several instances
    (bot.redis_support) or None for one process."""
    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        request = environ.get("aiohttp.request")
        ok = origin_allowed(origin, request.host if request is not None else None, config.allowed_origins)
        if not ok:
            log.info("Refused a socket.io connection from a foreign origin")
        return ok

    return socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=allowed,
        cors_credentials=False,
        max_http_buffer_size=config.client_max_size,
        logger=False,
        engineio_logger=False,
        client_manager=client_manager,
    )


def attach(sio: socketio.AsyncServer, app: web.Application) -> None:
    """Register the engine.io endpoint as named routes and the socket.io event handlers."""
    path = "/socket.io/"
    app.router.add_get(path, sio.handle_request, name="socketio")
    app.router.add_post(path, post_guard(sio, app[CONFIG].client_max_size), name="socketio_post")
    app.router.add_route("OPTIONS", path, sio.handle_request, name="socketio_options")

    def address(environ: dict[str, Any]) -> str:
        request: web.Request | None = environ.get("aiohttp.request")
        if request is None:
            return "-"
        if app[CONFIG].trust_proxy:
            hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
            if hops:
                return hops[-1]
        return request.remote or "-"

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.save_session(sid, {"address": address(environ), "session_id": None})

    async def confirm(sid: str, session_id: str) -> None:
        async with sio.session(sid) as session:
            previous = session.get("session_id")
            session["session_id"] = session_id
        if previous and previous != session_id:
            # one conversation per socket: a socket switching session ids never piles up rooms
            await sio.leave_room(sid, previous)
        await sio.enter_room(sid, session_id)
        await sio.emit("session_confirm", session_id, to=sid)

    @sio.event
    async def session_request(sid: str, data: Any = None) -> None:
        requested = data.get("session_id") if isinstance(data, dict) else data
        session_id = requested if valid_session_id(requested) else uuid.uuid4().hex
        await confirm(sid, session_id)

    @sio.event
    async def user_uttered(sid: str, data: Any = None) -> None:
        if not isinstance(data, dict):
            await refuse(sid, GatewayError(400, "invalid_request", "Die Nachricht ist ungültig."))
            return
        session = await sio.get_session(sid)
        session_id = data.get("session_id")
        if not valid_session_id(session_id):
            session_id = session.get("session_id")
        if not session_id:
            session_id = uuid.uuid4().hex
            await confirm(sid, session_id)
        elif session_id != session.get("session_id"):
            await confirm(sid, session_id)
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data.get("customData")
        gateway = app[GATEWAY]
        await gateway.refresh_rate(session_id, session.get("address"))
        try:
            text = gateway.check_text(data.get("message"))
            gateway.check_rate(session_id, session.get("address"))
        except GatewayError as exc:
            await refuse(sid, exc)
            return
        await sio.emit("bot_typing", {"typing": True}, room=session_id)
        done: dict[str, Any] = {"typing": False}
        try:
            reply = await gateway.answer(session_id, text, metadata)
        except Exception:
            log.exception("A message could not be answered")
            await refuse(sid, GatewayError(500, "internal_error", INTERNAL_ERROR))
        else:
            for message in reply.messages:
                await sio.emit("bot_uttered", message.socket(), room=session_id)
            if reply.live:
                done["handled_by"] = "staff"  # the widget stops waiting for the bot
        finally:
            await sio.emit("bot_typing", done, room=session_id)

    async def refuse(sid: str, exc: GatewayError) -> None:
        await sio.emit("bot_uttered", {"text": exc.message, "error": exc.code, "message_id": new_id(),
                                       "timestamp": iso(utcnow())}, to=sid)


def post_guard(sio: socketio.AsyncServer, limit: int) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Polling POSTs over the size limit get 413 at once: python-engineio would refuse them too, but then
    waits for the socket's queue to drain before it answers, so the request hangs until the client gives up."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > limit:
            return web.json_response({"error": {"code": "payload_too_large",
                                                "message": "Die Nachricht ist zu groß."}}, status=413)
        return await sio.handle_request(request)

    return handler


async def shutdown(sio: socketio.AsyncServer) -> None:
    """Close all client connections and stop socket.io's background tasks."""
    try:
        await sio.eio.disconnect()
    except Exception:  # noqa: BLE001 - best effort at shutdown
        log.debug("socket.io clients could not be closed cleanly", exc_info=True)
    await sio.shutdown()
