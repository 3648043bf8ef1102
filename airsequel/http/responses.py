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


def error_response(status_code: int, *messages: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status_code, headers=headers)
