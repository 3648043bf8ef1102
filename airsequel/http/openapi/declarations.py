"""How a route's answers are declared for the OpenAPI document: its successes (status, media type,
schema), the statuses of its errors, its query parameters and a body that is not JSON (uploads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airsequel.http.openapi.schemas import STR, Schema, ref

JSON = "application/json"
HTML = "text/html"
TEXT = "text/plain"

ERROR_MEANINGS = {
    400: "Invalid input",
    401: "Not logged in (no or an unknown session or token)",
    403: "Not allowed for this caller",
    404: "Not found (or not visible to this caller)",
    409: "Conflict with the current state",
    413: "The request body is too large",
    422: "Well-formed but refused",
    429: "Too many requests: the caller's share is in use, or too many attempts",
    501: "Not included in this server, or not configured (the message says how)",
    502: "A service the server called failed (the language model of an AI prompt)",
    503: "Unavailable for now",
    504: "Took longer than the time limit",
    507: "Not enough free disk space",
}
# The statuses a route declares unless it says otherwise; every other error is the `default` answer.
COMMON_ERRORS = (400, 401, 403, 404, 429)
BODY_ERRORS = (413,)


@dataclass(frozen=True)
class Answer:
    """One successful answer: its status, and its body's schema by media type (None: any bytes)."""

    status: int
    description: str
    content: dict[str, Schema | None]


@dataclass(frozen=True)
class Declared:
    answers: tuple[Answer, ...]
    errors: tuple[int, ...] | None = None  # None: COMMON_ERRORS (and BODY_ERRORS for a method with a body)
    error_media: str = JSON
    error_schema: str = "Errors"  # or GraphQLErrors: the GraphQL endpoints' {"errors": [{"message": ...}]}
    query: dict[str, Schema] = field(default_factory=dict)  # name → schema of an optional query parameter
    upload: bool = False  # the body is a file: multipart/form-data (field `file`) or the raw bytes


def json(schema: Schema, status: int = 200, description: str = "OK") -> Answer:
    return Answer(status, description, {JSON: schema})


def named(name: str, status: int = 200, description: str = "OK") -> Answer:
    return json(ref(name), status, description)


def listing(key: str, item: str, description: str = "OK") -> Answer:
    """`{key: [item, ...]}`, the shape of every list of the API."""
    return json({"type": "object", "properties": {key: {"type": "array", "items": ref(item)}}, "required": [key]})


def html(description: str = "An HTML page") -> Answer:
    return Answer(200, description, {HTML: STR})


def text(description: str) -> Answer:
    return Answer(200, description, {TEXT: STR})


BINARY: Schema = {"type": "string", "format": "binary"}


def file(description: str, *media_types: str) -> Answer:
    """A download, in one of `media_types`."""
    return Answer(200, description, dict.fromkeys(media_types, BINARY))


def or_as(answer: Answer, media_type: str, schema: Schema) -> Answer:
    """`answer`, which may also come as `media_type` (the client's Accept header or a parameter decides)."""
    return Answer(answer.status, answer.description, {**answer.content, media_type: schema})


def redirect(description: str) -> Answer:
    return Answer(303, description, {})


def declare(*answers: Answer, **options: Any) -> Declared:
    return Declared(answers, **options)


def page(*, errors: tuple[int, ...] = (403, 404)) -> Declared:
    """A web page: HTML, its errors as HTML pages too, a caller who must log in sent to /login."""
    return declare(html(), redirect("Log in first: sent to /login"), errors=errors, error_media=HTML)
