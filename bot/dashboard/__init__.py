"""The coordinators' web dashboard, mounted on the feeds' aiohttp server (bot/web.py).

`add_dashboard_routes(app, services)` is the one hook; see views.py for the pages and
auth.py for the login links and sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.services import Services


def add_dashboard_routes(app: web.Application, services: Services) -> None:
    """Mount the dashboard's pages under /dashboard (imported lazily: Jinja2 loads here)."""
    from bot.dashboard.views import add_dashboard_routes as add

    add(app, services)
