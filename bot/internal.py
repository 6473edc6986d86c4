"""The internal API for the action server (docs/escalation-contract.md): loopback peers only, and
``Authorization: Bearer $KRISENLOTSE_INTERNAL_TOKEN`` whenever the token is configured."""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from bot import live
from bot.cases import NewCase
from bot.gateway import clean_text, valid_session_id
from bot.keys import CASES, CONFIG, PRESENCE, SIO, UNITS
from bot.middleware import ApiError
from bot.views import read_json

log = logging.getLogger(__name__)

CASE_NUMBER = re.compile(r"^KL-[A-Z0-9]{4}-[A-Z0-9]{4}$")
PRIORITIES = ("high", "normal")
TRIGGERS = ("human_handoff", "misunderstanding", "feedback", "urgent")
CHANNELS = ("email", "phone", "any")
TEXT_LIMIT = 10_000


def is_loopback(request: web.Request) -> bool:
    if request.app[CONFIG].trust_proxy and request.headers.get("X-Forwarded-For"):
        return False  # came through the reverse proxy, i.e. from outside
    try:
        return ipaddress.ip_address((request.remote or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def guard(request: web.Request) -> None:
    if not is_loopback(request):
        log.warning("Refused an internal API request from a non-loopback peer")
        raise ApiError(403, "forbidden", "Nur über die lokale Schnittstelle erreichbar.")
    token = request.app[CONFIG].internal_token
    if token:
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "unauthorized", "Fehlendes oder falsches Token.",
                           {"WWW-Authenticate": "Bearer"})


def _text(data: dict[str, Any], name: str, limit: int = 200, required: bool = False,
          truncate: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "invalid_request", f"Das Feld '{name}' fehlt.")
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", f"Das Feld '{name}' muss ein Text sein.")
    value = clean_text(value).strip()
    if len(value) > limit:
        if truncate:  # contact details: better a shortened case than a lost one
            return value[:limit]
        raise ApiError(400, "invalid_request", f"Das Feld '{name}' ist zu lang.")
    return value or None


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 64 for v in value) or len(value) > 20:
        raise ApiError(400, "invalid_request", f"Das Feld '{name}' muss eine Liste von Texten sein.")
    return value


def _moment(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", f"Das Feld '{name}' muss ein Zeitpunkt (ISO 8601) sein.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid_request", f"Das Feld '{name}' ist kein gültiger Zeitpunkt.") from None
    # Stored in UTC: SQLite drops the offset, so a Berlin time would come back as UTC.
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_case(data: dict[str, Any], units: frozenset[str]) -> NewCase:
    number = data.get("case_number")
    if not isinstance(number, str) or not CASE_NUMBER.fullmatch(number):
        raise ApiError(400, "invalid_case_number", "Das Feld 'case_number' fehlt oder ist ungültig.")
    session_id = data.get("session_id")
    if not valid_session_id(session_id):
        raise ApiError(400, "invalid_session_id", "Das Feld 'session_id' fehlt oder ist ungültig.")
    unit = data.get("unit")
    if not isinstance(unit, str) or unit not in units:
        raise ApiError(400, "unknown_unit", "Das Feld 'unit' nennt keine bekannte Stelle.")
    secondary = [u for u in _strings(data, "secondary_units") if u in units and u != unit]
    priority = data.get("priority", "normal")
    if not isinstance(priority, str) or priority not in PRIORITIES:
        raise ApiError(400, "invalid_request", "Das Feld 'priority' muss 'high' oder 'normal' sein.")
    trigger = data.get("trigger")
    if not isinstance(trigger, str) or trigger not in TRIGGERS:
        raise ApiError(400, "invalid_request", "Das Feld 'trigger' ist ungültig.")
    contact_in = data.get("contact")
    if not isinstance(contact_in, dict):
        raise ApiError(400, "invalid_request", "Das Feld 'contact' fehlt.")
    if contact_in.get("consent") is not True:
        raise ApiError(400, "no_consent", "Ohne Einwilligung wird kein Fall angelegt.")
    channel = contact_in.get("preferred_channel") or "any"
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise ApiError(400, "invalid_request", "Das Feld 'preferred_channel' ist ungültig.")
    # A case without e-mail or phone is still taken (the transcript and a live chat remain): a 400 would
    # make the action server give the case up.
    contact = {
        "name": _text(contact_in, "name", truncate=True), "company": _text(contact_in, "company", truncate=True),
        "email": _text(contact_in, "email", 254, truncate=True), "phone": _text(contact_in, "phone", 64, truncate=True),
        "preferred_channel": channel, "consent": True,
    }
    expected = _moment(data.get("expected_response_by"), "expected_response_by")
    created = _moment(data.get("created_at"), "created_at") or datetime.now(timezone.utc)
    return NewCase(
        case_number=number, session_id=session_id, unit=unit, secondary_units=secondary,
        topic=_text(data, "topic"), priority=priority, trigger=trigger,
        urgent_signals=_strings(data, "urgent_signals"), contact=contact,
        description=_text(data, "description", TEXT_LIMIT),
        expected_response_by=expected.isoformat() if expected else None, created_at=created,
    )


async def create_case(request: web.Request) -> web.Response:
    guard(request)
    new = parse_case(await read_json(request), request.app[UNITS])
    case, created = await request.app[CASES].create(new)
    if created:
        log.info("Case %s received for unit %s", case.case_number, case.unit)
        await live.notify_case(request.app[SIO], "case_new", case)
    return web.json_response({"case_number": case.case_number, "status": case.status},
                             status=201 if created else 200)


async def availability(request: web.Request) -> web.Response:
    guard(request)
    unit = request.match_info["unit"]
    if unit not in request.app[UNITS]:
        raise ApiError(404, "unknown_unit", "Diese Stelle ist nicht bekannt.")
    return web.json_response({"unit": unit, "staff_online": request.app[PRESENCE].staff_online(unit)})


async def request_live(request: web.Request) -> web.Response:
    guard(request)
    case = await request.app[CASES].request_live(request.match_info["case_number"])
    if case is None:
        raise ApiError(404, "unknown_case", "Dieser Fall ist nicht bekannt.")
    await live.notify_case(request.app[SIO], "case_updated", case)
    return web.json_response({"case_number": case.case_number, "status": case.status})
