"""What a cluster node ships to the replica restores to an intact file: after a few seconds of concurrent writes
through all three nodes, `litestream restore` of the database's current epoch (`dbs/<key>/epochs/<epoch>` under
the replica URL) gives a file that passes `PRAGMA integrity_check` and holds every write acknowledged more than the
sync interval earlier. This is what a survivor restores when the owner dies, so it is checked directly, without
waiting for a lease to run out."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster_processes import (
    BUCKET,
    CREDENTIALS,
    Cluster,
    ClusterBackends,
    WriteLoad,
    backends_or_skip,
    running_cluster,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]

SYNC_MARGIN = 2.0


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterBackends]:
    started = backends_or_skip(tmp_path_factory.mktemp("cluster-backends"))
    yield started
    started.stop()


@pytest.fixture
def cluster(backends: ClusterBackends, tmp_path) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    with running_cluster(tmp_path / "cluster", backends, lease_seconds=3) as started:
        yield started


def restore_epoch(cluster: Cluster, epoch: int, output: Path) -> subprocess.CompletedProcess[str]:
    """`litestream restore` of the one database's `epochs/<epoch>` prefix into `output`."""
    keys = [key for key, _ in cluster.backends.replica_objects(cluster.replica_url) if f"/epochs/{epoch}/" in key]
    assert keys, f"nothing replicated under epochs/{epoch}/: {cluster.backends.replica_objects(cluster.replica_url)}"
    prefix = keys[0].split(f"/epochs/{epoch}/")[0] + f"/epochs/{epoch}"
    url = f"s3://{BUCKET}/{prefix}?endpoint={cluster.backends.moto.url}&force-path-style=true"
    # AWS_CA_BUNDLE (set on some machines) makes Litestream's S3 client refuse a plain-http endpoint.
    env = {k: v for k, v in {**os.environ, **CREDENTIALS}.items() if k != "AWS_CA_BUNDLE"}
    litestream = str(Path(sys.executable).with_name("litestream"))
    return subprocess.run(
        [litestream, "restore", "-o", str(output), url], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_replica_of_a_concurrently_written_database_restores_intact(cluster: Cluster, tmp_path: Path) -> None:
    db = cluster.create_db("a", name="shipped")
    _, epoch = cluster.placement("a", db)
    with WriteLoad(cluster, db, list("abc"), threads=3) as load:
        wait_for("writes", lambda: len(load.acknowledged()) >= 20, 20)
        time.sleep(4.0)
    stopped_at = time.monotonic()
    time.sleep(SYNC_MARGIN)
    restored = tmp_path / "restored.sqlite"
    done = restore_epoch(cluster, epoch, restored)
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(restored)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        values = {row[0] for row in conn.execute("SELECT v FROM t")}
    finally:
        conn.close()
    acknowledged = [a.value for a in load.attempts if a.status == 200 and a.answered < stopped_at]
    print(f"\nreplica of epoch {epoch} after {len(acknowledged)} concurrent writes: integrity_check {problems[:3]}")
    assert problems == ["ok"], f"the replica restores to a damaged file: {problems[:10]}"
    assert [v for v in acknowledged if v not in values] == []
    assert cluster.integrity_problems() == {}
