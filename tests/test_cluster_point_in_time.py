"""Point-in-time restore in a cluster finds the right epoch by time: a database written on node a (epoch 1),
then moved to b (epoch 2) and written there, restored to a moment before the move, gives exactly what a had;
restored to the latest point, everything. Each epoch replicates under its own prefix (core/layout.py), and the
history of epochs says which prefix held which moment (core/registry/epochs.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.cluster_processes import Cluster, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_restore_to_a_moment_before_a_move_uses_the_epoch_of_that_moment(cluster: Cluster) -> None:
    db = cluster.create_db("c", name="history")
    owner, epoch = cluster.placement("c", db)
    assert cluster.write("c", db, "on the first owner").status_code == 200
    time.sleep(2.5)  # shipped (sync interval 1 s), and a whole second of the timestamps between
    before_move = _now()
    time.sleep(1.5)
    target = next(name for name in "abc" if name != owner)
    moved = cluster.request("a", "POST", f"/api/cluster/databases/{db}/move", timeout=60, json={"node": target})
    assert moved.status_code == 200, moved.text
    assert moved.json()["epoch"] == epoch + 1
    assert cluster.write("a", db, "on the second owner").status_code == 200

    earlier = cluster.request("b", "POST", f"/api/dbs/{db}/restore", timeout=60, json={"timestamp": before_move})
    assert earlier.status_code == 201, earlier.text
    assert cluster.values("a", earlier.json()["id"]) == ["on the first owner"]

    def latest_restored() -> list[str] | None:
        restored = cluster.request("c", "POST", f"/api/dbs/{db}/restore", timeout=60, json={})
        assert restored.status_code == 201, restored.text
        values = cluster.values("b", restored.json()["id"])
        return values if len(values) == 2 else None

    assert wait_for("the second owner's write in its epoch's replica", latest_restored, 20, step=1.0) == [
        "on the first owner",
        "on the second owner",
    ]
    assert cluster.integrity_problems() == {}
