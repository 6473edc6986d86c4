"""Pages, widget files, security headers, error pages, health and readiness."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.keys import CONFIG
from tests.bot.conftest import app_of


async def test_demo_page_renders_with_widget_and_csp(client) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert "/widget.js" in html
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "http" not in csp.replace(f"ws://{client.host}:{client.port}", "").replace(
        f"wss://{client.host}:{client.port}", "")  # no third-party sources
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"


async def test_privacy_page(client) -> None:
    resp = await client.get("/datenschutz")
    assert resp.status == 200
    assert resp.content_type == "text/html"


async def test_templates_are_autoescaped(client) -> None:
    resp = await client.get("/", headers={"Host": 'x"><script>alert(1)</script>'})
    html = await resp.text()
    assert "<script>alert(1)</script>" not in html
    assert "Content-Security-Policy" in resp.headers
    assert "<script>" not in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("path", "content_type"), [("/widget.js", "text/javascript"),
                                                    ("/widget.css", "text/css")])
async def test_widget_files_are_embeddable_from_any_origin(client, path, content_type) -> None:
    resp = await client.get(path, headers={"Origin": "https://www.mannheim.de"})
    assert resp.status == 200
    assert resp.content_type == content_type
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_vendored_socketio_client_is_served(client) -> None:
    resp = await client.get("/static/vendor/socket.io.min.js")
    assert resp.status == 200
    assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


async def test_missing_widget_gives_404(make_client, tmp_path) -> None:
    client = await make_client(static_dir=tmp_path / "nothing")
    assert (await client.get("/widget.js")).status == 404


async def test_unknown_page_is_a_friendly_german_html_404(client) -> None:
    resp = await client.get("/gibt-es-nicht")
    assert resp.status == 404
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert 'lang="de"' in html and "Startseite" in html
    assert "Traceback" not in html


async def test_unknown_api_path_is_a_json_404(client) -> None:
    resp = await client.get("/api/v1/gibt-es-nicht")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_405(client) -> None:
    resp = await client.get("/webhooks/rest/webhook")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]
    resp = await client.post("/")
    assert resp.status == 405
    assert resp.content_type == "text/html"


async def test_builtin_error_page_escapes_the_path(make_client, tmp_path) -> None:
    client = await make_client(templates_dir=tmp_path)  # no error.html: the built-in page
    resp = await client.get("/<script>alert(1)</script>")
    html = await resp.text()
    assert resp.status == 404
    assert "&lt;script&gt;" in html and "<script>alert" not in html


async def test_internal_errors_never_show_a_traceback(aiohttp_client, config, caplog) -> None:
    from bot.app import init_app

    app = await init_app(config)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals: max@example.org")

    app.router.add_get("/boom", boom, name="boom")
    app.router.add_get("/api/v1/boom", boom, name="api_boom")
    client = await aiohttp_client(app)
    page = await client.get("/boom")
    assert page.status == 500
    assert "secret internals" not in await page.text()
    assert "Traceback" not in await page.text()
    api = await client.get("/api/v1/boom")
    assert api.status == 500
    assert (await api.json())["error"]["code"] == "internal_error"
    assert "secret" not in await api.text()


async def test_healthz(client) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_readyz_is_503_when_rasa_and_actions_are_down(client) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body == {"status": "unavailable",
                    "checks": {"rasa": "unavailable", "actions": "unavailable", "database": "ok"}}
    assert app_of(client)[CONFIG].rasa_token not in await resp.text()


async def test_readyz_waits_only_briefly_for_a_hanging_rasa(aiohttp_server, make_client) -> None:
    import asyncio
    import time

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({})

    slow = web.Application()
    slow.router.add_get("/status", hang)
    slow.router.add_get("/health", hang)
    server = await aiohttp_server(slow)
    url = f"http://127.0.0.1:{server.port}"
    client = await make_client(rasa_url=url, actions_url=url, readiness_timeout=0.3)
    started = time.monotonic()
    assert (await client.get("/readyz")).status == 503
    assert time.monotonic() - started < 2


async def test_every_route_is_named(client) -> None:
    for route in app_of(client).router.routes():
        assert route.name or route.resource.name, route
