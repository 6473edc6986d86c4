"""The operator console (/ops): NLU inbox, model training/evaluation/activation, dashboard.

Pages and APIs under /ops are behind the staff login (bot.console.auth_middleware) and open to operators and
admins only. Each topic module registers its own routes in ``setup_ops_routes``.
"""

from __future__ import annotations

from aiohttp import web


def setup_ops_routes(app: web.Application) -> None:
    """Register the routes of every operator-console module (one line per module)."""
