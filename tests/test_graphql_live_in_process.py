"""Live-query sockets in-process: the heartbeat (with a short interval: the server pings an
acknowledged socket, and closes one that stays silent for three intervals, 4504), and a member
removed from a team losing their live queries on the team's database."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from airsequel.http import graphql_socket
from tests.helpers import acme_team, create_db


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


def test_a_member_removed_from_the_team_loses_their_live_queries(client: TestClient):
    sessions = acme_team(client)
    made = client.post("/api/dbs", headers=sessions["adam"], json={"name": "team", "query": "CREATE TABLE t(a)"})
    db_id = made.json()["id"]
    moved = client.patch(f"/api/dbs/{db_id}", headers=sessions["adam"], json={"owner": "acme"})
    assert moved.status_code == 200, moved.text
    path = f"/dbs/{db_id}/graphql"
    with client.websocket_connect(path, subprotocols=["graphql-transport-ws"], headers=sessions["vera"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"type": "subscribe", "id": "v", "payload": {"query": "subscription { t_aggregate { count } }"}})
        assert ws.receive_json() == {"type": "next", "id": "v", "payload": {"data": {"t_aggregate": {"count": 0}}}}
        removed = client.delete("/api/teams/acme/members/vera", headers=sessions["adam"])
        assert removed.status_code in (200, 204), removed.text
        assert ws.receive_json() == {
            "type": "error",
            "id": "v",
            "payload": [{"message": f'Database "{db_id}" does not exist'}],
        }
        # Her session is still good: the socket stays open, and answers as it would over HTTP.
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_a_deleted_database_ends_its_live_queries(client: TestClient):
    db_id = create_db(client, "CREATE TABLE t(a)")
    with client.websocket_connect(f"/dbs/{db_id}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"type": "subscribe", "id": "d", "payload": {"query": "subscription { t { a } }"}})
        assert ws.receive_json() == {"type": "next", "id": "d", "payload": {"data": {"t": []}}}
        assert client.delete(f"/api/dbs/{db_id}").status_code in (200, 204)
        ended = ws.receive_json()
        assert ended["type"] == "error" and ended["id"] == "d", ended
        assert "does not exist" in ended["payload"][0]["message"]
    assert client.app.state.live_queries.open_count() == 0  # type: ignore[attr-defined]


def test_a_subscription_takes_variables_and_its_errors_point_into_the_text_as_sent(client: TestClient):
    db_id = create_db(client, "CREATE TABLE t(a TEXT); INSERT INTO t VALUES ('x'), ('y'), ('z')")
    with client.websocket_connect(f"/dbs/{db_id}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        query = "subscription Two($n: Int) { t(limit: $n) { a } }"
        ws.send_json({"type": "subscribe", "id": "v", "payload": {"query": query, "variables": {"n": 2}}})
        assert ws.receive_json() == {"type": "next", "id": "v", "payload": {"data": {"t": [{"a": "x"}, {"a": "y"}]}}}
        ws.send_json({"type": "subscribe", "id": "e", "payload": {"query": "subscription {\n  t { nope }\n}"}})
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["id"] == "e", refused
        assert refused["payload"][0]["locations"] == [{"line": 2, "column": 7}]
        ws.send_json({"type": "subscribe", "id": "w", "payload": {"query": query, "variables": {"n": "two"}}})
        refused = ws.receive_json()
        assert refused["type"] == "error" and "$n" in refused["payload"][0]["message"], refused
