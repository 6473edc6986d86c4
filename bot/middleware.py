"""Middlewares and response signals: errors, CORS/origin checks, security headers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

import jinja2
from aiohttp import web

from bot.keys import TEMPLATES
from bot.origins import origin_allowed

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIXES = ("/api/", "/webhooks/", "/socket.io/", "/internal/", "/staff/api/", "/ops/api/")
API_PATHS = frozenset({"/openapi.json", "/healthz", "/readyz"})
CORS_PREFIXES = ("/api/", "/webhooks/")
# Files a page on another origin loads to embed the widget.
EMBEDDABLE_PATHS = ("/widget.js", "/widget.css", "/static/")
HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")

MESSAGES = {
    400: ("bad_request", "Die Anfrage ist ungültig."),
    403: ("forbidden", "Zugriff verweigert."),
    404: ("not_found", "Diese Adresse gibt es nicht."),
    405: ("method_not_allowed", "Diese Methode ist hier nicht erlaubt."),
    413: ("payload_too_large", "Die Anfrage ist zu groß."),
    415: ("unsupported_media_type", "Dieses Format wird nicht unterstützt."),
    429: ("rate_limited", "Zu viele Anfragen. Bitte warten Sie einen Moment."),
    500: ("internal_error", "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später noch einmal."),
    503: ("unavailable", "Der Dienst ist gerade nicht verfügbar. Bitte versuchen Sie es später noch einmal."),
}


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` (API) or as a friendly page (HTML)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in API_PATHS


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


ERROR_PAGE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} – Krisenlotse</title>
</head>
<body>
<main>
<h1>{{ title }}</h1>
<p>{{ message }}</p>
{% if path %}<p>Angefragte Adresse: <code>{{ path }}</code></p>{% endif %}
<p><a href="/">Zur Startseite des Krisenlotsen</a></p>
</main>
</body>
</html>
""")

PAGE_TITLES = {
    404: ("Seite nicht gefunden", "Diese Seite gibt es leider nicht. Vielleicht hat sich die Adresse geändert."),
    405: ("Nicht erlaubt", "Diese Aktion ist auf dieser Seite nicht möglich."),
    413: ("Anfrage zu groß", "Die gesendeten Daten sind zu groß."),
    500: ("Ein Fehler ist aufgetreten",
          "Entschuldigung, hier ist etwas schiefgegangen. Bitte versuchen Sie es später noch einmal."),
}


def html_error(status: int, message: str | None = None, path: str | None = None,
               templates: jinja2.Environment | None = None) -> web.Response:
    """A friendly German page: bot/templates/error.html (status, message, path), else a built-in page."""
    title, default = PAGE_TITLES.get(status, ("Fehler", "Die Anfrage konnte nicht bearbeitet werden."))
    values = {"status": status, "title": title, "message": message or default,
              "path": path if status == 404 else None}
    body = None
    if templates is not None:
        try:
            body = templates.get_template("error.html").render(**values)
        except jinja2.TemplateError:
            log.warning("bot/templates/error.html is missing or broken; using the built-in error page")
    if body is None:
        body = ERROR_PAGE.render(**values)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _error_response(request: web.Request, status: int, code: str | None, message: str | None,
                    headers: dict[str, str] | None = None) -> web.Response:
    default_code, default_message = MESSAGES.get(status, ("error", "Die Anfrage konnte nicht bearbeitet werden."))
    if is_api_path(request.path):
        return json_error(status, code or default_code, message or default_message, headers)
    response = html_error(status, message if code else None, request.path, request.app.get(TEMPLATES))
    response.headers.update(headers or {})
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors for API paths, friendly German pages otherwise; never a traceback to the user."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _error_response(request, exc.status, exc.code, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items()
                   if k.lower() in {"allow", "retry-after", "vary"} or k.lower().startswith("access-control-")}
        return _error_response(request, exc.status, None, None, headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("Unhandled error in %s %s", request.method, request.path)
        return _error_response(request, 500, None, None)


def cors_middleware(allowed: tuple[str, ...]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Refuses API requests from origins that are not allowed; answers CORS pre-flights for allowed ones."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(CORS_PREFIXES):
            return await handler(request)
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, request.host, allowed):
            log.info("Refused a request from a foreign origin to %s", request.path)
            raise ApiError(403, "origin_not_allowed",
                           "Diese Website darf den Krisenlotsen nicht einbinden.")
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            if isinstance(request.match_info.http_exception, web.HTTPNotFound):
                raise request.match_info.http_exception
            return web.Response(status=204, headers={
                **cors,
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
            })
        try:
            response = await handler(request)
        except ApiError as exc:
            exc.headers.update(cors)
            raise
        except web.HTTPException as exc:
            exc.headers.update(cors)
            raise
        response.headers.update(cors)
        return response

    return middleware


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: headers for every response (pages, API, files, socket.io)."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Server"] = "Krisenlotse"
    path = request.path
    if path.startswith(EMBEDDABLE_PATHS):
        # Loaded by pages of other origins (<script src>, <link>): no CSP of ours applies there.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        headers.setdefault("Access-Control-Allow-Origin", "*")
        return
    if (response.content_type or "").startswith("text/html"):
        host = request.host if HOST.fullmatch(request.host or "") else None
        sockets = f" ws://{host} wss://{host}" if host else ""
        headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"font-src 'self'; connect-src 'self'{sockets}; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
        )
        headers["X-Frame-Options"] = "SAMEORIGIN"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    else:
        headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")  # CORS requests are not affected
