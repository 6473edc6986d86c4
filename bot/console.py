"""The staff console: login, queue, case page and its actions, exports, users, password change.

Every handler gets the user from :func:`auth_middleware` (``request[USER]``); every case is read through
``CaseStore.get(user, …)``, scoped to the user's units, so another unit's case is a 404. State-changing
requests carry the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import export, live, tracker_db
from bot.auth import COOKIE, LOGIN_CSRF_COOKIE, PasswordError, StaffUser, check_password_strength, csrf_ok
from bot.cases import PRIORITY_LABELS, STATUS_LABELS, case_summary
from bot.keys import (
    ACCOUNTS,
    CASES,
    CONFIG,
    GATEWAY,
    PRESENCE,
    RASA_SESSION,
    SIO,
    STORE,
    TEMPLATES,
    UNIT_NAMES,
)
from bot.middleware import ApiError
from bot.models import CASE_STATUSES, ROLES, Case, utcnow
from bot.store import as_utc
from bot.views import client_address

log = logging.getLogger(__name__)

USER = web.RequestKey("staff_user", StaffUser)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOGIN_ERROR = "E-Mail-Adresse oder Passwort ist falsch."
THROTTLED = ("Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie 15 Minuten und versuchen Sie es "
             "dann noch einmal.")
ROLE_LABELS = {"admin": "Administration", "operator": "Leitstelle", "staff": "Sachbearbeitung"}
TRIGGER_LABELS = {"human_handoff": "Wunsch nach einer Person", "misunderstanding": "Bot hat nicht verstanden",
                  "feedback": "Negative Bewertung", "urgent": "Dringend"}
NOTE_LIMIT = 4000


# --- helpers --------------------------------------------------------------------------------------

def secure_request(request: web.Request) -> bool:
    if request.secure:
        return True
    return request.app[CONFIG].trust_proxy and \
        request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https"


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, path: str = "/",
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, path=path, httponly=True, samesite="Strict", secure=secure_request(request),
                        max_age=max_age)


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.path.startswith("/staff/api/")


def url(request: web.Request, name: str, query: dict[str, str] | None = None, **parts: str) -> str:
    target = request.app.router[name].url_for(**parts)
    return str(target.with_query(query) if query else target)


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    user: StaffUser | None = request.get(USER)
    page = request.app[TEMPLATES].get_template(template)
    html = page.render(user=user, csrf=user.csrf if user else "", units=request.app[UNIT_NAMES],
                       status_labels=STATUS_LABELS, priority_labels=PRIORITY_LABELS, role_labels=ROLE_LABELS,
                       trigger_labels=TRIGGER_LABELS, url=lambda name, **kw: url(request, name, **kw),
                       **values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


def age_text(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "–"
    seconds = int(((now or utcnow()) - as_utc(moment)).total_seconds())
    if seconds < 3600:
        return f"{max(0, seconds // 60)} Min."
    if seconds < 86400:
        return f"{seconds // 3600} Std."
    return f"{seconds // 86400} Tg."


def duration_text(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "noch keine"
    minutes = int((as_utc(end) - as_utc(start)).total_seconds() // 60)
    return f"{minutes} Min." if minutes < 120 else f"{minutes // 60} Std. {minutes % 60} Min."


def can_work(user: StaffUser, case: Case) -> bool:
    return user.is_admin or user.member_of(case.unit)


def can_see_contact(user: StaffUser, case: Case) -> bool:
    return user.is_admin or user.member_of(case.unit)


def can_reroute(user: StaffUser, case: Case) -> bool:
    return can_work(user, case) or user.is_operator


async def form(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def done(request: web.Request, case_number: str, message: str | None = None,
         body: dict[str, Any] | None = None) -> web.Response:
    if wants_json(request):
        return web.json_response(body or {"ok": True})
    query = {"info": message} if message else None
    raise web.HTTPSeeOther(url(request, "staff_case", query, number=case_number))


# --- middleware -------------------------------------------------------------------------------------

@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Session and CSRF for /staff; unauthenticated page requests go to /login."""
    path = request.path
    ops = path == "/ops" or path.startswith("/ops/")
    if not (ops or path == "/staff" or path.startswith("/staff/") or path == "/logout"):
        return await handler(request)
    user = await request.app[ACCOUNTS].session_user(request.cookies.get(COOKIE))
    if user is None:
        if path.startswith(("/staff/api/", "/ops/api/")) or request.method not in SAFE_METHODS:
            raise ApiError(401, "login_required", "Bitte melden Sie sich an.")
        raise web.HTTPSeeOther(url(request, "login", {"next": request.path_qs}))
    if request.method not in SAFE_METHODS:
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            given = (await request.post()).get("csrf_token")  # type: ignore[assignment]
        if not csrf_ok(user.csrf, given if isinstance(given, str) else None):
            log.warning("CSRF token missing or wrong on %s %s", request.method, path)
            raise ApiError(403, "csrf", "Die Sitzung ist abgelaufen oder das Formular ist ungültig. "
                                        "Bitte laden Sie die Seite neu.")
    if ops and not user.sees_all_units():
        # The operator console (/ops) is for operators and admins only.
        raise ApiError(403, "forbidden", "Dieser Bereich ist dem Betriebsteam vorbehalten.")
    request[USER] = user
    return await handler(request)


# --- login, logout, password --------------------------------------------------------------------------

def _next(value: str | None) -> str:
    if value and value.startswith(("/staff", "/ops")) and not value.startswith("//"):
        return value
    return "/staff"


async def login_page(request: web.Request) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "staff/login.html", login_csrf=token, next=_next(request.query.get("next")),
                      error=None, email="")
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, path="/login")
    return response


async def login(request: web.Request) -> web.Response:
    data = await form(request)
    email, password = data.get("email", "").strip()[:254], data.get("password", "")
    target = _next(data.get("next"))

    def fail(message: str, status: int) -> web.Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "staff/login.html", status, login_csrf=token, next=target, error=message,
                          email=email)
        set_cookie(request, response, LOGIN_CSRF_COOKIE, token, path="/login")
        return response

    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), data.get("csrf_token")):
        return fail("Das Formular ist abgelaufen. Bitte versuchen Sie es noch einmal.", 403)
    accounts = request.app[ACCOUNTS]
    address = client_address(request)
    if await accounts.throttled(email, address):
        return fail(THROTTLED, 429)
    user = await accounts.authenticate(email, password, address)
    if user is None:
        return fail(LOGIN_ERROR, 401)
    token = await accounts.start_session(user.id)
    staff = await accounts.staff_user(user.id)
    await accounts.audit(staff, "login")
    response = web.HTTPSeeOther(target)
    set_cookie(request, response, COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    await request.app[ACCOUNTS].end_session(user.session_hash)
    await request.app[ACCOUNTS].audit(user, "logout")
    response = web.HTTPSeeOther(url(request, "login"))
    response.del_cookie(COOKIE, path="/")
    raise response


async def password_page(request: web.Request) -> web.Response:
    return render(request, "staff/password.html", error=None, info=None)


async def change_password(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    data = await form(request)
    accounts = request.app[ACCOUNTS]
    record = await accounts.user_by_email(user.email)
    from bot.auth import verify_password

    if record is None or not verify_password(record.password_hash, data.get("current", "")):
        return render(request, "staff/password.html", 400, error="Das bisherige Passwort ist falsch.", info=None)
    new, again = data.get("new", ""), data.get("again", "")
    if new != again:
        return render(request, "staff/password.html", 400, error="Die beiden neuen Passwörter stimmen nicht überein.",
                      info=None)
    try:
        check_password_strength(new, user.email)
        await accounts.set_password(user.id, new)
    except PasswordError as exc:
        return render(request, "staff/password.html", 400, error=str(exc), info=None)
    await accounts.end_other_sessions(user.id, user.session_hash)
    await accounts.audit(user, "password_changed")
    return render(request, "staff/password.html", error=None, info="Ihr Passwort wurde geändert.")


# --- queue --------------------------------------------------------------------------------------------

def queue_tabs(request: web.Request, user: StaffUser) -> list[str]:
    names = request.app[UNIT_NAMES]
    return sorted(names) if user.sees_all_units() else sorted(u for u in user.units if u in names)


async def queue_rows(request: web.Request) -> tuple[list[dict[str, Any]], dict[str, str]]:
    user: StaffUser = request[USER]
    tabs = queue_tabs(request, user)
    unit = request.query.get("unit") or ""
    if unit and unit not in tabs:
        unit = ""
    status = request.query.get("status") or ""
    search = (request.query.get("q") or "").strip()[:100]
    cases = await request.app[CASES].visible(user, unit or None, status or None, search or None)
    now = utcnow()
    rows = []
    for case in cases:
        row = case_summary(case)
        row.update(age=age_text(case.received, now),
                   first_response=duration_text(case.received, case.first_response_at),
                   unit_name=request.app[UNIT_NAMES].get(case.unit, case.unit),
                   status_label=STATUS_LABELS[case.status], priority_label=PRIORITY_LABELS.get(case.priority, ""),
                   url=url(request, "staff_case", number=case.case_number))
        if not can_see_contact(user, case):
            row["company"] = None
        rows.append(row)
    return rows, {"unit": unit, "status": status, "q": search}


async def queue(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    rows, filters = await queue_rows(request)
    return render(request, "staff/queue.html", rows=rows, filters=filters, tabs=queue_tabs(request, user),
                  new_count=sum(1 for r in rows if r["status"] == "new"),
                  statuses=CASE_STATUSES)


async def queue_api(request: web.Request) -> web.Response:
    rows, filters = await queue_rows(request)
    return web.json_response({"cases": rows, "filters": filters,
                              "new_count": sum(1 for r in rows if r["status"] == "new")},
                             headers={"Cache-Control": "no-store"})


# --- case page ------------------------------------------------------------------------------------------

async def load_case(request: web.Request) -> Case:
    case = await request.app[CASES].get(request[USER], request.match_info["number"])
    if case is None:
        raise ApiError(404, "unknown_case", "Diesen Fall gibt es nicht oder Sie haben keinen Zugriff darauf.")
    return case


async def case_page(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    case = await load_case(request)
    app = request.app
    transcript = await app[STORE].transcript(case.session_id)
    events = await app[CASES].events(case.case_number)
    audit = await app[ACCOUNTS].audit_entries(case.case_number, 50) if can_work(user, case) else []
    colleagues = await app[ACCOUNTS].colleagues(case.unit)
    assignee = next((name for uid, name in colleagues if uid == case.assignee_id), None)
    await app[ACCOUNTS].audit(user, "view", case.case_number)
    return render(request, "staff/case.html", case=case, transcript=transcript, events=events, audit=audit,
                  colleagues=colleagues, assignee=assignee, show_contact=can_see_contact(user, case),
                  may_work=can_work(user, case), may_reroute=can_reroute(user, case),
                  info=request.query.get("info"), received_age=age_text(case.received),
                  first_response=duration_text(case.received, case.first_response_at),
                  online=app[PRESENCE].by_unit())


async def case_messages_api(request: web.Request) -> web.Response:
    case = await load_case(request)
    transcript = await request.app[STORE].transcript(case.session_id)
    for msg in transcript:
        msg.pop("created", None)
    return web.json_response({"case_number": case.case_number, "live": case.live, "status": case.status,
                              "messages": transcript}, headers={"Cache-Control": "no-store"})


async def _changed(request: web.Request, case: Case | None) -> None:
    if case is not None:
        await live.notify_case(request.app[SIO], "case_updated", case)


async def case_action(request: web.Request) -> web.Response:
    """POST /staff/cases/{number}/{action}: take, assign, reroute, note, status, resolve, live, handback,
    reply, delete."""
    user: StaffUser = request[USER]
    case = await load_case(request)
    action = request.match_info["action"]
    app = request.app
    cases = app[CASES]
    if request.content_type == "application/json":
        raw = await request.json()
        data = {k: v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}
    else:
        data = await form(request)
    number = case.case_number

    def forbid() -> ApiError:
        return ApiError(403, "forbidden", "Diese Aktion ist für Ihre Rolle oder Stelle nicht erlaubt.")

    if action == "delete":
        if not user.is_admin:
            raise forbid()
        await erase_case(request, case, user)
        if wants_json(request):
            return web.json_response({"ok": True})
        raise web.HTTPSeeOther(url(request, "staff_queue", {"info": f"Fall {number} wurde gelöscht."}))
    if action == "note":
        if not can_reroute(user, case):
            raise forbid()
        text = data.get("text", "").strip()
        if not text or len(text) > NOTE_LIMIT:
            raise ApiError(400, "invalid_note", "Bitte geben Sie eine Notiz ein (höchstens 4000 Zeichen).")
        await cases.change(number, user, "note", detail=text)
        await app[ACCOUNTS].audit(user, "note", number)
        return done(request, number, "Notiz gespeichert.")
    if action == "reroute":
        if not can_reroute(user, case):
            raise forbid()
        target, reason = data.get("unit", ""), data.get("reason", "").strip()
        if target not in app[UNIT_NAMES] or target == case.unit:
            raise ApiError(400, "invalid_unit", "Bitte wählen Sie eine andere Stelle.")
        if not reason or len(reason) > NOTE_LIMIT:
            raise ApiError(400, "reason_required", "Bitte geben Sie einen Grund für die Weiterleitung an.")
        old_unit = case.unit
        changed = await cases.change(number, user, "reroute", unit=target, reason=reason)
        await app[ACCOUNTS].audit(user, "reroute", number, f"{old_unit} -> {target}")
        if changed is not None:
            await live.notify_case(app[SIO], "case_updated", changed, (old_unit,))
        if wants_json(request):
            return web.json_response({"ok": True})
        if user.sees_all_units() or user.member_of(target):
            return done(request, number, "Fall weitergeleitet.")
        raise web.HTTPSeeOther(url(request, "staff_queue", {"info": f"Fall {number} wurde weitergeleitet."}))
    if not can_work(user, case):
        raise forbid()
    if action == "take":
        changed = await cases.change(number, user, "take", assignee_id=user.id,
                                     status="in_progress" if case.status == "new" else None)
        await app[ACCOUNTS].audit(user, "take", number)
        await _changed(request, changed)
        return done(request, number, "Sie bearbeiten diesen Fall.")
    if action == "assign":
        try:
            assignee = int(data.get("user_id", ""))
        except ValueError:
            raise ApiError(400, "invalid_user", "Bitte wählen Sie eine Kollegin oder einen Kollegen.") from None
        colleagues = dict(await app[ACCOUNTS].colleagues(case.unit))
        if assignee not in colleagues:
            raise ApiError(400, "invalid_user", "Diese Person gehört nicht zu der Stelle des Falls.")
        changed = await cases.change(number, user, "assign", assignee_id=assignee, detail=colleagues[assignee])
        await app[ACCOUNTS].audit(user, "assign", number, colleagues[assignee])
        await _changed(request, changed)
        return done(request, number, f"Fall an {colleagues[assignee]} übergeben.")
    if action == "status":
        status = data.get("status", "")
        if status not in CASE_STATUSES or status == "resolved":
            raise ApiError(400, "invalid_status", "Unbekannter Status.")
        changed = await cases.change(number, user, "status", status=status)
        await app[ACCOUNTS].audit(user, "status", number, status)
        await _changed(request, changed)
        return done(request, number, "Status geändert.")
    if action == "resolve":
        outcome = data.get("outcome", "").strip()
        if not outcome or len(outcome) > NOTE_LIMIT:
            raise ApiError(400, "outcome_required", "Bitte beschreiben Sie kurz das Ergebnis.")
        was_live = case.live
        changed = await cases.change(number, user, "resolve", status="resolved", outcome=outcome,
                                     detail="resolved", first_response=True)
        await app[ACCOUNTS].audit(user, "resolve", number)
        if was_live:
            await handback_to_bot(request, case)
        await _changed(request, changed)
        return done(request, number, "Fall als erledigt markiert.")
    if action == "live":
        if case.status == "resolved":
            raise ApiError(409, "resolved", "Der Fall ist erledigt.")
        changed = await cases.change(number, user, "live_start", live=True, assignee_id=user.id,
                                     status="in_progress" if case.status == "new" else None, first_response=True)
        await app[ACCOUNTS].audit(user, "live_start", number)
        await _changed(request, changed)
        return done(request, number, "Sie haben das Gespräch übernommen.")
    if action == "handback":
        if not case.live:
            raise ApiError(409, "not_live", "Das Gespräch ist nicht übernommen.")
        changed = await cases.change(number, user, "live_end", live=False)
        await app[ACCOUNTS].audit(user, "live_end", number)
        delivered = await handback_to_bot(request, case)
        await _changed(request, changed)
        return done(request, number, "Gespräch an den Bot zurückgegeben." if delivered else
                    "Gespräch zurückgegeben; der Bot hat (noch) nicht geantwortet.")
    if action == "reply":
        text = data.get("text", "").strip()
        limit = app[CONFIG].max_message_chars
        if not text or len(text) > limit:
            raise ApiError(400, "invalid_reply", f"Bitte schreiben Sie eine Antwort (höchstens {limit} Zeichen).")
        if not case.live:
            raise ApiError(409, "not_live", "Übernehmen Sie das Gespräch, bevor Sie antworten.")
        message = await live.send_staff_reply(app[SIO], app[STORE], case, text, user.name)
        await cases.change(number, user, "reply", first_response=True)
        await app[ACCOUNTS].audit(user, "reply", number)
        await live.notify_message(app[SIO], case, message)
        return done(request, number, None, {"ok": True, "message": message})
    raise web.HTTPNotFound()


async def handback_to_bot(request: web.Request, case: Case) -> bool:
    app = request.app
    messages = await live.run_handback(app[CONFIG], app[RASA_SESSION], case.session_id)
    if not messages:
        return False
    try:
        await app[STORE].add_messages(case.session_id, [m.stored() for m in messages])
    except Exception:  # noqa: BLE001 - the user still gets the messages
        log.exception("Could not store the hand-back messages")
    for message in messages:
        await app[SIO].emit("bot_uttered", message.socket(), room=case.session_id)
        await live.notify_message(app[SIO], case, {"id": message.id, "sender": "bot", "text": message.text,
                                                   "timestamp": message.socket()["timestamp"]})
    return True


async def erase_case(request: web.Request, case: Case, user: StaffUser | None) -> None:
    """Erasure: the case, its history, the transcript and Rasa's tracker rows of the conversation."""
    app = request.app
    await app[CASES].delete(case.case_number)
    await app[STORE].delete_conversation(case.session_id)
    await app[GATEWAY].clear_rasa_tracker(case.session_id)
    rows = await tracker_db.delete_conversation(app[CONFIG].rasa_tracker_db, case.session_id)
    await app[ACCOUNTS].audit(user, "delete", case.case_number, f"tracker rows: {rows}")


# --- export ---------------------------------------------------------------------------------------------

async def export_case(request: web.Request) -> web.StreamResponse:
    user: StaffUser = request[USER]
    case = await load_case(request)
    kind = request.match_info["kind"]
    transcript = await request.app[STORE].transcript(case.session_id)
    events = await request.app[CASES].events(case.case_number)
    document = export.CaseDocument(case, transcript, events, request.app[UNIT_NAMES],
                                   can_see_contact(user, case))
    await request.app[ACCOUNTS].audit(user, "export", case.case_number, kind)
    name = f"{case.case_number}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if kind == "txt":
        return web.Response(text=document.text(), content_type="text/plain", charset="utf-8", headers=headers)
    return web.Response(body=document.pdf(), content_type="application/pdf", headers=headers)


# --- users (admin) ------------------------------------------------------------------------------------

def require_admin(request: web.Request) -> StaffUser:
    user: StaffUser = request[USER]
    if not user.is_admin:
        raise ApiError(403, "forbidden", "Nur für die Administration.")
    return user


async def users_page(request: web.Request, error: str | None = None, info: str | None = None,
                     status: int = 200) -> web.Response:
    require_admin(request)
    users = await request.app[ACCOUNTS].users()
    return render(request, "staff/users.html", status, accounts=users, roles=ROLES, error=error,
                  info=info or request.query.get("info"))


async def users_action(request: web.Request) -> web.Response:
    admin = require_admin(request)
    data = await request.post()
    accounts = request.app[ACCOUNTS]
    action = data.get("action")
    units = [u for u in data.getall("units", []) if isinstance(u, str) and u in request.app[UNIT_NAMES]]
    try:
        if action == "create":
            user_id = await accounts.create_user(str(data.get("email", "")), str(data.get("name", "")),
                                                 str(data.get("role", "")), units, str(data.get("password", "")))
            await accounts.audit(admin, "user_create", detail=f"user {user_id}")
            info = "Benutzerkonto angelegt."
        elif action in {"disable", "enable", "update"}:
            user_id = int(str(data.get("user_id", "")))
            if user_id == admin.id and action == "disable":
                raise ValueError("Sie können Ihr eigenes Konto nicht sperren.")
            if action == "update":
                await accounts.update_user(user_id, str(data.get("role", "")), units)
            else:
                await accounts.set_active(user_id, action == "enable")
            await accounts.audit(admin, f"user_{action}", detail=f"user {user_id}")
            info = "Gespeichert."
        else:
            raise ValueError("Unbekannte Aktion.")
    except (ValueError, PasswordError) as exc:
        return await users_page(request, error=str(exc), status=400)
    raise web.HTTPSeeOther(url(request, "staff_users", {"info": info}))


def setup_console_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/login", login_page, name="login")
    router.add_post("/login", login, name="login_post")
    router.add_post("/logout", logout, name="logout")
    router.add_get("/staff", queue, name="staff_queue")
    router.add_get("/staff/api/cases", queue_api, name="staff_queue_api")
    router.add_get("/staff/api/cases/{number}/messages", case_messages_api, name="staff_case_messages")
    router.add_get("/staff/password", password_page, name="staff_password")
    router.add_post("/staff/password", change_password, name="staff_password_post")
    router.add_get("/staff/users", users_page, name="staff_users")
    router.add_post("/staff/users", users_action, name="staff_users_post")
    router.add_get("/staff/cases/{number}", case_page, name="staff_case")
    router.add_get(r"/staff/cases/{number}/export.{kind:txt|pdf}", export_case, name="staff_case_export")
    router.add_post("/staff/cases/{number}/{action}", case_action, name="staff_case_action")
