"""The small real servers tests/test_forwarding.py forwards between, each run as its own uvicorn process:

    python -m tests.forwarding_apps target --name a --port P --secret S
    python -m tests.forwarding_apps front --port P --secret S --spool DIR

A target echoes what reached it (method, raw path, query, headers, the body's length and SHA-256, whether the
forwarding signature verifies), answers any status, streams large bodies, answers 421 when `?refuse=` names it,
breaks a response off, and is a WebSocket echo speaking graphql-transport-ws. The front forwards every request to
the URL in its `x-test-target` header (after a 421, to `x-test-retarget`, if given) through Forwarder /
forward_websocket, and reports its own memory at /__front/memory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import uvicorn
from starlette.types import Receive, Scope, Send

from airsequel.http.forwarding import Forwarder, ForwardingSignature
from airsequel.http.socket_forwarding import forward_websocket

PROTOCOL = "graphql-transport-ws"
PATTERN = bytes(range(256)) * 4096  # 1 MiB
IDLE_SECONDS = 1.5  # the front's idle_timeout: an owner silent that long has not answered


def pattern_bytes(size: int) -> list[bytes]:
    """The download body of `size` bytes, as the target sends it (1 MiB chunks)."""
    chunks = [PATTERN] * (size // len(PATTERN))
    if size % len(PATTERN):
        chunks.append(PATTERN[: size % len(PATTERN)])
    return chunks


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [(b"content-length", str(len(body)).encode())] if status not in (204, 304) else []
    await send({"type": "http.response.start", "status": status, "headers": (headers or []) + head})
    await send({"type": "http.response.body", "body": body if status not in (204, 304) else b""})


def target_app(name: str, secret: str) -> Any:
    signature = ForwardingSignature(secret)
    socket_closes: list[list[Any]] = []
    download_stops: list[int] = []
    mine = [(b"x-airsequel-node", name.encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "websocket":
            await socket(scope, receive, send)
            return
        query = parse_qs(scope["query_string"].decode())
        path = scope["path"]
        if name in ",".join(query.get("refuse", [])).split(","):
            await respond(send, 421, orjson.dumps({"errors": [f"{name} does not own it"]}), mine)
            return
        if path.startswith("/status/"):
            status = int(path.removeprefix("/status/"))
            body = orjson.dumps({"errors": [f"status {status}"]})
            await respond(send, status, body, [*mine, (b"content-type", b"application/json"), (b"x-test", b"1")])
        elif path == "/empty":
            await respond(send, 200, b"", mine)
        elif path == "/gzip":
            body = gzip.compress(orjson.dumps({"packed": "x" * 1000}))
            await respond(
                send, 200, body, [*mine, (b"content-encoding", b"gzip"), (b"content-type", b"application/json")]
            )
        elif path == "/cookie":
            await respond(send, 200, b"{}", [*mine, (b"set-cookie", b"session=secret-of-one-user; Path=/")])
        elif path == "/download":
            await download(scope, send, int(query["size"][0]), "chunked" in query)
        elif path == "/slow":
            await asyncio.sleep(float(query["seconds"][0]))
            await respond(send, 200, b"late", mine)
        elif path == "/endless":
            await endless(receive, send)
        elif path == "/cut":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            await send({"type": "http.response.body", "body": b"0123456789", "more_body": True})
            raise RuntimeError("the target breaks its response off on purpose")
        elif path == "/ws-closes":
            await respond(send, 200, orjson.dumps(socket_closes))
        elif path == "/download-stops":
            await respond(send, 200, orjson.dumps(download_stops))
        else:
            await echo(scope, receive, send)

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        digest, size, kept = hashlib.sha256(), 0, bytearray()
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            digest.update(chunk)
            size += len(chunk)
            if len(kept) < 65536:
                kept += chunk[: 65536 - len(kept)]
            if not message.get("more_body"):
                break
        answer = {
            "node": name,
            "method": scope["method"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "verified": signature.verify(scope),
            "length": size,
            "sha256": digest.hexdigest(),
            "body": base64.b64encode(bytes(kept)).decode(),
        }
        await respond(send, 200, orjson.dumps(answer), [*mine, (b"content-type", b"application/json")])

    async def download(scope: Scope, send: Send, size: int, chunked: bool) -> None:
        head = [] if chunked else [(b"content-length", str(size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": [*mine, *head]})
        if scope["method"] != "HEAD":
            for chunk in pattern_bytes(size):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def endless(receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        await send({"type": "http.response.start", "status": 200, "headers": mine})
        sent = 0
        while not gone.is_set():
            await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})
            sent += 1
            await asyncio.sleep(0.01)
        download_stops.append(sent)
        watcher.cancel()

    async def socket(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        if scope["path"] == "/ws-refuse":
            await send({"type": "websocket.close", "code": 1008})
            return
        offered = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": PROTOCOL if PROTOCOL in offered else None})
        hello = {
            "node": name,
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "verified": signature.verify(scope),
            "subprotocols": offered,
        }
        await send({"type": "websocket.send", "text": orjson.dumps(hello).decode()})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                socket_closes.append([message.get("code"), message.get("reason") or ""])
                return
            text = message.get("text")
            if text is not None and text.startswith("close "):
                _, code, reason = text.split(" ", 2)
                await send({"type": "websocket.close", "code": int(code), "reason": reason})
                return
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})

    return app


def memory() -> dict[str, int]:
    """This process's resident memory now and at its peak since the last reset, in KiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"rss_kb": int(fields["VmRSS"].split()[0]), "hwm_kb": int(fields["VmHWM"].split()[0])}


def front_app(secret: str, spool: Path) -> Any:
    signature = ForwardingSignature(secret)
    forwarder = Forwarder(
        node_id="front", signature=signature, spool_dir=spool, connect_timeout=2.0, idle_timeout=IDLE_SECONDS
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await forwarder.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if scope["path"] == "/__front/memory":
            await respond(send, 200, orjson.dumps(memory()))
            return
        if scope["path"] == "/__front/reset-peak":
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from the current RSS
            await respond(send, 200, orjson.dumps(memory()))
            return
        target = headers["x-test-target"]
        if scope["type"] == "websocket":
            await forward_websocket(scope, receive, send, target=target, signature=signature, node_id="front")
            return

        async def retarget() -> str | None:
            return headers.get("x-test-retarget")

        await forwarder.forward(scope, receive, send, target=target, retarget=retarget)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["target", "front"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--name", default="front")
    parser.add_argument("--spool", type=Path)
    arguments = parser.parse_args()
    if arguments.role == "target":
        app = target_app(arguments.name, arguments.secret)
    else:
        app = front_app(arguments.secret, arguments.spool)
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning", lifespan="on", proxy_headers=False)


if __name__ == "__main__":
    main()
