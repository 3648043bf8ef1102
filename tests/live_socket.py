"""A `graphql-transport-ws` client for the live-query tests (the `websockets` package, synchronous)."""

from __future__ import annotations

import json
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


def socket_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://", 1) + path


class LiveSocket:
    """One socket; `init()` sends connection_init and waits for the ack."""

    def __init__(
        self,
        base: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        origin: str | None = None,
        subprotocols: list[str] | None = None,
    ) -> None:
        opened = connect(
            socket_url(base, path),
            subprotocols=[PROTOCOL] if subprotocols is None else subprotocols,  # type: ignore[list-item]
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            proxy=None,
            open_timeout=10,
        )
        self.ws: ClientConnection = opened.__enter__()  # type: ignore[assignment]

    def send(self, message: dict[str, Any] | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))

    def init(self, payload: dict[str, Any] | None = None) -> LiveSocket:
        self.send({"type": "connection_init", **({"payload": payload} if payload is not None else {})})
        assert self.receive() == {"type": "connection_ack"}
        return self

    def subscribe(self, identifier: str, query: str, variables: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        self.send({"type": "subscribe", "id": identifier, "payload": payload})

    def next_data(self, identifier: str, timeout: float = 10) -> Any:
        """The data of the next message, which must be `next` for `identifier`."""
        message = self.receive(timeout)
        assert message["type"] == "next" and message["id"] == identifier, message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    def silent_for(self, seconds: float) -> bool:
        try:
            message = self.ws.recv(timeout=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"expected nothing, got {message}")

    def closed_with(self, timeout: float = 10) -> tuple[int, str]:
        """The close code and reason, once the server closed (messages before it are skipped)."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, closed
            return closed.rcvd.code, closed.rcvd.reason

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> LiveSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
