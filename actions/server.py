"""Action server runner: ``python -m actions.server``.

Wraps rasa-sdk's Sanic app, binds to loopback by default and requires Rasa's endpoint token
(``?token=...``, see ``token`` in endpoints.yml) on every route except ``/health``.

Environment: KRISENLOTSE_ACTIONS_TOKEN (required), KRISENLOTSE_ACTIONS_HOST (default 127.0.0.1),
KRISENLOTSE_ACTIONS_PORT (default 5055), KRISENLOTSE_ACTIONS_LOG_LEVEL (default INFO).

Escalation (docs/escalation-contract.md): KRISENLOTSE_WEB_INTERNAL_URL (default http://127.0.0.1:8080),
KRISENLOTSE_INTERNAL_TOKEN (without it cases wait in the outbox), KRISENLOTSE_OUTBOX_DB (default
var/outbox.db), KRISENLOTSE_OUTBOX_RETRY_SECONDS (default 5). A background task delivers the cases that
are still pending in the outbox every few seconds (actions/delivery.py, run_retry_loop).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sanic import Sanic

    from actions.delivery import DeliveryConfig

logger = logging.getLogger("actions.server")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
#: Rasa's EndpointConfig sends the token as this query parameter (rasa/utils/endpoints.py).
TOKEN_PARAM = "token"  # noqa: S105 - the name of the query parameter, not a secret
OPEN_PATHS = frozenset({"/health"})


class ConfigError(ValueError):
    """The action server's environment is incomplete or invalid."""


@dataclass(frozen=True)
class Settings:
    token: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = "INFO"


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Read and check the settings; raise ConfigError with a clear message."""
    token = env.get("KRISENLOTSE_ACTIONS_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "KRISENLOTSE_ACTIONS_TOKEN is not set: the action server refuses to start without a token. "
            "Set it to the same value as `token` of action_endpoint in endpoints.yml "
            "(e.g. `set -a; . var/secrets.env; set +a`)."
        )
    raw_port = env.get("KRISENLOTSE_ACTIONS_PORT", str(DEFAULT_PORT))
    try:
        port = int(raw_port)
    except ValueError:
        raise ConfigError(f"KRISENLOTSE_ACTIONS_PORT must be a number, not {raw_port!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"KRISENLOTSE_ACTIONS_PORT out of range: {port}")
    return Settings(
        token=token,
        host=env.get("KRISENLOTSE_ACTIONS_HOST", DEFAULT_HOST) or DEFAULT_HOST,
        port=port,
        log_level=env.get("KRISENLOTSE_ACTIONS_LOG_LEVEL", "INFO").upper(),
    )


def token_ok(supplied: str | None, expected: str) -> bool:
    """Constant-time comparison of the supplied token with the expected one."""
    if not supplied:
        return False
    return secrets.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8"))


def attach_outbox_worker(app: Sanic, config: DeliveryConfig) -> None:
    """Run the outbox retry loop while the server runs (started after start-up, stopped before shutdown)."""
    from actions.delivery import RETRY_ATTEMPT_TIMEOUT, WebAppClient, run_retry_loop
    from actions.outbox import Outbox

    async def start(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.outbox_stop = asyncio.Event()
        app.ctx.outbox_task = loop.create_task(
            run_retry_loop(Outbox(config.outbox_path), WebAppClient(config), app.ctx.outbox_stop)
        )

    async def stop(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.outbox_stop.set()
        try:
            await asyncio.wait_for(app.ctx.outbox_task, timeout=RETRY_ATTEMPT_TIMEOUT + 2)
        except asyncio.TimeoutError:
            app.ctx.outbox_task.cancel()

    app.register_listener(start, "after_server_start")
    app.register_listener(stop, "before_server_stop")


def build_app(token: str, delivery: DeliveryConfig | None = None) -> Sanic:
    """rasa-sdk's app for the package ``actions`` with the token check in front.

    With ``delivery``, the app also runs the outbox retry loop in the background.
    """
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager
    from sanic import response

    app = create_app("actions", cors_origins=[], auto_reload=False)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)

    async def require_token(request):  # type: ignore[no-untyped-def]
        if request.path in OPEN_PATHS:
            return None
        if token_ok(request.args.get(TOKEN_PARAM), token):
            return None
        logger.warning("Rejected %s %s: missing or wrong token", request.method, request.path)
        return response.json({"error": "missing or wrong token"}, status=401)

    app.register_middleware(require_token, "request")
    if delivery is not None:
        attach_outbox_worker(app, delivery)
    return app


def main() -> int:
    """Validate settings and data files, then serve (blocks)."""
    try:
        settings = settings_from_env(os.environ)
    except ConfigError as exc:
        print(f"actions.server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from actions.datafile import DataFileError
    from actions.replies import knowledge

    try:
        knowledge()
    except DataFileError as exc:
        print(f"actions.server: invalid data file: {exc}", file=sys.stderr)
        return 3
    from actions.delivery import DeliveryConfig
    from actions.outbox import Outbox, OutboxError

    delivery = DeliveryConfig.from_env(os.environ)
    try:
        counts = Outbox(delivery.outbox_path).check()
    except OutboxError as exc:
        print(f"actions.server: cannot open the case outbox: {exc}", file=sys.stderr)
        return 4
    app = build_app(settings.token, delivery)
    logger.info("Action server on http://%s:%s (token required)", settings.host, settings.port)
    logger.info(
        "Cases: outbox %s (%d pending, %d failed), web app %s%s",
        delivery.outbox_path,
        counts["pending"],
        counts["failed"],
        delivery.base_url,
        " (offline: KRISENLOTSE_INTERNAL_TOKEN not set)" if delivery.offline else "",
    )
    app.run(host=settings.host, port=settings.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
