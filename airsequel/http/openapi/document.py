"""The OpenAPI 3.0 document, built from the routing table (paths, parameters, handlers' docstrings,
request bodies from `documents_body`) and the answers declared in *_responses.py."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.routing import Route

from airsequel import __version__
from airsequel.http.openapi import (
    account_responses,
    cluster_responses,
    data_responses,
    function_responses,
    integration_responses,
    prompt_responses,
    row_page_responses,
)
from airsequel.http.openapi.declarations import BODY_ERRORS, COMMON_ERRORS, ERROR_MEANINGS, HTML, Declared
from airsequel.http.openapi.schemas import COMPONENTS, STR, ref

DOCUMENTED_PREFIXES = ("/api/", "/dbs", "/readonly/", "/fns/", "/{org}/v2/")  # the last: Medable's exports
_PARAM = re.compile(r"{(\w+)}")
_CONVERTOR = re.compile(r"{(\w+):\w+}")
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}, "name": STR, "team": STR},
                "required": ["file"],
            }
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}


def _merged(*parts: dict[tuple[str, str], Declared]) -> dict[tuple[str, str], Declared]:
    merged: dict[tuple[str, str], Declared] = {}
    for part in parts:
        twice = merged.keys() & part.keys()
        assert not twice, f"declared twice: {sorted(twice)}"
        merged.update(part)
    return merged


# What every documented (method, path) answers. tests/test_openapi.py fails on a route missing here.
DECLARED = _merged(
    data_responses.RESPONSES,
    account_responses.RESPONSES,
    integration_responses.RESPONSES,
    prompt_responses.RESPONSES,
    cluster_responses.RESPONSES,
    function_responses.RESPONSES,
    row_page_responses.RESPONSES,
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: Route


def documented_operations(routes: Iterable[Any]) -> list[Operation]:
    """Each (method, path) of the routing table under DOCUMENTED_PREFIXES, in routing order."""
    found = []
    for route in routes:
        if isinstance(route, Route) and route.path.startswith(DOCUMENTED_PREFIXES):
            path = _CONVERTOR.sub(r"{\1}", route.path)  # {key_value:path} is documented as {key_value}
            found += [Operation(m, path, route) for m in sorted((route.methods or set()) - {"HEAD"})]
    return found


def operation_ids(operations: list[Operation]) -> dict[tuple[str, str], str]:
    """The handler's name where it serves one operation; where several share it, the name followed by
    what tells them apart: the method when one route serves several, the path's fixed segments, and
    where those are the same, its last parameter (`by_<name>`). Each name depends on the set of routes
    sharing its handler, not on their order."""
    by_name: dict[str, list[Operation]] = {}
    for op in operations:
        by_name.setdefault(op.route.name, []).append(op)
    ids: dict[tuple[str, str], str] = {}
    for name, group in by_name.items():
        for op in group:
            ids[(op.method, op.path)] = name if len(group) == 1 else _qualified(name, op, group)
    taken: dict[str, tuple[str, str]] = {}
    for key, op_id in sorted(ids.items()):
        assert op_id not in taken, f"operationId {op_id!r} of {key} and {taken[op_id]}"
        taken[op_id] = key
    return ids


def _qualified(name: str, op: Operation, group: list[Operation]) -> str:
    def words(o: Operation, with_last_param: bool) -> list[str]:
        methods = (o.route.methods or set()) - {"HEAD"}
        segments = [s for s in o.path.strip("/").split("/") if s != "api"]
        kept = [s for s in segments if not s.startswith("{")]
        if with_last_param and segments[-1].startswith("{"):
            kept.append(f"by_{segments[-1][1:-1]}")
        return [*([o.method.lower()] if len(methods) > 1 else []), *(re.sub(r"\W+", "_", s) for s in kept)]

    short = [words(o, with_last_param=False) for o in group]
    mine = words(op, with_last_param=short.count(words(op, with_last_param=False)) > 1)
    return "_".join([name, *mine])


def _responses(declared: Declared, method: str) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for answer in declared.answers:
        content = {
            media: ({"schema": schema} if schema is not None else {}) for media, schema in answer.content.items()
        }
        answers[str(answer.status)] = {"description": answer.description, **({"content": content} if content else {})}
    errors = declared.errors
    if errors is None:
        errors = COMMON_ERRORS + (BODY_ERRORS if method in ("POST", "PUT", "PATCH") else ())
    error_content = (
        {HTML: {"schema": STR}}
        if declared.error_media == HTML
        else {"application/json": {"schema": ref(declared.error_schema)}}
    )
    for status in sorted(errors):
        answers[str(status)] = {"description": ERROR_MEANINGS[status], "content": error_content}
    answers["default"] = {"description": "Any other error", "content": error_content}
    return answers


def _parameters(path: str, declared: Declared | None) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _PARAM.findall(path)
    ]
    for name, schema in (declared.query if declared else {}).items():
        parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
    return parameters


def with_array_items(schema: Any) -> Any:
    """`schema` with `items: {}` on each array that names none: OpenAPI 3.0 requires `items` beside
    `type: array` (JSON Schema does not), and client generators refuse such a schema."""
    if isinstance(schema, list):
        return [with_array_items(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    fixed = {key: with_array_items(value) for key, value in schema.items()}
    if fixed.get("type") == "array" and "items" not in fixed:
        fixed["items"] = {}
    return fixed


def openapi(routes: Iterable[Any]) -> dict[str, Any]:
    operations = documented_operations(routes)
    ids = operation_ids(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        endpoint = op.route.endpoint
        module = inspect.getmodule(endpoint)
        tag = module.__name__.rsplit(".", 1)[-1] if module else "api"
        doc = inspect.getdoc(endpoint) or (inspect.getdoc(module) if module else "") or ""
        declared = DECLARED.get((op.method, op.path))
        operation: dict[str, Any] = {
            "tags": [tag],
            "summary": doc.splitlines()[0] if doc else op.route.name.replace("_", " "),
            "operationId": ids[(op.method, op.path)],
            "parameters": _parameters(op.path, declared),
            "responses": _responses(declared, op.method)
            if declared
            else {"default": {"description": "Not described yet"}},
        }
        body_schema = getattr(endpoint, "body_schema", None)
        if body_schema is not None:
            operation["requestBody"] = {
                "required": getattr(endpoint, "body_required", True),
                "content": {"application/json": {"schema": with_array_items(body_schema)}},
            }
        elif declared is not None and declared.upload:
            operation["requestBody"] = UPLOAD_BODY
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "airsequel JSON API", "version": __version__},
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
        "paths": dict(sorted(paths.items())),
    }


def answers_in_brief(operation: dict[str, Any]) -> list[str]:
    """An operation's answers in a few words for the HTML page: `200 application/json Database`, ...,
    then the error statuses."""
    brief, errors = [], []
    for status, answer in operation["responses"].items():
        if status == "default" or int(status) >= 400:
            errors.append(status)
            continue
        for media, body in (answer.get("content") or {"": {}}).items():
            schema = body.get("schema", {})
            name = schema.get("$ref", "").rsplit("/", 1)[-1] or ("file" if schema.get("format") == "binary" else "")
            brief.append(" ".join(part for part in (status, media, name) if part))
    return [*brief, "errors " + ", ".join(errors)]
