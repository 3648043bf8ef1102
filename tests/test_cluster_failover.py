"""Failover with three real `serve --cluster` nodes, lease 3 s (tests/cluster_processes.py).

SIGKILL of a database's owner: another node serves it within the lease plus the restore, with every write
acknowledged more than SYNC_MARGIN before the kill (default durability) or every acknowledged write
(`durability: "replicated"`). SIGSTOP of an owner past its lease, then SIGCONT: the stopped node never again
accepts a write for the database it lost (refused with 503, or forwarded to the new owner), and the new owner has
every acknowledged write. Each measured figure is printed (pytest -s shows it)."""

from __future__ import annotations

import time

import pytest

from tests.cluster_processes import (
    Attempt,
    Cluster,
    WriteLoad,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]

LEASE_SECONDS = 3.0
# Litestream's sync interval (about 1 s) plus margin: a write acknowledged earlier than this before the kill of
# its owner must survive at the default durability.
SYNC_MARGIN = 2.0
# The contract: the lease runs out, about 1 s later a survivor reassigns, the new owner restores from the replica.
# What a restore of a small file may take on a loaded 2-core machine, on top.
RESTORE_BUDGET = 8.0
# How long the load writes before the kill: long enough for a few hundred rows over more than ten pages.
LOAD_SECONDS = 4.0


def replicated(cluster: Cluster, db: str) -> None:
    response = cluster.request("a", "PATCH", f"/api/dbs/{db}/settings", json={"durability": "replicated"})
    assert response.status_code == 200, response.text
    shown = cluster.request("b", "GET", f"/api/dbs/{db}/settings")
    assert shown.status_code == 200 and shown.json().get("durability") == "replicated", shown.text


def served_by_another(cluster: Cluster, db: str, survivor: str, former: str) -> float:
    """Seconds until a read through `survivor` is answered by a node other than `former` (polled every 0.1 s)."""
    start = time.monotonic()

    def answered() -> bool:
        response = cluster.request(survivor, "POST", f"/dbs/{db}/sql", timeout=5, json={"query": "SELECT 1"})
        if response.status_code == 200 and response.headers.get("x-airsequel-node") not in (None, former):
            return True
        raise AssertionError(f"{response.status_code} {response.headers.get('x-airsequel-node')} {response.text}")

    wait_for(f"{db} served again after {former} went away", answered, LEASE_SECONDS + 1 + RESTORE_BUDGET + 10)
    return time.monotonic() - start


def kill_the_owner_under_load(cluster: Cluster, db: str) -> tuple[str, str, float, float, list[Attempt]]:
    """Write through all three nodes, SIGKILL the owner after LOAD_SECONDS, keep writing until a survivor serves the
    database, then 1 s more. Returns (former owner, new owner, kill time, recovery seconds, attempts)."""
    owner, epoch = cluster.placement("a", db)
    survivor = next(name for name in "abc" if name != owner)
    with WriteLoad(cluster, db, list("abc"), threads=3) as load:
        wait_for("writes acknowledged before the kill", lambda: len(load.acknowledged()) >= 20, 20)
        time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - load.attempts[0].sent)))
        killed_at = time.monotonic()
        cluster[owner].kill()
        recovery = served_by_another(cluster, db, survivor, owner)
        time.sleep(1.0)
    new_owner, new_epoch = cluster.placement(survivor, db)
    assert new_owner != owner and new_epoch > epoch, (owner, epoch, new_owner, new_epoch)
    assert recovery <= LEASE_SECONDS + 1 + RESTORE_BUDGET, f"recovery took {recovery:.2f} s\n{cluster.logs()}"
    return owner, new_owner, killed_at, recovery, load.attempts


def test_sigkill_of_the_owner_keeps_every_write_acknowledged_before_the_sync_interval(cluster: Cluster) -> None:
    db = cluster.create_db("a", name="killed")
    owner, new_owner, killed_at, recovery, attempts = kill_the_owner_under_load(cluster, db)
    present = set(cluster.values(new_owner, db))
    acknowledged = [a for a in attempts if a.status == 200]
    old = [a.value for a in acknowledged if a.answered < killed_at - SYNC_MARGIN]
    recent = [a.value for a in acknowledged if killed_at - SYNC_MARGIN <= a.answered <= killed_at]
    after = [a for a in acknowledged if a.sent > killed_at]
    lost_recent = [v for v in recent if v not in present]
    ages = {a.value: killed_at - a.answered for a in acknowledged}
    window = max((ages[v] for v in lost_recent), default=0.0)  # how long before the kill the oldest lost write was
    print(
        f"\nSIGKILL, default durability: recovery {recovery:.2f} s (lease {LEASE_SECONDS:g} s);"
        f" {len(old)} writes acknowledged > {SYNC_MARGIN:g} s before the kill, {len(recent)} within it"
        f" ({len(lost_recent)} of those lost, the oldest acknowledged {window:.2f} s before the kill),"
        f" {len(after)} after it"
    )
    assert len(old) >= 10, "the load wrote too little before the kill to say anything"
    assert [v for v in old if v not in present] == [], f"old acknowledged writes lost\n{cluster.logs()}"
    assert all(a.node != owner for a in after), [a for a in after if a.node == owner]
    assert [a.value for a in after if a.value not in present] == [], "writes acknowledged by the new owner lost"
    statuses = {a.status for a in attempts}
    assert 500 not in statuses, [a for a in attempts if a.status == 500][:3]
    assert cluster.integrity_problems() == {}


def test_sigkill_of_the_owner_loses_no_acknowledged_write_when_replicated(cluster: Cluster) -> None:
    db = cluster.create_db("a", name="replicated")
    replicated(cluster, db)
    owner, new_owner, killed_at, recovery, attempts = kill_the_owner_under_load(cluster, db)
    present = set(cluster.values(new_owner, db))
    acknowledged = [a.value for a in attempts if a.status == 200]
    lost = [v for v in acknowledged if v not in present]
    before = sum(1 for a in attempts if a.status == 200 and a.answered <= killed_at)
    print(
        f"\nSIGKILL, replicated durability: recovery {recovery:.2f} s; {before} writes acknowledged before the"
        f" kill, {len(acknowledged)} in all, {len(lost)} lost"
    )
    assert before >= 10, "the load wrote too little before the kill to say anything"
    assert lost == [], f"acknowledged writes lost at durability replicated: {lost[:10]}\n{cluster.logs()}"
    assert 500 not in {a.status for a in attempts}
    assert cluster.integrity_problems() == {}


def test_a_node_stopped_past_its_lease_never_accepts_a_write_for_a_database_it_lost(cluster: Cluster) -> None:
    db = cluster.create_db("a", name="fenced")
    replicated(cluster, db)  # so that every write acknowledged before the stop must be on the new owner
    owner, epoch = cluster.placement("a", db)
    survivors = [name for name in "abc" if name != owner]
    with WriteLoad(cluster, db, [owner, *survivors], threads=3) as load:
        wait_for("writes acknowledged before the stop", lambda: len(load.acknowledged()) >= 20, 20)
        paused_at = time.monotonic()
        cluster[owner].pause()
        try:
            takeover = served_by_another(cluster, db, survivors[0], owner)
            time.sleep(max(0.0, paused_at + LEASE_SECONDS + 3 - time.monotonic()))
            new_owner, new_epoch = cluster.placement(survivors[0], db)
            assert new_owner != owner and new_epoch > epoch, (owner, epoch, new_owner, new_epoch)
        finally:
            resumed_at = time.monotonic()
            cluster[owner].resume()
        # Writes sent straight to the resumed node, at once and for 3 s, beside the load's.
        direct: list[Attempt] = []
        with cluster.http(owner, timeout=20) as http:
            deadline = time.monotonic() + 3
            count = 0
            while time.monotonic() < deadline:
                value = f"direct-{count:04d}"
                count += 1
                sent = time.monotonic()
                try:
                    response = http.post(
                        f"/dbs/{db}/sql", json={"query": "INSERT INTO t(v) VALUES (?)", "params": [value]}
                    )
                    direct.append(
                        Attempt(
                            value,
                            owner,
                            sent,
                            time.monotonic(),
                            response.status_code,
                            response.headers.get("x-airsequel-node"),
                            response.text[:200],
                        )
                    )
                except Exception as error:
                    direct.append(Attempt(value, owner, sent, time.monotonic(), 0, None, repr(error)))
                time.sleep(0.05)
        epochs = wait_for(
            "every node, the resumed one too, names the new owner and epoch",
            lambda: _agreed(cluster, db, (new_owner, new_epoch)),
            10,
        )
    attempts = load.attempts + direct
    lease_ended = paused_at + LEASE_SECONDS
    by_stopped = [a for a in attempts if a.status == 200 and a.node == owner and a.answered > lease_ended]
    to_resumed = direct
    present = set(cluster.values(new_owner, db))
    acknowledged = [a for a in attempts if a.status == 200]
    refused = sum(1 for a in to_resumed if a.status == 503)
    forwarded = sum(1 for a in to_resumed if a.status == 200 and a.node == new_owner)
    print(
        f"\nSIGSTOP of {owner} for {resumed_at - paused_at:.2f} s (lease {LEASE_SECONDS:g} s): {new_owner} served"
        f" after {takeover:.2f} s at epoch {new_epoch}; after SIGCONT {len(to_resumed)} writes sent to {owner}:"
        f" {refused} refused (503), {forwarded} forwarded to {new_owner}, others"
        f" {sorted({a.status for a in to_resumed} - {200, 503})}; {len(acknowledged)} acknowledged in all"
    )
    assert by_stopped == [], f"the stopped node accepted writes after its lease ended: {by_stopped[:5]}"
    bad = [a for a in to_resumed if not (a.status == 503 or (a.status == 200 and a.node == new_owner))]
    assert bad == [], f"writes to the resumed node neither refused nor forwarded: {bad[:5]}\n{cluster.logs()}"
    for refusal in (a for a in to_resumed if a.status == 503):
        assert refusal.body.startswith('{"errors":["'), refusal
    assert [a.value for a in acknowledged if a.value not in present] == [], "acknowledged writes lost"
    assert epochs == {via: (new_owner, new_epoch) for via in "abc"}
    assert 500 not in {a.status for a in attempts}, (
        [a for a in attempts if a.status == 500][:3],
        cluster.logs()[-6000:],
    )
    assert cluster.integrity_problems() == {}


def _agreed(cluster: Cluster, db: str, expected: tuple[str, int]) -> dict[str, tuple[str, int]] | None:
    seen = {via: cluster.placement(via, db) for via in "abc"}
    return seen if all(placement == expected for placement in seen.values()) else None
