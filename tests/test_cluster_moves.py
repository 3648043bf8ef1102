"""Planned moves with three real `serve --cluster` nodes (tests/cluster_processes.py): a move of one database
(`POST /api/cluster/databases/<id>/move`) and a drain of a node (`POST /api/cluster/nodes/<id>/drain`), each under
a steady write load from three client threads through all nodes, lose no acknowledged write and answer no 5xx."""

from __future__ import annotations

import time

import pytest

from tests.cluster_processes import Cluster, WriteLoad, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]


def move(cluster: Cluster, via: str, db: str, target: str) -> tuple[dict[str, object], float]:
    started = time.monotonic()
    response = cluster.request(via, "POST", f"/api/cluster/databases/{db}/move", timeout=60, json={"node": target})
    assert response.status_code == 200, f"move to {target}: {response.status_code} {response.text}"
    return response.json(), time.monotonic() - started


def databases_on(cluster: Cluster, via: str, node: str) -> int:
    return int(next(n for n in cluster.state(via)["nodes"] if n["id"] == node)["databases"])


def test_a_move_and_a_drain_under_load_lose_nothing_and_answer_no_5xx(cluster: Cluster) -> None:
    loaded = cluster.create_db("a", name="loaded")
    idle = cluster.create_db("b", name="idle")
    for value in ("one", "two", "three"):
        assert cluster.write("c", idle, value).status_code == 200
    owner, epoch = cluster.placement("a", loaded)
    target = next(name for name in "abc" if name != owner)
    with WriteLoad(cluster, loaded, list("abc"), threads=3) as load:
        wait_for("writes before the move", lambda: len(load.acknowledged()) >= 20, 20)
        moved, move_seconds = move(cluster, "c" if owner != "c" else "a", loaded, target)
        assert moved == {"id": loaded, "node": target, "epoch": epoch + 1}, moved
        if cluster.placement("a", idle)[0] != target:
            move(cluster, "a", idle, target)
        time.sleep(1.0)
        before_drain = len(load.acknowledged())

        drain_started = time.monotonic()
        response = cluster.request("b", "POST", f"/api/cluster/nodes/{target}/drain", timeout=30)
        assert response.status_code == 202, f"{response.status_code} {response.text}"
        body = response.json()
        assert body["node"] == target and body["draining"] is True and body["databases"] == 2, body
        wait_for(f"{target} drained", lambda: databases_on(cluster, "a", target) == 0, 60, step=0.2)
        drain_seconds = time.monotonic() - drain_started
        time.sleep(1.0)
    attempts = load.attempts
    statuses = load.statuses()
    for db in (loaded, idle):
        node, _ = cluster.placement("a", db)
        assert node != target, f"{db} still on the drained node {target}"
    present = set(cluster.values("a", loaded))
    acknowledged = [a.value for a in attempts if a.status == 200]
    print(
        f"\nmove {owner}->{target} under load: {move_seconds:.2f} s; drain of {target} (2 databases):"
        f" {drain_seconds:.2f} s; {len(attempts)} writes, statuses {statuses}, {before_drain} acknowledged before"
        " the drain"
    )
    assert [a for a in attempts if a.status >= 500 or a.status == 0][:5] == [], statuses
    assert [v for v in acknowledged if v not in present] == [], "acknowledged writes lost"
    assert len(acknowledged) == len(attempts), f"refused writes during planned moves: {statuses}"
    assert cluster.values("b", idle) == ["one", "three", "two"]
    state = cluster.state("c")
    assert next(n for n in state["nodes"] if n["id"] == target)["draining"] is True
    undrained = cluster.request("c", "DELETE", f"/api/cluster/nodes/{target}/drain")
    assert undrained.status_code in (200, 204), undrained.text
    assert next(n for n in cluster.state("a")["nodes"] if n["id"] == target)["draining"] is False
    assert cluster.integrity_problems() == {}
