"""``/ops/models``: train, evaluate, compare, activate and roll back Rasa models (operators and admins).

Pages and forms follow the staff console (bot/console.py: login and CSRF in ``auth_middleware``, ``render``);
the running job is polled as JSON at ``/ops/api/models/job`` by bot/static/ops-models.js. Form posts redirect
back to the page; the same URLs answer JSON when the request asks for it (``Accept: application/json``).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.auth import StaffUser
from bot.console import USER, render, url, wants_json
from bot.keys import ACCOUNTS, CONFIG, ENGINE, GATEWAY, RASA_SESSION
from bot.middleware import ApiError
from bot.models import NluModel
from bot.ops import evaluation, gate
from bot.ops.rasa_admin import RasaAdmin, RasaAdminError
from bot.ops.registry import ModelRegistry
from bot.ops.training import GateBlocked, ModelOps, OpsError
from bot.store import as_utc

log = logging.getLogger(__name__)

STATUS_LABELS = {"ready": "bereit", "active": "aktiv", "failed": "fehlgeschlagen", "cancelled": "abgebrochen",
                 "removed": "gelöscht"}
JOB_LABELS = {"running": "läuft", "succeeded": "fertig", "reused": "unverändert", "failed": "fehlgeschlagen",
              "cancelled": "abgebrochen"}


class OpsHolder:
    """The app's ModelOps, created on first use (the database engine exists only once the app runs)."""

    def __init__(self) -> None:
        self.ops: ModelOps | None = None


MODEL_OPS = web.AppKey("model_ops", OpsHolder)


def model_ops(app: web.Application) -> ModelOps:
    holder = app[MODEL_OPS]
    if holder.ops is None:
        config = app[CONFIG]
        holder.ops = ModelOps(config, ModelRegistry(app[ENGINE]), app[ACCOUNTS],
                              RasaAdmin(app[RASA_SESSION], config.rasa_url, config.rasa_token),
                              hold=app[GATEWAY].hold_messages)
    return holder.ops


def local_time(moment: datetime | None) -> str:
    return as_utc(moment).astimezone().strftime("%d.%m.%Y %H:%M") if moment else "–"


def model_json(m: NluModel) -> dict[str, Any]:
    metrics = m.metrics or {}
    return {"id": m.id, "file": m.file_name, "status": m.status, "trained_by": m.trained_by,
            "created_at": as_utc(m.created_at).isoformat(), "training_seconds": m.training_seconds,
            "accuracy": metrics.get("accuracy"), "macro_f1": metrics.get("macro_f1"),
            "evaluated_at": as_utc(m.evaluated_at).isoformat() if m.evaluated_at else None,
            "activated_at": as_utc(m.activated_at).isoformat() if m.activated_at else None,
            "cross_validation": (m.cross_validation or {}).get("macro_f1"), "note": m.note}


def _model_id(request: web.Request) -> int:
    try:
        return int(request.match_info["model_id"])
    except ValueError as exc:
        raise web.HTTPNotFound() from exc


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = await request.json()
            return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        return {}
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _done(request: web.Request, message: str, model_id: int | None = None, body: dict[str, Any] | None = None,
          status: int = 200) -> web.Response:
    if wants_json(request):
        return web.json_response({"ok": True, "message": message, **(body or {})}, status=status)
    query = {"info": message}
    if model_id is not None:
        query["model"] = str(model_id)
    raise web.HTTPSeeOther(url(request, "ops_models", query))


async def _failed(request: web.Request, exc: OpsError, status: int, model_id: int | None = None) -> web.Response:
    if wants_json(request):
        body: dict[str, Any] = {"error": "gate" if isinstance(exc, GateBlocked) else "ops", "message": str(exc)}
        if isinstance(exc, GateBlocked):
            body["reasons"] = list(exc.result.reasons)
        return web.json_response(body, status=status)
    return await _page(request, status=status, error=str(exc), selected_id=model_id)


# --- page ---------------------------------------------------------------------------------------------

async def _new_examples(request: web.Request, since: datetime | None) -> int | None:
    """How many examples the operators wrote into the training data since ``since`` (NLU inbox)."""
    try:
        from bot.ops.inbox import examples_written_since
    except ImportError:
        return None
    try:
        return len(await examples_written_since(request.app[ENGINE], since))
    except Exception:  # the inbox is another module's business: its failure must not break this page
        log.exception("could not count the examples written since the active model")
        return None


async def _page(request: web.Request, status: int = 200, error: str | None = None,
                selected_id: int | None = None) -> web.Response:
    ops = model_ops(request.app)
    config = request.app[CONFIG]
    running_file = None
    rasa_error = None
    try:
        running_file = (await ops.admin.status(timeout=3.0)).model_file if ops.admin else None
    except RasaAdminError as exc:
        rasa_error = str(exc)
    await ops.registry.sync_with_disk(config.models_dir, running_file)
    models = await ops.registry.all()
    active = next((m for m in models if m.status == "active"), None)
    if selected_id is None:
        with contextlib.suppress(ValueError):
            selected_id = int(request.query.get("model", ""))
    selected = next((m for m in models if m.id == selected_id), None)
    if selected is None:
        candidates = [m for m in models if m.status == "ready" and m.metrics and
                      (active is None or m.created_at > active.created_at)]
        selected = candidates[0] if candidates else active
    compare_with = active if selected is not None and active is not None and selected.id != active.id else None
    verdict: gate.GateResult | None = None
    if selected is not None and selected.status == "ready":
        verdict = gate.check(selected.metrics, active.metrics if active else None,
                             tolerance=config.gate_tolerance, intent_drop=config.gate_intent_drop)
    metrics = (selected.metrics if selected else None) or {}
    user: StaffUser = request[USER]
    job = ops.job
    return render(
        request, "ops/models.html", status=status, ops_section="models", error=error,
        info=request.query.get("info") if not error else None,
        models=models, active=active, selected=selected, compare_with=compare_with, verdict=verdict,
        metrics=metrics, active_metrics=(compare_with.metrics if compare_with else None) or {},
        rows=evaluation.intent_rows(metrics, compare_with.metrics if compare_with else None),
        confusion_svg=evaluation.confusion_svg(metrics.get("confusion")),
        confusion_cells=evaluation.confusion_errors(metrics.get("confusion")),
        running_file=running_file, rasa_error=rasa_error, job=job.to_json() if job else None,
        job_labels=JOB_LABELS, model_status_labels=STATUS_LABELS, local_time=local_time,
        other_busy=ops.other_process_busy(), is_admin=user.is_admin, config=config,
        new_examples=await _new_examples(request, active.created_at if active else None),
        rollback_target=await ops.registry.rollback_target(),
    )


async def models_page(request: web.Request) -> web.Response:
    return await _page(request)


async def models_list(request: web.Request) -> web.Response:
    ops = model_ops(request.app)
    return web.json_response({"models": [model_json(m) for m in await ops.registry.all()],
                              "job": ops.job.to_json() if ops.job else None})


async def job_status(request: web.Request) -> web.Response:
    ops = model_ops(request.app)
    job = ops.job
    return web.json_response({"job": job.to_json() if job else None, "other_busy": ops.other_process_busy()},
                             headers={"Cache-Control": "no-store"})


# --- actions ------------------------------------------------------------------------------------------

async def train(request: web.Request) -> web.Response:
    ops = model_ops(request.app)
    try:
        job = await ops.start_training(request[USER])
    except OpsError as exc:
        return await _failed(request, exc, 409)
    return _done(request, "Das Training ist gestartet.", body={"job": job.to_json()}, status=202)


async def cancel(request: web.Request) -> web.Response:
    if not await model_ops(request.app).cancel(request[USER]):
        return await _failed(request, OpsError("Es läuft kein Auftrag."), 409)
    return _done(request, "Der Auftrag wurde abgebrochen.")


async def evaluate(request: web.Request) -> web.Response:
    model_id = _model_id(request)
    data = await _form(request)
    folds: int | None = None
    raw = (data.get("folds") or "").strip()
    if raw and raw != "0":
        try:
            folds = int(raw)
        except ValueError:
            raise ApiError(400, "bad_request", "Bitte geben Sie die Zahl der Teile als Zahl an.") from None
    try:
        job = await model_ops(request.app).start_evaluation(model_id, request[USER], folds)
    except OpsError as exc:
        return await _failed(request, exc, 409, model_id)
    return _done(request, "Die Bewertung ist gestartet.", model_id, body={"job": job.to_json()}, status=202)


async def activate(request: web.Request) -> web.Response:
    model_id = _model_id(request)
    data = await _form(request)
    reason = (data.get("reason") or "").strip()[:1000] or None
    try:
        result = await model_ops(request.app).activate(model_id, request[USER], override_reason=reason)
    except GateBlocked as exc:
        return await _failed(request, exc, 409, model_id)
    except OpsError as exc:
        return await _failed(request, exc, 409, model_id)
    message = (f"Modell #{result.model.id} ist aktiv; Rasa hat es in {result.seconds:.1f} s geladen"
               + (" (Freigabe erzwungen)." if result.override else "."))
    return _done(request, message, model_id, body={"model": model_json(result.model), "seconds": result.seconds})


async def rollback(request: web.Request) -> web.Response:
    model_id = _model_id(request)
    try:
        result = await model_ops(request.app).activate(model_id, request[USER], rollback=True)
    except OpsError as exc:
        return await _failed(request, exc, 409, model_id)
    message = f"Zurückgerollt: Modell #{result.model.id} ist wieder aktiv ({result.seconds:.1f} s)."
    return _done(request, message, model_id, body={"model": model_json(result.model), "seconds": result.seconds})


async def _stop_job(app: web.Application) -> None:
    holder = app[MODEL_OPS]
    if holder.ops is not None and holder.ops.job is not None and holder.ops.job.running:
        await holder.ops.cancel(None)
        await holder.ops.wait()


def setup_models_routes(app: web.Application) -> None:
    app[MODEL_OPS] = OpsHolder()
    router = app.router
    router.add_get("/ops/models", models_page, name="ops_models")
    router.add_get("/ops/api/models", models_list, name="ops_models_list")
    router.add_get("/ops/api/models/job", job_status, name="ops_models_job")
    router.add_post("/ops/models/train", train, name="ops_models_train")
    router.add_post("/ops/models/cancel", cancel, name="ops_models_cancel")
    router.add_post("/ops/models/{model_id:\\d+}/evaluate", evaluate, name="ops_models_evaluate")
    router.add_post("/ops/models/{model_id:\\d+}/activate", activate, name="ops_models_activate")
    router.add_post("/ops/models/{model_id:\\d+}/rollback", rollback, name="ops_models_rollback")
    app.on_shutdown.append(_stop_job)
