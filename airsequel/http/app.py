"""The Starlette application: services, routes and error handlers put together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.http.errors import EXCEPTION_HANDLERS
from airsequel.http.pages import static_files
from airsequel.http.routes import (
    databases, exports, files, graphql, records, sql, status, tables, teams, tokens, users,
)


def create_app(settings: Settings) -> Starlette:
    services = Services.start(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.exports.start()
        yield
        services.stop()

    app = Starlette(
        routes=[
            *status.routes, *users.routes, *teams.routes, *tokens.routes,
            *databases.routes, *files.routes, *sql.routes, *graphql.routes, *tables.routes,
            *records.routes, *exports.routes,
            Mount("/static", app=static_files(), name="static"),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.services = services
    return app
