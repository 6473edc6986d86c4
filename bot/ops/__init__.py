"""The operator console (/ops): NLU inbox, model training/evaluation/activation, dashboard.

Pages and APIs under /ops are behind the staff login (bot.console.auth_middleware) and open to operators and
admins only. Each topic module registers its own routes in ``setup_ops_routes``.
"""

from __future__ import annotations

from aiohttp import web

from bot.ops import dashboard_views, inbox_views, models_views


def setup_ops_routes(app: web.Application) -> None:
    """Register the routes of every operator-console module (one line per module)."""
    dashboard_views.setup_dashboard_routes(app)
    inbox_views.setup(app)
    models_views.setup_models_routes(app)
