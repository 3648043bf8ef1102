"""Forwarding one HTTP request to the node that owns its database, streamed both ways.

A cluster node that receives a request for a database another node owns (cluster_routing.py decides
that) hands it to `Forwarder.forward`, which sends the same request to the owner and the owner's answer
back to the client as both arrive: the body in chunks, teed into a spool (forwarding_body.py: memory up to 1 MiB, then an
unnamed temporary file) so that it can be sent once more, to the database's new owner, when the first
node answers 421 (it no longer owns the database). Nothing is held whole: an upload or a download of
gigabytes passes in bounded memory.

Forwarded requests are signed (`ForwardingSignature`): the owner believes the forwarding node's word
about the client (its address and scheme, in signed x-airsequel-* headers) only when the signature,
made with a key derived from the cluster's shared secret key, verifies and is at most a minute old.
Every x-airsequel-* header a client sends is dropped before forwarding, so a client cannot forge one.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
from starlette.types import Receive, Scope, Send

from airsequel.http.forwarding_body import ClientGone, RequestBody
from airsequel.http.responses import error_response

PREFIX = "x-airsequel-"
FORWARDED_BY = "x-airsequel-forwarded-by"  # the forwarding node's id
FORWARDED_AT = "x-airsequel-forwarded-at"  # unix seconds when it signed
FORWARDED_SIGNATURE = "x-airsequel-forwarded-signature"  # hex HMAC-SHA256 (see ForwardingSignature)
FORWARDED_CLIENT = "x-airsequel-forwarded-for"  # the client's address as the forwarding node saw it (signed)
FORWARDED_SCHEME = "x-airsequel-forwarded-proto"  # http or https, as the client reached the forwarding node
MAX_AGE_SECONDS = 60
KEEPALIVE_SECONDS = 4.0  # below uvicorn's 5 s keep-alive, so a pooled connection is never one the owner just closed

# RFC 9110's hop-by-hop headers (they describe one connection, not the message), and Expect: the
# receiving node's server already answered 100-continue to the client.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
    }
)
# Headers of the owner's response that this node's server writes itself (two of them would be sent).
OWN_RESPONSE_HEADERS = frozenset({b"date", b"server"})

_KEY_CONTEXT = b"airsequel cluster forwarding"
_PREFIX_RAW = PREFIX.encode()
_SIGNED = {FORWARDED_BY.encode(), FORWARDED_AT.encode(), FORWARDED_SIGNATURE.encode()}


def raw_target(scope: Scope) -> bytes:
    """The request's path as the client sent it (percent-escapes kept) and its query string: what is
    forwarded, and what the signature covers."""
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string") or b""
    return path + (b"?" + query if query else b"")


class ForwardingSignature:
    """HMAC-SHA256, keyed with HMAC(secret key, "airsequel cluster forwarding"), over a version tag, the
    forwarding node's id, the unix time, the method, the raw path and query string, and every other
    x-airsequel-* header of the request (sorted by name, `name: value`), one per line."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_CONTEXT, hashlib.sha256).digest()

    def _sign(self, node_id: bytes, at: bytes, method: bytes, target: bytes, extra: list[tuple[bytes, bytes]]) -> str:
        lines = [b"v1", node_id, at, method.upper(), target, *(name + b": " + value for name, value in sorted(extra))]
        return hmac.new(self._key, b"\n".join(lines), hashlib.sha256).hexdigest()

    def headers(
        self,
        node_id: str,
        method: str,
        raw_path_and_query: bytes,
        extra: dict[str, str],
        *,
        at: int | None = None,
    ) -> list[tuple[bytes, bytes]]:
        """The headers to add to a forwarded request: `extra` (names must start with x-airsequel-) and
        the three signature headers. `at` (unix seconds, default now) is for tests."""
        pairs = []
        for name, value in extra.items():
            if not name.lower().startswith(PREFIX) or name.lower().encode() in _SIGNED:
                raise ValueError(f"A signed forwarding header must be named {PREFIX}*, not {name!r}")
            pairs.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        stamp = str(int(time.time()) if at is None else at).encode()
        signature = self._sign(node_id.encode("utf-8"), stamp, method.encode(), raw_path_and_query, pairs)
        return [
            *pairs,
            (FORWARDED_BY.encode(), node_id.encode("utf-8")),
            (FORWARDED_AT.encode(), stamp),
            (FORWARDED_SIGNATURE.encode(), signature.encode()),
        ]

    def verify(self, scope: Scope, *, now: float | None = None) -> str | None:
        """The forwarding node's id when the request carries a valid signature at most MAX_AGE_SECONDS
        old (either way, for clocks a little apart), else None: no signature, a forged or stale one, a
        signed header changed, added or repeated, or the method, path or query changed."""
        found: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", []):
            name = name.lower()
            if name.startswith(_PREFIX_RAW):
                if name in found:
                    return None  # which of two values was signed is not for us to guess
                found[name] = value
        node = found.pop(FORWARDED_BY.encode(), None)
        stamp = found.pop(FORWARDED_AT.encode(), None)
        given = found.pop(FORWARDED_SIGNATURE.encode(), None)
        if not node or stamp is None or given is None or not stamp.isdigit() or len(stamp) > 12:
            return None
        if abs((time.time() if now is None else now) - int(stamp)) > MAX_AGE_SECONDS:
            return None
        method = scope.get("method", "GET").encode()  # a WebSocket's scope has no method: its upgrade is a GET
        expected = self._sign(node, stamp, method, raw_target(scope), list(found.items()))
        if not hmac.compare_digest(expected.encode(), given):
            return None
        try:
            return node.decode("utf-8")
        except UnicodeDecodeError:
            return None


def adopt_forwarded_client(scope: Scope) -> None:
    """After `verify` accepted the request: take the client's address and scheme from the signed headers,
    so that throttles, shares and same-site checks see the client, not the forwarding node."""
    headers = dict((name.lower(), value) for name, value in scope.get("headers", []))
    address = headers.get(FORWARDED_CLIENT.encode())
    if address:
        scope["client"] = (address.decode("latin-1"), 0)
    scheme = headers.get(FORWARDED_SCHEME.encode(), b"").decode("latin-1")
    if scheme in ("http", "https"):
        scope["scheme"] = scheme if scope["type"] == "http" else {"http": "ws", "https": "wss"}[scheme]


def client_headers(scope: Scope, *, keep: frozenset[bytes] | None = None) -> list[tuple[bytes, bytes]]:
    """The client's headers to pass on: hop-by-hop ones (and those its Connection header names) and every
    x-airsequel-* header dropped, X-Forwarded-For extended with the client's address. `keep`: only
    these names (the WebSocket side)."""
    headers = [(name.lower(), value) for name, value in scope.get("headers", [])]
    named = {
        token.strip().lower().encode("latin-1")
        for name, value in headers
        if name == b"connection"
        for token in value.decode("latin-1").split(",")
    }
    chain = [value for name, value in headers if name == b"x-forwarded-for"]
    client = scope.get("client")
    if client:
        chain.append(str(client[0]).encode("latin-1"))
    kept = [
        (name, value)
        for name, value in headers
        if name not in HOP_BY_HOP
        and name not in named
        and name != b"x-forwarded-for"
        and not name.startswith(_PREFIX_RAW)
        and (keep is None or name in keep)
    ]
    if chain:
        kept.append((b"x-forwarded-for", b", ".join(chain)))
    return kept


def forwarded_facts(scope: Scope) -> dict[str, str]:
    """The signed headers that tell the owner who the client is."""
    scheme = str(scope.get("scheme", "http"))
    facts = {FORWARDED_SCHEME: {"ws": "http", "wss": "https"}.get(scheme, scheme)}
    client = scope.get("client")
    if client:
        facts[FORWARDED_CLIENT] = str(client[0])
    return facts


class ForwardingCut(Exception):
    """The owner's response broke off after it had started: the client's response is cut (its server
    closes the connection), which is all HTTP allows once the status has gone out."""


def _unreachable(target: str, error: BaseException) -> str:
    if isinstance(error, httpx2.TimeoutException):
        return f"Node {target} did not answer: timed out ({type(error).__name__})"
    return f"Node {target} did not answer: {str(error) or type(error).__name__}"


class Forwarder:
    """Forwards HTTP requests to other nodes through one connection pool (HTTP/1.1, no redirects followed,
    no cookies kept, no proxy from the environment, the response body passed on as it came)."""

    def __init__(
        self,
        *,
        node_id: str,
        signature: ForwardingSignature,
        spool_dir: Path,
        connect_timeout: float = 5.0,
        idle_timeout: float = 300.0,
    ) -> None:
        self.node_id = node_id
        self.signature = signature
        self.spool_dir = spool_dir
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        # A jar that accepts no cookie: a Set-Cookie of one user's answer must never ride along with the
        # next user's request.
        jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(idle_timeout, connect=connect_timeout, pool=connect_timeout),
            limits=httpx2.Limits(
                max_connections=None, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_SECONDS
            ),
            follow_redirects=False,
            trust_env=False,
            cookies=jar,
        )
        for name in list(self.client.headers.keys()):  # no Accept-Encoding, User-Agent... of httpx's own
            del self.client.headers[name]

    async def aclose(self) -> None:
        await self.client.aclose()

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        target: str,
        retarget: Callable[[], Awaitable[str | None]],
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """Proxy one HTTP request to `target` (a base URL); see the module's docstring and
        docs/cluster-forwarding.md. Raises ForwardingCut when the owner's response broke off midway."""
        body = RequestBody(scope, receive, self.spool_dir)
        path = raw_target(scope)
        headers = client_headers(scope) + self.signature.headers(
            self.node_id, scope["method"], path, {**forwarded_facts(scope), **(extra_headers or {})}
        )
        outcome: list[BaseException] = []
        try:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    await body.until_disconnect()
                    group.cancel_scope.cancel()  # the client left: stop the request to the owner

                group.start_soon(watch)
                try:
                    await self._exchange(scope, receive, send, body, path, headers, target, retarget, outcome)
                finally:
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as group:  # anyio wraps even the host task's error: give the caller its own
            raise (group.exceptions[0] if len(group.exceptions) == 1 else group) from None
        finally:
            body.close()
        if outcome:
            raise ForwardingCut(f"The response of node {target} broke off: {outcome[0]}") from outcome[0]

    async def _exchange(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: RequestBody,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        target: str,
        retarget: Callable[[], Awaitable[str | None]],
        outcome: list[BaseException],
    ) -> None:
        response = await self._open(scope, receive, send, body, path, headers, target, replay=False)
        if response is None:
            return
        if response.status_code == 421:
            await response.aclose()
            body.spooling = False  # one replay at most: what arrives from now on is not kept
            second = await retarget()
            if second is None:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    f"Node {target} no longer owns this database, and no other owner is known yet: try again",
                )
                return
            response = await self._open(scope, receive, send, body, path, headers, second, replay=True)
            if response is None:
                return
            if response.status_code == 421:
                await response.aclose()
                await self._refuse(
                    scope,
                    receive,
                    send,
                    f"Nodes {target} and {second} both answered that they do not own this database: the cluster is moving it, try again",
                )
                return
        body.release()  # the owner answered: whatever of the body it did not read is dropped
        await self._relay(response, send, outcome)

    async def _open(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: RequestBody,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        target: str,
        *,
        replay: bool,
    ) -> httpx2.Response | None:
        """Send the request and wait for the response's head; None when it was answered here (503) or the
        client is gone."""
        content: Any = body.chunks(replay=replay) if body.present else b""
        try:
            request = self.client.build_request(
                scope["method"], target, headers=headers, content=content, extensions={"target": path}
            )
            return await self.client.send(request, stream=True)
        except ClientGone:
            return None
        except (httpx2.HTTPError, httpx2.InvalidURL) as error:
            await self._refuse(scope, receive, send, _unreachable(target, error))
            return None

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        await error_response(503, message, headers={"retry-after": "1"})(scope, receive, send)

    async def _relay(self, response: httpx2.Response, send: Send, outcome: list[BaseException]) -> None:
        named = {
            token.strip().lower().encode("latin-1")
            for token in ",".join(response.headers.get_list("connection")).split(",")
            if token.strip()
        }
        headers = [
            (name.lower(), value)
            for name, value in response.headers.raw
            if name.lower() not in HOP_BY_HOP and name.lower() not in OWN_RESPONSE_HEADERS and name.lower() not in named
        ]
        try:
            await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx2.HTTPError as error:
            outcome.append(error)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
