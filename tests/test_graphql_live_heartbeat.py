"""The live-query socket's heartbeat, in-process with a short interval: the server pings an
acknowledged socket, and closes one that stays silent for three intervals (4504)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from airsequel.http import graphql_socket
from tests.helpers import create_db


def test_the_server_pings_and_closes_a_silent_socket(client: TestClient, monkeypatch):
    monkeypatch.setattr(graphql_socket, "HEARTBEAT_SECONDS", 0.2)
    db_id = create_db(client, "CREATE TABLE t(a)")
    with client.websocket_connect(f"/dbs/{db_id}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        assert ws.accepted_subprotocol == "graphql-transport-ws"
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        assert ws.receive_json() == {"type": "ping"}
        ws.send_json({"type": "pong"})  # an answer counts as hearing from the client
        assert ws.receive_json() == {"type": "ping"}
        # Then silence: pings go on until three intervals without a message, then the close.
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                assert ws.receive_json() == {"type": "ping"}
        assert closed.value.code == 4504 and closed.value.reason == "No message for three heartbeats"
