"""Headers every response carries, so that a browser holds our pages to what they are.

- The server's own HTML pages (text/html, not a download): a Content-Security-Policy that runs
  scripts and styles from this server only (no inline ones: the templates have none, GraphiQL
  included), and frames nothing and lets nobody frame them.
- Anything else (JSON, downloads, file cells, exports, chart SVGs): a policy that allows nothing at
  all and sandboxes the document, should a browser ever render one (a BLOB cell holding HTML, an SVG
  opened directly), so user content never runs as our origin.
- Always: X-Content-Type-Options nosniff, X-Frame-Options DENY (frame-ancestors for old browsers),
  and Referrer-Policy same-origin (setup and reset keys travel in paths: they never leave for
  another site; our own origin check may still read a same-origin Referer).

A header a route set itself is left as it is. `add_headers` is called by edge.py for every response.
"""

from __future__ import annotations

from starlette.types import Message

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


ALWAYS_RAW = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in ALWAYS.items()]
PAGE_POLICY_RAW = PAGE_POLICY.encode("latin-1")
CONTENT_POLICY_RAW = CONTENT_POLICY.encode("latin-1")


def add_headers(message: Message) -> None:
    """Add the headers above to an `http.response.start` message, leaving those it has. One pass over
    its raw headers (Starlette's MutableHeaders looked through them once per header it set)."""
    raw = message.get("headers")
    headers: list[tuple[bytes, bytes]] = list(raw) if raw is not None else []
    present: dict[bytes, bytes] = {}
    for key, value in headers:
        present.setdefault(key.lower(), value)
    if b"content-security-policy" not in present:
        page = present.get(b"content-type", b"").startswith(b"text/html") and b"content-disposition" not in present
        headers.append((b"content-security-policy", PAGE_POLICY_RAW if page else CONTENT_POLICY_RAW))
    headers.extend(pair for pair in ALWAYS_RAW if pair[0] not in present)
    message["headers"] = headers
