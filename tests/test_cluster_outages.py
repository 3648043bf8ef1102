"""Outages of what a cluster depends on, with three real `serve --cluster` nodes (tests/cluster_processes.py):
a restart of PostgreSQL (the control plane: same port and data directory) and of the S3 endpoint (moto behind a
gate that refuses connections and cuts the open ones, then listens again with the bucket intact). Requests during
the outage may be refused with 503, never 500; afterwards writes succeed through every node and reach the replica:
a new node that the database is moved to restores every acknowledged write.

The lease is 6 s here, longer than the outages (about 2 s of PostgreSQL down, 3 s of S3 down): the nodes are
meant to ride them out, not to give their databases up."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest

from tests.cluster_processes import (
    Cluster,
    ClusterBackends,
    WriteLoad,
    start_postgres_again,
    stop_postgres,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]

LEASE_SECONDS = 6.0
POSTGRES_DOWN_SECONDS = 2.0
S3_DOWN_SECONDS = 3.0


def writes_succeed_everywhere(cluster: Cluster, db: str, tag: str) -> float:
    """Seconds until a write through each of a, b and c is acknowledged (retried every 0.1 s, 30 s at most)."""
    started = time.monotonic()
    numbers = iter(range(100_000))

    def one_write(via: str) -> bool:
        return cluster.write(via, db, f"{tag}-after-{via}-{next(numbers)}", timeout=5).status_code == 200

    for via in "abc":
        wait_for(f"a write through {via} after the {tag}", lambda via=via: one_write(via), 30)  # type: ignore[misc]
    return time.monotonic() - started


def moved_to_a_new_node(cluster: Cluster, db: str) -> list[str]:
    """Start node d, move `db` there (it restores from the replica), and read its rows through d."""
    cluster.add_node("d")
    wait_for(
        "d alive in the cluster", lambda: any(n["id"] == "d" and n["alive"] for n in cluster.state("a")["nodes"]), 15
    )
    response = cluster.request("a", "POST", f"/api/cluster/databases/{db}/move", timeout=60, json={"node": "d"})
    assert response.status_code == 200, f"{response.status_code} {response.text}\n{cluster.logs()}"
    assert response.json()["node"] == "d"
    read = cluster.request("d", "POST", f"/dbs/{db}/sql", json={"query": "SELECT v FROM t ORDER BY v"})
    listing = "\n".join(f"{key} {size}" for key, size in cluster.backends.replica_objects(cluster.replica_url))
    assert read.status_code == 200, f"{read.status_code} {read.text}\nreplica:\n{listing}\n{cluster.logs()}"
    return [row["v"] for row in read.json()["rows"]]


def test_a_postgresql_restart(cluster: Cluster, backends: ClusterBackends) -> None:
    db = cluster.create_db("a", name="through-postgres")
    owner, _ = cluster.placement("a", db)
    with WriteLoad(cluster, db, list("abc"), threads=3) as load:
        wait_for("writes before the outage", lambda: len(load.acknowledged()) >= 20, 20)
        down_at = time.monotonic()
        stop_postgres(backends.postgres)
        reads: dict[int, int] = {}
        refusals: list[str] = []
        try:
            with cluster.http(owner, timeout=10) as http:  # reads straight from the owner meanwhile
                while time.monotonic() < down_at + POSTGRES_DOWN_SECONDS:
                    try:
                        answer = http.post(f"/dbs/{db}/sql", json={"query": "SELECT count(*) FROM t"})
                        status = answer.status_code
                        if status != 200 and len(refusals) < 3:
                            refusals.append(answer.text[:200])
                    except httpx2.HTTPError:
                        status = 0
                    reads[status] = reads.get(status, 0) + 1
                    time.sleep(0.05)
        finally:
            start_postgres_again(backends.postgres)
            up_at = time.monotonic()
        recovery = writes_succeed_everywhere(cluster, db, "postgres")
        time.sleep(0.5)
    during = [a for a in load.attempts if a.sent >= down_at and a.sent <= up_at]
    statuses = load.statuses()
    during_statuses = sorted({a.status for a in during})
    created = cluster.create_db("b", name="after-postgres")
    assert cluster.write("c", created, "new").status_code == 200
    values = set(moved_to_a_new_node(cluster, db))
    acknowledged = [a.value for a in load.attempts if a.status == 200]
    print(
        f"\nPostgreSQL down {up_at - down_at:.2f} s (lease {LEASE_SECONDS:g} s), owner {owner}:"
        f" statuses during {during_statuses} ({sum(1 for a in during if a.status == 200)} of {len(during)}"
        f" acknowledged), overall {statuses}; reads from the owner meanwhile {reads}; writes through all nodes"
        f" again {recovery:.2f} s after it was back"
    )
    assert set(reads) <= {200, 503}, (reads, refusals)
    if refusals:
        print(f"read refusals during the outage: {refusals}")
    assert [a for a in load.attempts if a.status not in (200, 503)][:5] == [], f"{statuses}\n{cluster.logs()}"
    assert [v for v in acknowledged if v not in values] == [], "acknowledged writes missing on the new node"
    assert cluster.integrity_problems() == {}


def test_an_s3_outage(cluster: Cluster, backends: ClusterBackends, tmp_path: Path) -> None:
    db = cluster.create_db("a", name="through-s3")
    owner, first_epoch = cluster.placement("a", db)
    with WriteLoad(cluster, db, list("abc"), threads=3) as load:
        wait_for("writes before the outage", lambda: len(load.acknowledged()) >= 20, 20)
        down_at = time.monotonic()
        backends.gate.close()
        try:
            time.sleep(S3_DOWN_SECONDS)
        finally:
            backends.gate.open()
            up_at = time.monotonic()
        recovery = writes_succeed_everywhere(cluster, db, "s3")
        time.sleep(1.0)
    during = [a for a in load.attempts if down_at <= a.sent <= up_at]
    served = sum(1 for a in during if a.status == 200)
    lag = wait_for(
        "replication caught up on every node",
        lambda: _lag_when_caught_up(cluster),
        30,
        step=0.5,
    )
    # The owner saw Litestream fall behind its writes: once it ships again, the file replicates as a new
    # epoch from a fresh snapshot (core/cluster/reseeding.py), not on the stream the outage interrupted.
    wait_for(
        "a new epoch from a fresh snapshot after the outage",
        lambda: cluster.placement("a", db)[1] > first_epoch or None,
        20,
        step=0.2,
    )
    print(f"\nre-seeded {time.monotonic() - up_at:.2f} s after the store was back")
    time.sleep(2.5)  # what was acknowledged until now is shipped in the new epoch's stream
    shipped_before = time.monotonic() - 2.0
    _, epoch = cluster.placement("a", db)
    problems, streamed = cluster.restored_values(epoch, tmp_path / "streamed.sqlite")
    values = set(moved_to_a_new_node(cluster, db))
    acknowledged = [a.value for a in load.attempts if a.status == 200]
    unshipped = [a.value for a in load.attempts if a.status == 200 and a.answered < shipped_before]
    unshipped = [v for v in unshipped if v not in streamed]
    print(
        f"\nS3 down {up_at - down_at:.2f} s, owner {owner}: {served} of {len(during)} writes during it acknowledged,"
        f" statuses {load.statuses()}; writes through all nodes {recovery:.2f} s after; replication lag then"
        f" {lag}"
    )
    assert [a for a in load.attempts if a.status not in (200, 503)][:5] == [], f"{load.statuses()}\n{cluster.logs()}"
    assert served > 0, "no write was served while S3 was down: the owner should keep serving what it owns"
    # Litestream's own stream caught up (a move hands over a fresh snapshot, so it alone would not show it).
    assert problems == ["ok"], f"the replica of epoch {epoch} restores to a damaged file: {problems[:5]}"
    assert unshipped == [], f"{len(unshipped)} writes acknowledged 2 s before were not in the replica's stream"
    assert [v for v in acknowledged if v not in values] == [], "acknowledged writes missing on the new node"
    assert cluster.integrity_problems() == {}


def _lag_when_caught_up(cluster: Cluster) -> dict[str, float | None]:
    """Each node's replication lag once every node replicates, with at most 3 s of lag on the nodes that own a
    database (else AssertionError, with what GET /api/cluster said, for wait_for's message)."""
    nodes = {str(node["id"]): node for node in cluster.state("a")["nodes"]}
    lags: dict[str, float | None] = {}
    for name, node in nodes.items():
        replication = node["replication"]
        lag = replication.get("maxLagSeconds")
        if not replication.get("running") or (node["databases"] and (lag is None or lag > 3)):
            raise AssertionError(f"replication: { {n: (v['databases'], v['replication']) for n, v in nodes.items()} }")
        lags[name] = lag
    return lags


def test_a_database_created_while_s3_is_away_is_refused_and_nothing_is_left(
    cluster: Cluster, backends: ClusterBackends
) -> None:
    before = cluster.request("a", "GET", "/api/dbs").json()
    backends.gate.close()
    try:
        started = time.monotonic()
        refused = cluster.request("a", "POST", "/api/dbs", timeout=60, json={"name": "unshipped"})
        waited = time.monotonic() - started
    finally:
        backends.gate.open()
    print(f"\na creation with S3 away: {refused.status_code} after {waited:.1f} s")
    assert refused.status_code == 503, refused.text
    assert "could not be shipped to the replica" in refused.json()["errors"][0]
    assert cluster.request("b", "GET", "/api/dbs").json() == before  # nothing registered
    assert cluster.database_files() == []  # nor left on any node
    created = cluster.request("c", "POST", "/api/dbs", timeout=60, json={"name": "shipped"})
    assert created.status_code == 201, created.text
    assert cluster.integrity_problems() == {}
