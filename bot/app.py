"""The aiohttp application: ``init_app(config)`` wires routes, middlewares, templates, socket.io and the
resources that live as long as the app (database engine, the HTTP client session to Rasa, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import jinja2
from aiohttp import web

from bot import channels, views
from bot.contacts import contact_card
from bot.db import make_engine, migrate
from bot.gateway import Gateway
from bot.keys import CONFIG, ENGINE, GATEWAY, LIMITER, RASA_SESSION, SIO, STORE, TEMPLATES
from bot.middleware import cors_middleware, error_middleware, security_headers
from bot.ratelimit import RateLimiter
from bot.retention import purge_loop
from bot.settings import Settings
from bot.store import Store

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
    yield
    await app[GATEWAY].close()
    await session.close()


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hourly retention purge (off in tests: purge_interval None)."""
    interval = app[CONFIG].purge_interval
    task = asyncio.get_running_loop().create_task(purge_loop(app[STORE], app[CONFIG], interval)) \
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
        middlewares=[error_middleware, cors_middleware(config.allowed_origins)],
    )
    app[CONFIG] = config
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.templates_dir)),
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
    )
    app[LIMITER] = RateLimiter(config.session_rate_per_minute, config.address_rate_per_minute)
    setup_routes(app)
    sio = channels.create_server(config)
    app[SIO] = sio
    channels.attach(sio, app)
    app.cleanup_ctx.extend([database_ctx, rasa_ctx, retention_ctx])
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(close_sockets)
    return app
