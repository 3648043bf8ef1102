"""The Host check's answers are remembered per distinct (Host, allowedHosts, local address): a change of
allowedHosts at run time holds on the very next request, and many Host values cannot grow the memory."""

from __future__ import annotations

import pytest

from airsequel.core.admin.server_settings import HOST_ANSWERS, cached_host_refusal


def test_a_remembered_answer_never_outlives_a_change_of_allowed_hosts(client):
    assert client.patch("/api/settings", json={"allowedHosts": ["db.example.org", "testserver"]}).status_code == 200
    for _ in range(3):  # answered, and now remembered
        assert client.get("/api/status", headers={"Host": "db.example.org"}).status_code == 200
    assert client.patch("/api/settings", json={"allowedHosts": ["testserver"]}).status_code == 200
    refused = client.get("/api/status", headers={"Host": "db.example.org"})
    assert refused.status_code == 403
    assert refused.json() == {"errors": ["The host 'db.example.org' is not in this server's allowedHosts"]}
    assert client.patch("/api/settings", json={"allowedHosts": ["db.example.org", "testserver"]}).status_code == 200
    assert client.get("/api/status", headers={"Host": "db.example.org"}).status_code == 200


def test_many_host_values_keep_a_bounded_memory_and_the_same_answers():
    allowed = ("db.example.org",)
    for n in range(HOST_ANSWERS * 3):
        assert cached_host_refusal(f"h{n}.example", allowed, "192.0.2.1") is not None
    assert cached_host_refusal.cache_info().currsize <= HOST_ANSWERS
    assert cached_host_refusal("db.example.org:8080", allowed, "192.0.2.1") is None
    assert "not a host name" in (cached_host_refusal("db.example.org:@evil", allowed, "192.0.2.1") or "")


def test_a_websocket_from_a_host_not_allowed_is_closed_before_it_is_accepted(client):
    """DNS rebinding through a WebSocket (GraphQL live queries): the Host check covers the upgrade too."""
    from starlette.websockets import WebSocketDisconnect

    assert client.patch("/api/settings", json={"allowedHosts": ["testserver"]}).status_code == 200
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/dbs/any/graphql", headers={"Host": "rebound.example"}):
            pass
    assert refused.value.code == 1008
