"""The OpenAPI description of the JSON API, generated from the routing table itself (no second
copy to keep in sync), as JSON (/api/openapi.json) and as HTML (/api/docs)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airsequel import __version__
from airsequel.http.pages import templates
from airsequel.http.responses import JSONResponse

_PARAM = re.compile(r"{(\w+)}")
DOCUMENTED_PREFIXES = ("/api/", "/dbs", "/readonly/", "/fns/")


def openapi(routes: list[Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.path.startswith(DOCUMENTED_PREFIXES):
            continue
        module = inspect.getmodule(route.endpoint)
        tag = module.__name__.rsplit(".", 1)[-1] if module else "api"
        doc = inspect.getdoc(route.endpoint) or (inspect.getdoc(module) if module else "") or ""
        summary = doc.splitlines()[0] if doc else route.name.replace("_", " ")
        body_schema = getattr(route.endpoint, "body_schema", None)
        body_required = getattr(route.endpoint, "body_required", True)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation = paths.setdefault(route.path, {})[method.lower()] = {
                "tags": [tag],
                "summary": summary,
                "operationId": f"{method.lower()}_{route.name}_{len(paths)}",
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in _PARAM.findall(route.path)
                ],
                "responses": {
                    "default": {
                        "description": 'JSON; errors as {"errors": [...]}',
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
            if body_schema is not None:
                operation["requestBody"] = {
                    "required": body_required,
                    "content": {"application/json": {"schema": body_schema}},
                }
    return {
        "openapi": "3.0.3",
        "info": {"title": "airsequel JSON API", "version": __version__},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}, {}],
        "paths": dict(sorted(paths.items())),
    }


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI 3 description of this API."""
    return JSONResponse(openapi(request.app.routes))


async def docs_html(request: Request) -> Response:
    """HTML documentation of the JSON API, rendered from the OpenAPI description."""
    spec = openapi(request.app.routes)
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            groups.setdefault(operation["tags"][0], []).append({"method": method.upper(), "path": path, **operation})
    return templates.TemplateResponse(request, "api_docs.html", {"spec": spec, "groups": dict(sorted(groups.items()))})


routes = [
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/docs", docs_html, methods=["GET"]),
]
