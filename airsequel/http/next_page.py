"""Where a browser goes once logged in: the `?next=` of the login page, when it is a path on this
server ("/dbs/...", never "//other.example/..." or "https://..."); else home.

The login form (static/app.js) logs in through the JSON API and then opens "/". Our pages send
their full address as the Referer to pages of the same origin (Referrer-Policy same-origin, see
security_headers.py), so "/" learns from it which login page the browser came from, and its
`next`. A Referer from another site is never a full address, so no other site can steer this."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

from airsequel.http.context import from_this_site

LOGIN_PATHS = ("/login", "/signup")


def safe_next(value: str | None) -> str | None:
    """`value` when it is a relative path on this server, else None."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def requested_next(request: Request) -> str | None:
    """The safe `next` of this request's own query string."""
    return safe_next(request.query_params.get("next"))


def next_after_login(request: Request) -> str | None:
    """The safe `next` of the login page this browser just came from (its same-origin Referer)."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    if not from_this_site(referer, request.headers.get("host", ""), request.url.scheme):
        return None
    parts = urlsplit(referer)
    if parts.path not in LOGIN_PATHS:
        return None
    values = parse_qs(parts.query).get("next")
    return safe_next(values[0]) if values else None
