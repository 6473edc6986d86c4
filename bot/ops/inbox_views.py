"""Routes of the NLU inbox (/ops/inbox): the page, a JSON view and the labelling APIs.

The page works without JavaScript (one form, buttons per item and for the selection; POST /ops/inbox answers
with a redirect); bot/static/ops-inbox.js adds keyboard shortcuts and bulk labelling through the JSON API
(POST /ops/api/inbox/label with header X-CSRF-Token). Access and CSRF: bot.console.auth_middleware.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.auth import StaffUser
from bot.console import USER, render, url
from bot.keys import ACCOUNTS, CONFIG, ENGINE
from bot.ops import nlu_data
from bot.ops.inbox import SOURCE_LABELS, Inbox, Item

log = logging.getLogger(__name__)

PAGE_ITEMS = 100
MAX_BATCH = 200
ACTIONS = ("confirm", "pick", "out_of_scope", "ignore")
OUT_OF_SCOPE = "out_of_scope"
WRITE_LOCK = web.AppKey("nlu_inbox_write_lock", asyncio.Lock)


class InboxError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def inbox_of(request: web.Request) -> Inbox:
    config = request.app[CONFIG]
    return Inbox(request.app[ENGINE], config.project_dir, config.inbox_threshold, config.inbox_days)


def domain_of(request: web.Request) -> nlu_data.Domain:
    try:
        return nlu_data.load_domain(request.app[CONFIG].project_dir)
    except nlu_data.NluDataError as exc:
        raise InboxError(500, "domain", f"Die Domain des Projekts ist nicht lesbar: {exc}") from exc


def json_error(exc: InboxError) -> web.Response:
    return web.json_response({"error": {"code": exc.code, "message": exc.message}}, status=exc.status)


def percent(value: Any) -> str:
    return f"{round(float(value) * 100)} %" if isinstance(value, int | float) else "–"


# --- reading ------------------------------------------------------------------------------------------

async def inbox_page(request: web.Request) -> web.Response:
    inbox = inbox_of(request)
    try:
        domain = domain_of(request)
        items = await inbox.items(domain.intents, context=PAGE_ITEMS)
        conflicts = await inbox.conflicts()
        problem = None
    except (InboxError, nlu_data.NluDataError) as exc:
        domain, items, conflicts = nlu_data.Domain((), frozenset()), [], []
        problem = getattr(exc, "message", str(exc))
    config = request.app[CONFIG]
    return render(request, "ops/inbox.html", ops_section="inbox", items=items[:PAGE_ITEMS], total=len(items),
                  conflicts=conflicts, intents=[i for i in domain.intents if i != nlu_data.FALLBACK_INTENT],
                  source_labels=SOURCE_LABELS, percent=percent, threshold=percent(config.inbox_threshold),
                  days=config.inbox_days, info=request.query.get("info"), error=problem or request.query.get("error"))


async def inbox_api(request: web.Request) -> web.Response:
    try:
        domain = domain_of(request)
        inbox = inbox_of(request)
        items = await inbox.items(domain.intents, context=MAX_BATCH)
        conflicts = await inbox.conflicts()
    except InboxError as exc:
        return json_error(exc)
    return web.json_response({"total": len(items), "items": [i.as_json() for i in items[:MAX_BATCH]],
                              "conflicts": [c.as_json() for c in conflicts],
                              "intents": [i for i in domain.intents if i != nlu_data.FALLBACK_INTENT]},
                             headers={"Cache-Control": "no-store"})


# --- labelling ----------------------------------------------------------------------------------------

async def apply(request: web.Request, action: str, ids: list[str], intent: str | None,
                per_item: dict[str, str] | None = None) -> dict[str, Any]:
    """Label the inbox items ``ids``: confirm (the bot's suggestion), pick (``intent``, or per item from
    ``per_item``), out_of_scope, ignore. Returns {"results": [...], "written": n, "conflicts": n, ...}."""
    if action not in ACTIONS:
        raise InboxError(400, "invalid_action", "Unbekannte Aktion.")
    ids = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
    if not ids:
        raise InboxError(400, "no_items", "Bitte wählen Sie mindestens eine Nachricht aus.")
    if len(ids) > MAX_BATCH:
        raise InboxError(400, "too_many", f"Höchstens {MAX_BATCH} Nachrichten auf einmal.")
    domain = domain_of(request)
    if action == "pick" and not per_item:
        intent = (intent or "").strip()
        if not intent:
            raise InboxError(400, "intent_required", "Bitte wählen Sie ein Intent aus der Liste.")
        try:
            nlu_data.check_intent(intent, domain)
        except nlu_data.NluDataError as exc:
            raise InboxError(400, "invalid_intent", str(exc)) from exc
    user: StaffUser = request[USER]
    inbox = inbox_of(request)
    results: list[dict[str, Any]] = []
    async with request.app[WRITE_LOCK]:
        current = {item.id: item for item in await inbox.items(domain.intents)}
        missing = [i for i in ids if i not in current]
        if missing and action != "ignore":
            current.update(await inbox.labelled_items(missing))
        for item_id in ids:
            item: Item | None = current.get(item_id)
            if item is None:
                results.append({"id": item_id, "status": "gone",
                                "message": "Diese Nachricht ist nicht mehr im Posteingang."})
                continue
            target = {"confirm": item.suggestion, "pick": (per_item or {}).get(item_id, intent),
                      "out_of_scope": OUT_OF_SCOPE, "ignore": None}[action]
            if action == "confirm" and not target:
                results.append({"id": item_id, "status": "error",
                                "message": "Der Bot hat kein Intent vorgeschlagen. Bitte wählen Sie eines."})
                continue
            try:
                results.append(await inbox.label(item, target, user.email, user.id, domain))
            except nlu_data.NluDataError as exc:
                results.append({"id": item_id, "status": "error", "message": str(exc)})
            except OSError as exc:
                log.error("Could not write the training data: %s", exc)
                results.append({"id": item_id, "status": "error",
                                "message": "Die Trainingsdaten konnten nicht geschrieben werden; die alte Datei "
                                           "ist unverändert."})
    counts = {status: sum(1 for r in results if r["status"] == status)
              for status in ("written", "ignored", "conflict", "error", "gone")}
    await request.app[ACCOUNTS].audit(user, "nlu_label", None, f"{action}{' ' + intent if intent else ''}: " +
                                      ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return {"results": results, **counts}


def summary(outcome: dict[str, Any]) -> str:
    parts = []
    if outcome["written"]:
        parts.append(f"{outcome['written']} als Trainingsbeispiel gespeichert")
    if outcome["ignored"]:
        parts.append(f"{outcome['ignored']} ausgeblendet")
    if outcome["conflict"]:
        parts.append(f"{outcome['conflict']} Konflikt(e) – bitte unter „Konflikte“ entscheiden")
    if outcome["gone"]:
        parts.append(f"{outcome['gone']} nicht mehr im Posteingang")
    text = "; ".join(parts) or "Nichts geändert"
    errors = [r["message"] for r in outcome["results"] if r["status"] == "error"]
    return text + "." + (" Nicht gespeichert: " + " ".join(dict.fromkeys(errors)) if errors else "")


async def label_api(request: web.Request) -> web.Response:
    """POST /ops/api/inbox/label {"action", "items": [ids], "intent"?} (JSON, header X-CSRF-Token)."""
    try:
        try:
            body = await request.json()
        except ValueError:
            raise InboxError(400, "bad_json", "Die Anfrage ist kein gültiges JSON.") from None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise InboxError(400, "bad_request", "Erwartet: {\"action\", \"items\": [...], \"intent\"?}.")
        intent = body.get("intent") if isinstance(body.get("intent"), str) else None
        outcome = await apply(request, str(body.get("action", "")), body["items"], intent)
    except InboxError as exc:
        return json_error(exc)
    return web.json_response({**outcome, "message": summary(outcome)})


async def label_form(request: web.Request) -> web.Response:
    """POST /ops/inbox (the page's form without JavaScript): button ``do`` = action[:id[:intent]]."""
    data = await request.post()
    command = str(data.get("do", ""))
    action, _, rest = command.partition(":")
    item_id, _, item_intent = rest.partition(":")
    ids = [item_id] if item_id else [str(v) for v in data.getall("item", [])]
    intent = item_intent or str(data.get("intent", "")) or None
    try:
        outcome = await apply(request, action, ids, intent)
        query = {"info": summary(outcome)}
    except InboxError as exc:
        query = {"error": exc.message}
    raise web.HTTPSeeOther(url(request, "ops_inbox", query))


async def resolve(request: web.Request) -> web.Response:
    """POST /ops/api/inbox/conflicts/{label_id}/resolve, choice keep|new (JSON or the page's form)."""
    is_json = request.content_type == "application/json"
    if is_json:
        body = await request.json() if request.can_read_body else {}
        choice = str(body.get("choice", "")) if isinstance(body, dict) else ""
    else:
        choice = str((await request.post()).get("choice", ""))
    user: StaffUser = request[USER]
    try:
        label_id = int(request.match_info["label_id"])
        async with request.app[WRITE_LOCK]:
            message = await inbox_of(request).resolve(label_id, choice, user.email, user.id, domain_of(request))
        await request.app[ACCOUNTS].audit(user, "nlu_conflict", None, f"{label_id}: {choice}")
        status, body_out, query = 200, {"ok": True, "message": message}, {"info": message}
    except (nlu_data.NluDataError, ValueError) as exc:
        status, body_out, query = 409, {"error": {"code": "conflict", "message": str(exc)}}, {"error": str(exc)}
    except InboxError as exc:
        status, body_out, query = exc.status, {"error": {"code": exc.code, "message": exc.message}}, \
            {"error": exc.message}
    if is_json:
        return web.json_response(body_out, status=status)
    raise web.HTTPSeeOther(url(request, "ops_inbox", query))


def setup(app: web.Application) -> None:
    app[WRITE_LOCK] = asyncio.Lock()
    router = app.router
    router.add_get("/ops/inbox", inbox_page, name="ops_inbox")
    router.add_post("/ops/inbox", label_form, name="ops_inbox_post")
    router.add_get("/ops/api/inbox", inbox_api, name="ops_inbox_api")
    router.add_post("/ops/api/inbox/label", label_api, name="ops_inbox_label")
    router.add_post(r"/ops/api/inbox/conflicts/{label_id:\d+}/resolve", resolve, name="ops_inbox_resolve")
