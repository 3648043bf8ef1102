"""What a cluster node ships to the replica restores to an intact file: after a few seconds of concurrent writes
through all three nodes, `litestream restore` of the database's current epoch (`dbs/<key>/epochs/<epoch>` under
the replica URL) gives a file that passes `PRAGMA integrity_check` and holds every write acknowledged more than the
sync interval earlier. This is what a survivor restores when the owner dies, so it is checked directly, without
waiting for a lease to run out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cluster_processes import (
    Cluster,
    WriteLoad,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]

SYNC_MARGIN = 2.0


def test_the_replica_of_a_concurrently_written_database_restores_intact(cluster: Cluster, tmp_path: Path) -> None:
    db = cluster.create_db("a", name="shipped")
    _, epoch = cluster.placement("a", db)
    with WriteLoad(cluster, db, list("abc"), threads=3) as load:
        wait_for("writes", lambda: len(load.acknowledged()) >= 20, 20)
        time.sleep(3.0)
    stopped_at = time.monotonic()
    time.sleep(SYNC_MARGIN)
    problems, values = cluster.restored_values(epoch, tmp_path / "restored.sqlite")
    acknowledged = [a.value for a in load.attempts if a.status == 200 and a.answered < stopped_at]
    print(f"\nreplica of epoch {epoch} after {len(acknowledged)} concurrent writes: integrity_check {problems[:3]}")
    assert problems == ["ok"], f"the replica restores to a damaged file: {problems[:10]}"
    assert [v for v in acknowledged if v not in values] == []
    assert cluster.integrity_problems() == {}
