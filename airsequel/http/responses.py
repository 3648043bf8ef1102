"""JSON responses serialized with orjson (fast, and exact about non-ASCII text and floats)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error_body(messages: list[str], *, graphql: bool = False) -> dict[str, Any]:
    """The one shape of an error: `{"errors": [...]}`, messages as text, or as GraphQL's
    `{"message": ...}` objects on the GraphQL endpoints."""
    return {"errors": [{"message": m} for m in messages] if graphql else list(messages)}


def error_response(
    status_code: int, *messages: str, headers: Mapping[str, str] | None = None, graphql: bool = False
) -> JSONResponse:
    return JSONResponse(error_body(list(messages), graphql=graphql), status_code=status_code, headers=headers)
