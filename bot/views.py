"""HTTP handlers: pages, widget files, the Rasa-compatible REST channel and the JSON API."""

from __future__ import annotations

import json
import logging
from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot import tracker_db
from bot.gateway import GatewayError, PageInfo, clean_text, valid_session_id
from bot.keys import CASES, CONFIG, GATEWAY, STORE, TEMPLATES
from bot.middleware import ApiError
from bot.openapi import spec

log = logging.getLogger(__name__)

NO_CONTENT = 204


# --- request helpers ----------------------------------------------------------------------------------

def client_address(request: web.Request) -> str:
    """The client's IP address; behind a trusted reverse proxy the last X-Forwarded-For hop."""
    if request.app[CONFIG].trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.remote or "-"


def public_origin(request: web.Request) -> str:
    """scheme://host under which the browser reached us (X-Forwarded-Proto honoured behind a trusted proxy)."""
    scheme = request.scheme
    if request.app[CONFIG].trust_proxy:
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if forwarded in {"http", "https"}:
            scheme = forwarded
    return f"{scheme}://{request.host}"


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or ApiError 400 (413 comes from aiohttp's client_max_size)."""
    body = await request.read()
    if not body.strip():
        raise ApiError(400, "empty_body", "Die Anfrage ist leer: erwartet wird ein JSON-Objekt.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "Die Anfrage ist nicht gültig UTF-8-kodiert.") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "Die Anfrage ist kein gültiges JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "Erwartet wird ein JSON-Objekt.")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates such as "\ud800"
        raise ApiError(400, "invalid_encoding", "Die Anfrage enthält ungültige Unicode-Zeichen.") from None
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "Die Anfrage ist kein gültiges JSON.") from None
    return data


def session_field(data: dict[str, Any], name: str = "session_id") -> str:
    value = data.get(name)
    if not valid_session_id(value):
        raise ApiError(400, "invalid_session_id",
                       f"Das Feld '{name}' fehlt oder ist keine gültige Sitzungskennung "
                       "(16 bis 128 Zeichen: Buchstaben, Ziffern, - und _).")
    return value


def optional_text(data: dict[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", f"Das Feld '{name}' muss ein Text sein.")
    value = clean_text(value).strip()
    if len(value) > limit:
        raise ApiError(422, f"{name}_too_long", f"Das Feld '{name}' ist zu lang (höchstens {limit} Zeichen).")
    return value or None


def path_session(request: web.Request) -> str:
    session_id = request.match_info["session_id"]
    if not valid_session_id(session_id):
        raise ApiError(404, "unknown_session", "Dieses Gespräch ist nicht bekannt.")
    return session_id


def rate_limit_address(request: web.Request) -> None:
    try:
        request.app[GATEWAY].check_rate(None, client_address(request))
    except GatewayError as exc:
        raise ApiError(exc.status, exc.code, exc.message, {"Retry-After": str(exc.retry_after)}) from None


def gateway_error(exc: GatewayError) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return ApiError(exc.status, exc.code, exc.message, headers)


# --- pages and files ----------------------------------------------------------------------------------

def _render(request: web.Request, template: str) -> web.Response:
    router = request.app.router
    try:
        page = request.app[TEMPLATES].get_template(template)
    except jinja2.TemplateNotFound:
        raise web.HTTPNotFound() from None
    base = public_origin(request)
    html = page.render(
        widget_src=base + str(router["widget_js"].url_for()),
        widget_css=base + str(router["widget_css"].url_for()),
        privacy_url=str(router["privacy"].url_for()),
        demo_url=str(router["index"].url_for()),
        retention_days=request.app[CONFIG].retention_days,
        case_retention_days=request.app[CONFIG].case_retention_days,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    """The demo page with the widget."""
    return _render(request, "index.html")


async def privacy(request: web.Request) -> web.Response:
    """The privacy notice (Datenschutzhinweise)."""
    return _render(request, "privacy.html")


def _file(name: str, content_type: str):  # noqa: ANN202 - returns a handler
    async def handler(request: web.Request) -> web.FileResponse:
        path = request.app[CONFIG].static_dir / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={
            "Content-Type": content_type,
            "Cache-Control": "public, max-age=300",
            "Access-Control-Allow-Origin": "*",
        })

    handler.__name__ = f"file_{name.replace('.', '_')}"
    return handler


widget_js = _file("widget.js", "text/javascript; charset=utf-8")
widget_css = _file("widget.css", "text/css; charset=utf-8")


# --- REST channel -------------------------------------------------------------------------------------

async def rest_webhook(request: web.Request) -> web.Response:
    """Rasa REST channel format: ``{"sender", "message", "metadata"}`` in, list of bot messages out."""
    data = await read_json(request)
    sender = session_field(data, "sender")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ApiError(400, "invalid_request", "Das Feld 'metadata' muss ein JSON-Objekt sein.")
    try:
        reply = await request.app[GATEWAY].handle(sender, data.get("message"), metadata, client_address(request))
    except GatewayError as exc:
        raise gateway_error(exc) from None
    return web.json_response([m.rest(sender) for m in reply.messages])


# --- JSON API -----------------------------------------------------------------------------------------

async def consent(request: web.Request) -> web.Response:
    """Record consent to storing the conversation (before it, nothing of the session is stored)."""
    data = await read_json(request)
    session_id = session_field(data)
    page = PageInfo.from_metadata(data)
    rate_limit_address(request)
    await request.app[STORE].give_consent(session_id, page.page_url, page.page_language)
    return web.Response(status=NO_CONTENT)


async def history(request: web.Request) -> web.Response:
    """The stored messages of a consented conversation."""
    session_id = path_session(request)
    await request.app[GATEWAY].settled(session_id)
    messages = await request.app[STORE].history(session_id)
    if messages is None:
        raise ApiError(404, "unknown_session", "Dieses Gespräch ist nicht bekannt.")
    return web.json_response({"messages": messages}, headers={"Cache-Control": "no-store"})


async def feedback(request: web.Request) -> web.Response:
    """Thumbs up/down (and an optional comment) on a bot message."""
    data = await read_json(request)
    session_id = session_field(data)
    message_id = data.get("message_id")
    if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
        raise ApiError(400, "invalid_request", "Das Feld 'message_id' fehlt oder ist ungültig.")
    rating = data.get("rating")
    if rating not in ("up", "down"):
        raise ApiError(400, "invalid_request", "Das Feld 'rating' muss \"up\" oder \"down\" sein.")
    comment = optional_text(data, "comment", request.app[CONFIG].max_message_chars)
    rate_limit_address(request)
    await request.app[GATEWAY].settled(session_id)
    if not await request.app[STORE].save_feedback(session_id, message_id, rating, comment):
        raise ApiError(404, "unknown_message", "Diese Nachricht ist nicht bekannt.")
    return web.Response(status=NO_CONTENT)


async def delete_conversation(request: web.Request) -> web.Response:
    """Erase the conversation: our transcript and Rasa's tracker."""
    session_id = path_session(request)
    rate_limit_address(request)
    config = request.app[CONFIG]
    await request.app[GATEWAY].settled(session_id)
    known_here = await request.app[STORE].delete_conversation(session_id)
    cases = await request.app[CASES].delete_for_session(session_id)
    known_here = known_here or bool(cases)
    rasa_cleared = await request.app[GATEWAY].clear_rasa_tracker(session_id)
    rows = await tracker_db.delete_conversation(config.rasa_tracker_db, session_id)
    if not known_here and not rows:
        raise ApiError(404, "unknown_session", "Dieses Gespräch ist nicht bekannt.")
    if not rasa_cleared and rows is None:
        log.error("Conversation deleted here, but Rasa's tracker could not be cleared")
        raise ApiError(503, "erasure_incomplete",
                       "Das Gespräch wurde bei uns gelöscht, im Sprachassistenten aber noch nicht. "
                       "Bitte versuchen Sie es in einigen Minuten noch einmal.",
                       {"Retry-After": "60"})
    log.info("Conversation deleted on request (transcript: %s, tracker rows: %s)", known_here, rows)
    return web.Response(status=NO_CONTENT)


# --- operations ---------------------------------------------------------------------------------------

async def healthz(request: web.Request) -> web.Response:
    """The process is alive."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Rasa, the action server and the database answer."""
    checks = await request.app[GATEWAY].readiness()
    try:
        await request.app[STORE].ping()
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError):
        checks["database"] = "unavailable"
    ready = all(state == "ok" for state in checks.values())
    return web.json_response({"status": "ready" if ready else "unavailable", "checks": checks},
                             status=200 if ready else 503, headers={"Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of the HTTP endpoints."""
    return web.json_response(spec())
