"""Reading request bodies: JSON objects with a size cap, and typed fields out of them.

A route's body schema (`documents_body`) is the one list of the fields it takes: the OpenAPI description
shows it, and `read_json_object` refuses (400, naming them) the fields it does not declare, at the top
level and in the declared objects inside it, so that a misspelt or unsupported field is never silently
ignored. Objects made by `obj` declare `additionalProperties: false`; `extensible` opens one up.
"""

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
    """A JSON schema object that takes these properties and no others, for `documents_body`. `required`
    is positional only, so a property may be named anything, and `**properties` of a dict cannot fill it."""
    return {
        "type": "object",
        "properties": properties,
        **({"required": required} if required else {}),
        "additionalProperties": False,
    }


def extensible(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (an `obj`) taking properties beyond those it names, which the route then ignores or reads
    itself: only for fields that a standard lets clients send and servers ignore."""
    return {**schema, "additionalProperties": True}


def unknown_fields(schema: dict[str, Any], value: Any, path: str = "") -> dict[str, list[str]]:
    """The fields of `value` that `schema` does not declare, by the path of the object holding them
    ("" for the body, `permissions[0]` inside it), in the objects whose schema says
    `additionalProperties: false` (what `obj` makes), looking into declared properties and array items.
    Types are not checked here: the field readers do that."""
    found: dict[str, list[str]] = {}
    if not isinstance(schema, dict):
        return found
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties: dict[str, Any] = schema["properties"]
        if schema.get("additionalProperties") is False:
            unknown = [key for key in value if key not in properties]
            if unknown:
                found[path] = unknown
        for key, inner in value.items():
            if key in properties:
                found.update(unknown_fields(properties[key], inner, f"{path}.{key}" if path else key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found.update(unknown_fields(schema["items"], item, f"{path}[{index}]"))
    return found


def refuse_unknown_fields(schema: dict[str, Any] | None, body: dict[str, Any]) -> None:
    """400 naming every field of `body` that `schema` does not declare (see `unknown_fields`), and the
    fields that the object holding it takes."""
    if schema is None:
        return
    unknown = unknown_fields(schema, body)
    if not unknown:
        return
    parts = []
    for path, names in unknown.items():
        where = "the request body" if not path else repr(path)
        takes = ", ".join(sorted(_declared(schema, path))) or "no fields"
        plural = "s" if len(names) > 1 else ""
        parts.append(f"Unknown field{plural} {', '.join(repr(n) for n in names)} in {where} (it takes: {takes})")
    raise InvalidInput("; ".join(parts))


def _declared(schema: dict[str, Any], path: str) -> list[str]:
    """The properties of the object schema at `path` (as `unknown_fields` writes paths)."""
    for step in [part for part in path.replace("[", ".[").split(".") if part]:
        schema = schema.get("items", {}) if step.startswith("[") else schema.get("properties", {}).get(step, {})
    return list(schema.get("properties", {}))


class BodyStalled(CoreError):
    """No byte of the request body arrived for body_timeout_seconds (408): a client that stalls
    would otherwise hold a connection, a file descriptor and perhaps a temporary file forever."""

    status: ClassVar[int] = 408


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk, as `request.stream()` gives it, except that a wait of more
    than the body_timeout_seconds setting for the next chunk ends the request with BodyStalled (408)."""
    timeout = request.app.state.services.settings.body_timeout_seconds
    loop = asyncio.get_running_loop()
    chunks = request.stream().__aiter__()
    try:
        # One timeout for the whole body, moved for every chunk and lifted while the caller holds one
        # (the caller's own work is not a stall): cheaper than a new asyncio.timeout for each chunk.
        async with asyncio.timeout(None) as stall:
            while True:
                stall.reschedule(loop.time() + timeout)
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                stall.reschedule(None)
                yield chunk
    except TimeoutError:
        raise BodyStalled(
            f"The request body stalled: no bytes arrived for {timeout:g} s (body_timeout_seconds)"
        ) from None


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
TEXT_OR_NULL = {"type": "string", "nullable": True}  # what text_value_field reads (its tagged form aside)


async def read_body_bytes(request: Request, max_bytes: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to pass `max_bytes`: from its
    Content-Length, or while it arrives."""
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
    return b"".join(chunks)


async def read_json_object(request: Request, *, max_bytes: int | None = None, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object. Larger than `max_bytes` (default: the max_json_body_bytes
    setting) → 413; not a JSON object, or with a field the route's `documents_body` schema does not
    declare → 400."""
    if max_bytes is None:
        max_bytes = request.app.state.services.settings.max_json_body_bytes
    body = await read_body_bytes(request, max_bytes)
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
    refuse_unknown_fields(getattr(request.scope.get("endpoint"), "body_schema", None), value)
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
