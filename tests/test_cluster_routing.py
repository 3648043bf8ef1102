"""Cluster routing with three real `serve --cluster` nodes (tests/cluster_processes.py): a database created
through one node is written and read through every node, each request runs on the owner (x-airsequel-node),
GraphQL and a GraphQL subscription over WebSocket through a non-owner work; the admin API's refusals."""

from __future__ import annotations

import httpx2
import pytest

from tests.cluster_processes import Cluster, wait_for
from tests.helpers import PASSWORD
from tests.live_socket import LiveSocket

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]


def graphql(cluster: Cluster, via: str, db: str, query: str) -> httpx2.Response:
    return cluster.request(via, "POST", f"/dbs/{db}/graphql", json={"query": query})


def test_a_database_created_through_a_is_written_through_b_and_c_and_read_through_all(cluster: Cluster) -> None:
    db = cluster.create_db("a", name="routed")
    owner, epoch = cluster.placement("a", db)
    assert owner in cluster.nodes and epoch >= 1
    for via in "abc":  # every node's map says the same, and every node answers as itself when it is not forwarding
        assert cluster.placement(via, db) == (owner, epoch)
        status = cluster.request(via, "GET", "/api/status")
        assert status.status_code == 200 and status.headers.get("x-airsequel-node") == via, status.headers
    for via in "bca":
        response = cluster.write(via, db, f"from-{via}")
        assert response.status_code == 200, f"write through {via}: {response.status_code} {response.text}"
        assert response.headers.get("x-airsequel-node") == owner, f"write through {via} ran on {response.headers}"
    for via in "abc":
        response = cluster.request(via, "POST", f"/dbs/{db}/sql", json={"query": "SELECT v FROM t ORDER BY v"})
        assert response.status_code == 200, response.text
        assert response.headers.get("x-airsequel-node") == owner
        assert [row["v"] for row in response.json()["rows"]] == ["from-a", "from-b", "from-c"]
        settings = cluster.request(via, "GET", f"/api/dbs/{db}/settings")
        assert settings.status_code == 200 and settings.headers.get("x-airsequel-node") == owner, settings.text
    assert cluster.integrity_problems() == {}


def test_graphql_and_a_live_subscription_through_a_non_owner(cluster: Cluster) -> None:
    db = cluster.create_db("b", name="live")
    owner, _ = cluster.placement("b", db)
    stranger, third = (name for name in "abc" if name != owner)
    assert cluster.write(owner, db, "first").status_code == 200
    response = graphql(cluster, stranger, db, "{ t(order_by: [{v: ASC}]) { v } }")
    assert response.status_code == 200, response.text
    assert response.headers.get("x-airsequel-node") == owner
    assert response.json() == {"data": {"t": [{"v": "first"}]}}

    headers = {"Authorization": f"Bearer {cluster.token}"}
    with LiveSocket(cluster[stranger].url, f"/dbs/{db}/graphql", headers=headers) as socket:
        socket.init()
        socket.subscribe("1", "subscription { t(order_by: [{v: ASC}]) { v } }")
        assert socket.next_data("1") == {"t": [{"v": "first"}]}
        assert cluster.write(third, db, "second").status_code == 200  # through the third node
        assert socket.next_data("1") == {"t": [{"v": "first"}, {"v": "second"}]}
    assert cluster.integrity_problems() == {}


def test_the_cluster_api_is_for_server_admins_and_refuses_bad_moves(cluster: Cluster) -> None:
    db = cluster.create_db("a", name="kept")
    owner, epoch = cluster.placement("a", db)
    other = next(name for name in "abc" if name != owner)

    anonymous = httpx2.get(f"{cluster['b'].url}/api/cluster", timeout=10)
    assert anonymous.status_code == 401, anonymous.text
    with httpx2.Client(base_url=cluster["c"].url, timeout=30) as http:
        body = {"username": "mallory", "email_address": "mallory@example.org", "password": PASSWORD}
        assert http.post("/api/users", json=body).status_code == 201
        token = http.post("/api/login", json={"username": "mallory", "password": PASSWORD}).json()["sessionToken"]
        http.headers["Authorization"] = f"Bearer {token}"
        for method, path, body in (
            ("GET", "/api/cluster", None),
            ("POST", f"/api/cluster/databases/{db}/move", {"node": other}),
            ("POST", f"/api/cluster/nodes/{owner}/drain", None),
        ):
            refused = http.request(method, path, json=body)
            assert refused.status_code == 403, f"{method} {path}: {refused.status_code} {refused.text}"
            assert refused.json()["errors"], refused.text

    def move(body: object, database: str = db) -> httpx2.Response:
        return cluster.request("c", "POST", f"/api/cluster/databases/{database}/move", json=body)

    for body, status in (({"node": "nowhere"}, 400), ({"node": owner}, 409), ({}, 400), ({"node": 7}, 400)):
        refused = move(body)
        assert refused.status_code == status, f"move {body}: {refused.status_code} {refused.text}"
        errors = refused.json()["errors"]
        assert errors and all(isinstance(message, str) and message for message in errors), refused.text
    missing = move({"node": other}, "0000000000000000000000000a")
    assert missing.status_code == 404, missing.text
    assert cluster.placement("a", db) == (owner, epoch)  # nothing moved
    state = cluster.state("b")
    assert state["node"] == "b" and state["leaseSeconds"] == cluster.lease_seconds
    nodes = {node["id"]: node for node in state["nodes"]}
    assert sorted(nodes) == ["a", "b", "c"]
    assert all(node["alive"] and not node["draining"] for node in nodes.values()), nodes
    assert nodes[owner]["databases"] >= 1 and nodes[owner]["url"] == cluster[owner].url
    wait_for("replication running on every node", lambda: all(_replicating(cluster, n) for n in "abc"), 10)


def _replicating(cluster: Cluster, name: str) -> bool:
    node = next(node for node in cluster.state(name)["nodes"] if node["id"] == name)
    return bool(node["replication"]["running"])
