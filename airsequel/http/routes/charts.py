"""Charts and dashboards: /api/dbs/:dbId/charts and /api/dbs/:dbId/dashboards, plus each chart as SVG."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel.core.auth.access import Action
from airsequel.core.content.charts import AGGREGATES, CHART_TYPES
from airsequel.http.bodies import BOOLEAN, STRING, documents_body, obj, read_json_object
from airsequel.http.context import authorized_database, run_in_threadpool, services
from airsequel.http.responses import JSONResponse


def _kind(request: Request) -> str:
    return "dashboards" if "/dashboards" in request.url.path else "charts"


async def list_items(request: Request) -> JSONResponse:
    """The database's charts (or dashboards)."""
    record = await authorized_database(request, Action.READ)
    kind = _kind(request)
    return JSONResponse({kind: await run_in_threadpool(services(request).charts.of_database, kind, record)})


async def create_item(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    return JSONResponse(
        await run_in_threadpool(services(request).charts.create, _kind(request), record, body), status_code=201
    )


async def update_item(request: Request) -> JSONResponse:
    record = await authorized_database(request, Action.WRITE)
    body = await read_json_object(request)
    await run_in_threadpool(
        services(request).charts.update, _kind(request), record, request.path_params["item_id"], body
    )
    return JSONResponse({})


# Charts and dashboards share their handlers but not their bodies, which the OpenAPI description shows per route.
CHART = obj(
    ["table"],
    aggregate={
        "type": "string",
        "enum": list(AGGREGATES),
        "nullable": True,
        "description": "Group the rows by the label column (headers[0]) and plot count, sum or avg of the value"
        " column (headers[1]; count may leave it out). Not in the reference's fields: left out, the rows are"
        " plotted as they are",
    },
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


async def chart_image(request: Request) -> Response:
    """A chart drawn as SVG from its table's data."""
    record = await authorized_database(request, Action.READ)
    svg = await run_in_threadpool(services(request).charts.svg, record, request.path_params["item_id"])
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
