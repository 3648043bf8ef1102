"""The dashboards pages: GET /dashboards (every chart of the user's databases) and
GET /dashboards/:dbId (one database's charts), as a grid; a click shows a chart large."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.content.dashboard_pages import dashboard_page
from airsequel.core.errors import CoreError, Forbidden, NotAuthenticated
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.error_pages import browser_error
from airsequel.http.pages import templates


async def all_dashboards(request: Request) -> Response:
    caller = await principal(request)
    try:
        data = await run_in_threadpool(dashboard_page, services(request).pages, caller)
    except (NotAuthenticated, Forbidden):
        return RedirectResponse("/login?next=/dashboards", status_code=303)
    return templates.TemplateResponse(request, "pages/dashboard.html", data)


async def database_dashboard(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
        caller = await principal(request)
        data = await run_in_threadpool(dashboard_page, services(request).pages, caller, record)
    except CoreError as error:
        return await browser_error(request, error)
    return templates.TemplateResponse(request, "pages/dashboard.html", data)


routes = [
    Route("/dashboards", all_dashboards, methods=["GET"]),
    Route("/dashboards/{db_id}", database_dashboard, methods=["GET"]),
]
