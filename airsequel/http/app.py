"""The Starlette application: services, routes and error handlers put together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.http.edge import EdgeMiddleware
from airsequel.http.errors import EXCEPTION_HANDLERS
from airsequel.http.pages import static_files
from airsequel.http.routes import (
    backups,
    charts,
    cluster,
    databases,
    docs,
    exports,
    files,
    functions,
    graphql,
    graphql_ws,
    not_included,
    pixiebrix,
    prompts,
    records,
    sql,
    status,
    tables,
    teams,
    tokens,
    users,
    web,
)
from airsequel.http.routes import dashboard_pages as dashboard_page_routes
from airsequel.http.routes import row_pages as row_page_routes
from airsequel.http.routes import settings as settings_routes
from airsequel.http.sqlite_lane import SqliteLane

ROUTE_THREADS = 256


def create_app(settings: Settings, *, worker: tuple[str, str | None] | None = None) -> Starlette:
    """The server's application. `worker`: (group marker, setup digest) in a worker process of
    `serve --workers N` (see worker_app.py); None in a server of one process, which takes the data
    directory's lock itself."""
    services = Services.start(settings) if worker is None else Services.start_worker(settings, *worker)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Blocking work of the routes (table pages, uploads, the status check) runs on anyio's
        # threads; 40 by default, which 40 slow requests of one tenant would hold for the whole
        # time limit. Threads wait in SQLite without the GIL, so more of them cost little.
        anyio.to_thread.current_default_thread_limiter().total_tokens = ROUTE_THREADS
        services.start_background_work()
        yield
        services.stop()

    app = Starlette(
        routes=[
            # The hot paths first: Starlette tries the routes in order, a regular expression each.
            *sql.routes,
            *graphql.routes,
            *graphql_ws.routes,  # WebSocket: live queries at the GraphQL paths
            *status.routes,
            *cluster.routes,
            *users.routes,
            *teams.routes,
            *tokens.routes,
            *databases.routes,
            *files.routes,
            *tables.routes,
            *records.routes,
            *exports.routes,
            *pixiebrix.routes,
            *settings_routes.routes,
            *docs.routes,
            *functions.routes,
            *prompts.routes,
            *not_included.routes,
            *charts.routes,
            *web.routes,
            *dashboard_page_routes.routes,
            *row_page_routes.routes,
            *backups.routes,
            Mount("/static", app=static_files(), name="static"),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        # Shared state caught up, the Host checked, the security headers on every answer (a refused
        # Host's included): one layer, see edge.py.
        middleware=[Middleware(EdgeMiddleware, services=services)],
    )
    # No redirect of a path with or without its trailing slash: it keeps the method, so a DELETE of a table a
    # browser named ".." (which it collapses into the parent's path) would have deleted the database.
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.sqlite_lane = SqliteLane(base=settings.sqlite_threads)
    return app
