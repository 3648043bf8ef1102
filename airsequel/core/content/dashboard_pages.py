"""The dashboards page: a grid of charts, of one database or of every database the user works with.

The charts themselves are drawn by GET /api/dbs/:dbId/charts/:chartId/svg (charts.py), each under the
SQL deadline; this page only lists them, with the database each belongs to."""

from __future__ import annotations

from typing import Any

from airsequel.core.auth.access import Action, Principal, authorize, may, require_user
from airsequel.core.content.pages import HOME_PAGE_DATABASES, Pages
from airsequel.core.registry.control_plane import DatabaseRecord


def dashboard_page(pages: Pages, caller: Principal, record: DatabaseRecord | None = None) -> dict[str, Any]:
    """The page's data: `charts` as (database, chart) pairs, `db` the one database (None: all of the
    user's, which only a logged-in user has), and whether the caller may add charts there."""
    if record is None:
        require_user(caller)
        databases, _ = pages.catalog.visible_to(caller, HOME_PAGE_DATABASES, 0)
        readable = [db for db in databases if may(caller, Action.READ, db)]
        return {**pages.navigation(caller), "db": None, "charts": pages.charts.of_databases(readable)}
    authorize(caller, Action.READ, record)
    return {
        **pages.navigation(caller),
        "db": record,
        "charts": pages.charts.of_databases([record]),
        "can_write": may(caller, Action.WRITE, record),
    }
