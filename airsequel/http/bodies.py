"""Reading request bodies: JSON objects with a size cap, and typed fields out of them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Literal, TypeVar, overload

import orjson
from starlette.requests import Request

from airsequel.core.errors import CoreError, InvalidInput, TooLarge
from airsequel.core.integer_text import parse_count

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def documents_body(schema: dict[str, Any], *, required: bool = True) -> Callable[[Endpoint], Endpoint]:
    """Attach the JSON schema of a route's request body (`required=False`: the body may be left out), for the
    generated OpenAPI description."""

    def attach(endpoint: Endpoint) -> Endpoint:
        annotated: Any = endpoint  # a function takes new attributes; Callable does not declare them
        annotated.body_schema = schema
        annotated.body_required = required
        return endpoint

    return attach


def matching(regex: re.Pattern[str]) -> dict[str, Any]:
    """A JSON schema string that the core's `regex.fullmatch` accepts, for `documents_body`."""
    return {"type": "string", "pattern": f"^{regex.pattern}$"}


def obj(required: list[str] | None = None, /, **properties: Any) -> dict[str, Any]:
    """A JSON schema object, for `documents_body`. `required` is positional only, so a property may be
    named anything, and `**properties` of a dict cannot fill it."""
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


class BodyStalled(CoreError):
    """No byte of the request body arrived for body_timeout_seconds (408): a client that stalls
    would otherwise hold a connection, a file descriptor and perhaps a temporary file forever."""

    status: ClassVar[int] = 408


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk, as `request.stream()` gives it, except that a wait of more
    than the body_timeout_seconds setting for the next chunk ends the request with BodyStalled (408)."""
    timeout = request.app.state.services.settings.body_timeout_seconds
    chunks = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyStalled(
                f"The request body stalled: no bytes arrived for {timeout:g} s (body_timeout_seconds)"
            ) from None
        yield chunk


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
TEXT_OR_NULL = {"type": "string", "nullable": True}  # what text_value_field reads (its tagged form aside)


async def read_json_object(request: Request, *, max_bytes: int | None = None, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object. Larger than `max_bytes` (default: the max_json_body_bytes
    setting) → 413; not a JSON object → 400."""
    if max_bytes is None:
        max_bytes = request.app.state.services.settings.max_json_body_bytes
    declared = parse_count(request.headers.get("content-length"))
    if declared is not None and declared > max_bytes:
        raise TooLarge(f"The request body is larger than the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in body_chunks(request):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"The request body is larger than the limit of {max_bytes} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        if optional:
            return {}
        raise InvalidInput("The request needs a JSON object as its body")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"The body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidInput("The body must be a JSON object")
    return value


@overload
def string_field(body: dict[str, Any], name: str, *, required: Literal[True]) -> str: ...
@overload
def string_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None: ...
def string_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """The string field `name`, or None when it is absent or null; `required=True`: absent or null → 400."""
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"The field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"The field {name!r} must be a string")
    return value


def text_value_field(body: dict[str, Any], name: str) -> tuple[bool, str | None]:
    """A field that may be a plain string or null, or the reference's tagged form
    `{"tag": "TextValue", "contents": "..."}` / `{"tag": "TextNull"}`. Returns (present, value)."""
    if name not in body:
        return False, None
    value = body[name]
    if value is None or isinstance(value, str):
        return True, value
    if isinstance(value, dict) and value.get("tag") == "TextNull":
        return True, None
    if isinstance(value, dict) and value.get("tag") == "TextValue" and isinstance(value.get("contents"), str):
        return True, value["contents"]
    raise InvalidInput(f'The field {name!r} must be a string, null, or {{"tag": "TextValue", "contents": ...}}')


def bool_field(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidInput(f"The field {name!r} must be true or false")
    return value
