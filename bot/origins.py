"""Which browser origins may talk to the web app (REST API, webhook and socket.io).

KRISENLOTSE_ALLOWED_ORIGINS lists exact origins (``https://www.mannheim.de``) or any-port patterns
(``http://localhost:*``). Empty: the app's own origin plus http://127.0.0.1:* and http://localhost:*.
The app's own origin (same host as the request) is always allowed. Requests without an Origin header
(curl, server-to-server, python clients) are not cross-origin and pass.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PATTERNS = ("http://127.0.0.1:*", "http://localhost:*")


def origin_allowed(origin: str | None, own_host: str | None, allowed: tuple[str, ...] = ()) -> bool:
    """Whether a request with header ``Origin: origin`` sent to host ``own_host`` may be served."""
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path or "@" in parts.netloc:
        return False  # "null" (sandboxed frames, file://) and anything malformed
    if own_host and parts.netloc == own_host.strip().lower():
        return True
    for pattern in allowed or DEFAULT_PATTERNS:
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if origin == base or (origin.startswith(base + ":") and origin[len(base) + 1:].isdigit()):
                return True
        elif origin == pattern or origin == _without_default_port(pattern) or pattern == _without_default_port(origin):
            return True
    return False


def _without_default_port(origin: str) -> str:
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin
