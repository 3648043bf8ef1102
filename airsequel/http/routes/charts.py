"""Charts and dashboards: /api/dbs/:dbId/charts and /api/dbs/:dbId/dashboards, plus each chart as SVG."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.content.charts import CHART_TYPES, chart_data, checked_chart, render_svg
from airsequel.core.errors import InvalidInput, NotFound
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.services import Services
from airsequel.http.bodies import BOOLEAN, STRING, documents_body, obj, read_json_object
from airsequel.http.context import authorized_database, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


def checked_dashboard(body: dict[str, Any]) -> dict[str, Any]:
    charts, title = body.get("charts", []), body.get("title", "")
    if not isinstance(charts, list) or not all(isinstance(c, str) for c in charts):
        raise InvalidInput("charts must be a list of chart ids")
    if not isinstance(title, str):
        raise InvalidInput("title must be a string")
    return {"charts": charts, "title": title}


CHECKS = {"charts": checked_chart, "dashboards": checked_dashboard}


def _kind(request: Request) -> str:
    return "dashboards" if "/dashboards" in request.url.path else "charts"


async def list_items(request: Request) -> JSONResponse:
    """The database's charts (or dashboards)."""
    record = await authorized_database(request, Action.READ)
    kind = _kind(request)
    return JSONResponse({kind: await run_in_threadpool(services(request).charts.of_database, kind, record)})


async def create_item(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    kind = _kind(request)
    definition = CHECKS[kind](await read_json_object(request))
    return JSONResponse(
        await run_in_threadpool(services(request).charts.create, kind, record, definition), status_code=201
    )


async def update_item(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    kind = _kind(request)
    definition = CHECKS[kind](await read_json_object(request))
    await run_in_threadpool(services(request).charts.update, kind, record, request.path_params["item_id"], definition)
    return JSONResponse({})


# Charts and dashboards share their handlers but not their bodies, which the OpenAPI description shows per route.
CHART = obj(
    ["table"],
    chartType={"enum": list(CHART_TYPES)},
    headers={"type": "array", "items": STRING},
    hideNullValues=BOOLEAN,
    labelRotation={"type": "number", "minimum": -90, "maximum": 90},
    table={"type": "string", "minLength": 1},
    title=STRING,
)
DASHBOARD = obj(charts={"type": "array", "items": STRING}, title=STRING)


@documents_body(CHART)
async def create_chart(request: Request) -> JSONResponse:
    """Create a chart."""
    return await create_item(request)


@documents_body(CHART)
async def update_chart(request: Request) -> JSONResponse:
    """Change a chart."""
    return await update_item(request)


@documents_body(DASHBOARD)
async def create_dashboard(request: Request) -> JSONResponse:
    """Create a dashboard."""
    return await create_item(request)


@documents_body(DASHBOARD)
async def update_dashboard(request: Request) -> JSONResponse:
    """Change a dashboard."""
    return await update_item(request)


async def delete_item(request: Request) -> JSONResponse:
    """Delete a chart (or dashboard)."""
    record = await authorized_database(request, Action.WRITE)
    await run_in_threadpool(services(request).charts.delete, _kind(request), record, request.path_params["item_id"])
    return JSONResponse({})


def chart_svg(service: Services, record: DatabaseRecord, chart: dict[str, Any]) -> str:
    with service.hosting.read_snapshot(record) as conn:
        labels, series = chart_data(conn, chart)
    return render_svg(chart, labels, series)


async def chart_image(request: Request) -> Response:
    """A chart drawn as SVG from its table's data."""
    record = await authorized_database(request, Action.READ)
    charts = await run_in_threadpool(services(request).charts.of_database, "charts", record)
    chart = next((c for c in charts if c["ulid"] == request.path_params["item_id"]), None)
    if chart is None:
        raise NotFound("No such chart")
    svg = await run_in_threadpool(chart_svg, services(request), record, chart)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


routes = [
    Route("/api/dbs/{db_id}/charts", list_items, methods=["GET"]),
    Route("/api/dbs/{db_id}/charts", create_chart, methods=["POST"]),
    Route("/api/dbs/{db_id}/charts/{item_id}", update_chart, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/charts/{item_id}", delete_item, methods=["DELETE"]),
    Route("/api/dbs/{db_id}/charts/{item_id}/svg", chart_image, methods=["GET"]),
    Route("/api/dbs/{db_id}/dashboards", list_items, methods=["GET"]),
    Route("/api/dbs/{db_id}/dashboards", create_dashboard, methods=["POST"]),
    Route("/api/dbs/{db_id}/dashboards/{item_id}", update_dashboard, methods=["PATCH"]),
    Route("/api/dbs/{db_id}/dashboards/{item_id}", delete_item, methods=["DELETE"]),
]
