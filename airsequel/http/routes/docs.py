"""The OpenAPI description of the JSON API, generated from the routing table itself and the answers
declared beside it (airsequel/http/openapi/), as JSON (/api/openapi.json) and as HTML (/api/docs)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel.http.openapi.document import answers_in_brief, openapi
from airsequel.http.pages import templates
from airsequel.http.responses import JSONResponse


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI 3 description of this API."""
    return JSONResponse(openapi(request.app.routes))


async def docs_html(request: Request) -> Response:
    """HTML documentation of the JSON API, rendered from the OpenAPI description."""
    spec = openapi(request.app.routes)
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            groups.setdefault(operation["tags"][0], []).append(
                {"method": method.upper(), "path": path, "answers": answers_in_brief(operation), **operation}
            )
    return templates.TemplateResponse(request, "api_docs.html", {"spec": spec, "groups": dict(sorted(groups.items()))})


routes = [
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/docs", docs_html, methods=["GET"]),
]
