"""The web pages: server-rendered (templates/pages), with static/app.js calling the JSON API."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from airsequel.core.auth.access import Action, PrincipalKind, TeamAction, authorize_team, may
from airsequel.core.errors import CoreError, Forbidden, NotAuthenticated, NotFound
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.services import Services
from airsequel.core.sql.script import quote_identifier
from airsequel.http.context import authorized_database, principal, run_in_threadpool, services
from airsequel.http.pages import templates
from airsequel.http.routes.databases import visible_databases


async def _context(request: Request, **values: Any) -> dict[str, Any]:
    caller = await principal(request)
    teams: list[dict[str, Any]] = []
    if caller.kind == PrincipalKind.USER and caller.user_id is not None:
        teams = await run_in_threadpool(services(request).teams.teams_of_user, caller.user_id)
    return {"user": caller.username if caller.kind == PrincipalKind.USER else None, "teams": teams, **values}


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, f"pages/{name}.html", context, status_code=status_code)


async def _error_page(request: Request, error: CoreError) -> Response:
    if isinstance(error, NotAuthenticated):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, Forbidden) else 400
    context = await _context(request)
    return templates.TemplateResponse(
        request, "pages/error.html", {**context, "message": str(error)}, status_code=status
    )


async def login_page(request: Request) -> Response:
    return _page(request, "login", await _context(request, signup=request.url.path == "/signup"))


async def home(request: Request) -> Response:
    caller = await principal(request)
    if caller.kind != PrincipalKind.USER:
        return RedirectResponse("/login", status_code=303)
    databases, total = await run_in_threadpool(visible_databases, services(request), caller, 500, 0)
    return _page(request, "home", await _context(request, databases=databases, total=total))


def _tables_with_counts(service: Services, record: DatabaseRecord) -> list[dict[str, Any]]:
    tables = service.tables.ordered_tables(record)
    with service.hosting.read_snapshot(record) as conn:
        for table in tables:
            try:
                table["rows"] = conn.execute(f"SELECT count(*) FROM {quote_identifier(table['name'])}").fetchone()[0]
            except Exception:  # noqa: BLE001 - a broken view still gets listed
                table["rows"] = "?"
    return tables


async def database_page(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
    except CoreError as error:
        return await _error_page(request, error)
    caller = await principal(request)
    service = services(request)
    tables = await run_in_threadpool(_tables_with_counts, service, record)
    charts = await run_in_threadpool(service.charts.of_database, "charts", record)
    return _page(
        request,
        "database",
        await _context(
            request,
            db=record,
            tables=tables,
            charts=charts,
            base_url=str(request.base_url).rstrip("/"),
            can_write=may(caller, Action.WRITE, record),
            can_manage=may(caller, Action.MANAGE, record),
            can_create=caller.kind == PrincipalKind.USER,
        ),
    )


async def table_page(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
        table = await run_in_threadpool(services(request).tables.table_json, record, request.path_params["table"])
    except CoreError as error:
        return await _error_page(request, error)
    editable = may(await principal(request), Action.WRITE, record) and table["tableType"] == "Table"
    return _page(request, "table", await _context(request, db=record, table=table, editable=editable))


async def sql_page(request: Request) -> Response:
    try:
        record = await authorized_database(request, Action.READ)
    except CoreError as error:
        return await _error_page(request, error)
    first = record.tables[0]["name"] if record.tables else None
    default_query = f"SELECT * FROM {quote_identifier(first)} LIMIT 10;" if first else "SELECT sqlite_version();"
    return _page(request, "sql", await _context(request, db=record, default_query=default_query))


async def team_page(request: Request) -> Response:
    name = request.path_params["team_name"]
    caller = await principal(request)
    service = services(request)
    try:
        authorize_team(caller, TeamAction.VIEW, name)
        team = await run_in_threadpool(service.teams.get, name)
    except CoreError as error:
        return await _error_page(request, error)
    try:
        authorize_team(caller, TeamAction.ADMINISTER, name)
        is_admin = True
    except CoreError:
        is_admin = False
    members = await run_in_threadpool(service.teams.members_of, team)
    tokens = await run_in_threadpool(service.tokens.list_for_team, team) if is_admin else []
    team_databases = await run_in_threadpool(service.teams.databases_json, team) if is_admin else []
    return _page(
        request,
        "team",
        await _context(
            request, team=team, members=members, is_admin=is_admin, tokens=tokens, team_databases=team_databases
        ),
    )


async def password_reset_page(request: Request) -> Response:
    return _page(request, "password_reset", await _context(request, key=request.path_params["key"]))


routes = [
    Route("/", home, methods=["GET"]),
    Route("/login", login_page, methods=["GET"]),
    Route("/signup", login_page, methods=["GET"]),
    Route("/dbs/{db_id}", database_page, methods=["GET"]),
    Route("/dbs/{db_id}/tables/{table}", table_page, methods=["GET"]),
    Route("/dbs/{db_id}/sql", sql_page, methods=["GET"]),
    Route("/teams/{team_name}", team_page, methods=["GET"]),
    Route("/password-reset/{key}", password_reset_page, methods=["GET"]),
]
