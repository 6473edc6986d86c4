"""The aiohttp application: ``init_app(config)`` wires routes, middlewares, templates, socket.io and the
resources that live as long as the app (database engine, the HTTP client session to Rasa, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import jinja2
from aiohttp import web

from bot import channels, console, internal, live, redis_support, views
from bot.auth import Accounts, PasswordError, bootstrap_admin
from bot.cases import CaseStore
from bot.contacts import contact_card, unit_names
from bot.db import make_engine, migrate
from bot.gateway import Gateway
from bot.keys import (
    ACCOUNTS,
    CASES,
    CONFIG,
    ENGINE,
    GATEWAY,
    LIMITER,
    PRESENCE,
    RASA_SESSION,
    SIO,
    STORE,
    TEMPLATES,
    UNIT_NAMES,
    UNITS,
)
from bot.middleware import cors_middleware, error_middleware, security_headers
from bot.ops import setup_ops_routes
from bot.ratelimit import RateLimiter
from bot.retention import purge_loop
from bot.settings import Settings
from bot.store import NewMessage, Store, iso
from bot.tracker_db import TrackerReader

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """A resource the app needs at start-up is not usable (the message says which)."""


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", views.index, name="index")
    router.add_get("/datenschutz", views.privacy, name="privacy")
    router.add_get("/widget.js", views.widget_js, name="widget_js")
    router.add_get("/widget.css", views.widget_css, name="widget_css")
    static_dir = app[CONFIG].static_dir
    if static_dir.is_dir():
        router.add_static("/static/", static_dir, name="static", append_version=False)
    else:
        log.warning("No static folder at %s: /static/ is not served", static_dir)
    router.add_post("/webhooks/rest/webhook", views.rest_webhook, name="rest_webhook")
    router.add_post("/api/v1/consent", views.consent, name="consent")
    router.add_get("/api/v1/conversations/{session_id}/messages", views.history, name="history")
    router.add_delete("/api/v1/conversations/{session_id}", views.delete_conversation, name="conversation")
    router.add_post("/api/v1/feedback", views.feedback, name="feedback")
    router.add_get("/healthz", views.healthz, name="healthz")
    router.add_get("/readyz", views.readyz, name="readyz")
    router.add_get("/openapi.json", views.openapi, name="openapi")
    router.add_post("/internal/v1/cases", internal.create_case, name="internal_create_case")
    router.add_get("/internal/v1/units/{unit}/availability", internal.availability, name="internal_availability")
    router.add_post("/internal/v1/cases/{case_number}/live", internal.request_live, name="internal_request_live")
    console.setup_console_routes(app)
    setup_ops_routes(app)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """The SQLAlchemy engine; the schema is migrated to the newest revision before the app serves."""
    config = app[CONFIG]
    engine = make_engine(config.database_url)
    try:
        await migrate(engine)
    except Exception as exc:
        await engine.dispose()
        raise StartupError(f"the database ({config.database_url.split('@')[-1]}) cannot be used: "
                           f"{type(exc).__name__}: {exc}") from exc
    app[ENGINE] = engine
    app[STORE] = Store(engine)
    app[CASES] = CaseStore(engine)
    app[ACCOUNTS] = Accounts(engine, timedelta(minutes=config.staff_idle_minutes))
    try:
        await bootstrap_admin(app[ACCOUNTS], config.admin_email, config.admin_password)
    except (PasswordError, ValueError) as exc:
        await engine.dispose()
        raise StartupError(f"the first admin account cannot be created: {exc}") from exc
    yield
    await engine.dispose()


async def rasa_ctx(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client session to Rasa (with the per-message time-out) and the gateway using it."""
    config = app[CONFIG]
    card = contact_card(config.contacts_file)
    timeout = aiohttp.ClientTimeout(total=config.rasa_timeout, connect=min(3.0, config.rasa_timeout))
    session = aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=200))
    app[RASA_SESSION] = session
    app[GATEWAY] = Gateway(config, session, app[STORE], app[LIMITER], card)
    app[GATEWAY].live_hook = live_hook(app)
    app[GATEWAY].tracker_reader = TrackerReader(config.rasa_tracker_db)
    yield
    await app[GATEWAY].close()
    await app[GATEWAY].tracker_reader.close()
    await session.close()


def live_hook(app: web.Application):  # noqa: ANN201 - returns the gateway's hook
    """While staff have taken a conversation over, its user messages go to the console, not to Rasa."""

    async def hook(session_id: str, message: NewMessage) -> bool:
        case = await app[CASES].live_case(session_id)
        if case is None:
            return False
        await live.notify_message(app[SIO], case, {"id": message.id, "sender": "user", "text": message.text,
                                                   "timestamp": iso(message.created)})
        return True

    return hook


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hourly retention purge (off in tests: purge_interval None)."""
    interval = app[CONFIG].purge_interval
    task = asyncio.get_running_loop().create_task(purge_loop(app[STORE], app[CONFIG], interval, app[CASES])) \
        if interval else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_sockets(app: web.Application) -> None:
    await channels.shutdown(app[SIO])


async def init_app(config: Settings) -> web.Application:
    """The web application for ``config`` (resources are opened when it starts)."""
    app = web.Application(
        client_max_size=config.client_max_size,
        middlewares=[error_middleware, cors_middleware(config.allowed_origins), console.auth_middleware],
    )
    app[CONFIG] = config
    if not config.internal_token:
        log.warning("KRISENLOTSE_INTERNAL_TOKEN is not set: the internal API (/internal/v1) accepts loopback "
                    "requests without a token")
    names = unit_names(config.contacts_file)
    app[UNIT_NAMES] = names
    app[UNITS] = frozenset(names)
    redis_link = redis_support.link_for(config)  # production profile: instances share through Redis
    app[PRESENCE] = redis_support.SharedPresence(redis_link) if redis_link else live.Presence()
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.templates_dir)),
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
    )
    app[LIMITER] = (
        redis_support.SharedRateLimiter(redis_link, config.session_rate_per_minute, config.address_rate_per_minute)
        if redis_link else RateLimiter(config.session_rate_per_minute, config.address_rate_per_minute))
    setup_routes(app)
    sio = channels.create_server(
        config, redis_support.socketio_manager(config.redis_url, config.redis_prefix, redis_link)
        if redis_link and config.redis_url else None)
    app[SIO] = sio
    channels.attach(sio, app)
    live.attach_staff_namespace(sio, lambda: app[ACCOUNTS], app[PRESENCE])
    app.cleanup_ctx.extend([database_ctx, rasa_ctx, retention_ctx])
    if redis_link:
        app[redis_support.REDIS_LINK] = redis_link
        app.cleanup_ctx.append(redis_support.redis_ctx)
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(close_sockets)
    return app
