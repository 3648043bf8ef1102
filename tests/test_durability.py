"""`durability` per database: "local" (the default: acknowledged once committed, shipped within about a
second) or "replicated" (acknowledged only once Litestream shipped the write), on one server here; a
node of a cluster in tests/test_cluster_failover.py."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx2
import pytest

from airsequel.core.storage.litestream_commands import restore
from tests.helpers import create_db, sign_up_and_login, sql
from tests.server_process import running_server


def test_replicated_durability_needs_backups_and_a_known_value(client):
    db = create_db(client, "CREATE TABLE t(v TEXT)")
    before = client.get(f"/api/dbs/{db}/settings").json()
    assert before["durability"] == "local"
    refused = client.patch(f"/api/dbs/{db}/settings", json={"durability": "replicated"})
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": ["durability 'replicated' needs continuous backups: start the server with AIRSEQUEL_REPLICA_URL"]
    }
    unknown = client.patch(f"/api/dbs/{db}/settings", json={"durability": "fast"})
    assert unknown.status_code == 400 and "durability" in unknown.json()["errors"][0]
    assert client.get(f"/api/dbs/{db}/settings").json() == before  # nothing changed
    assert sql(client, db, "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 0}]


def _replica_rows(replica: Path, data_dir: Path, target: Path) -> list[str]:
    (file_key,) = [d.name for d in (data_dir / "dbs").iterdir()]
    target.unlink(missing_ok=True)
    restore((replica / "dbs" / file_key).as_uri(), target)
    conn = sqlite3.connect(target)
    try:
        return [v for (v,) in conn.execute("SELECT v FROM t ORDER BY rowid")]
    finally:
        conn.close()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_write_to_a_replicated_database_is_in_the_replica_when_it_is_answered(tmp_path):
    replica, data_dir = tmp_path / "replica", tmp_path / "data"
    with running_server(data_dir, env={"AIRSEQUEL_REPLICA_URL": replica.as_uri()}) as base:
        http = httpx2.Client(base_url=base, timeout=60)
        http.headers["Authorization"] = "Bearer " + sign_up_and_login(http, "durable")
        db = http.post("/api/dbs", json={"name": "d", "query": "CREATE TABLE t(v TEXT)"}).json()["id"]
        assert http.patch(f"/api/dbs/{db}/settings", json={"durability": "replicated"}).status_code == 200
        assert http.get(f"/api/dbs/{db}/settings").json()["durability"] == "replicated"
        started = time.monotonic()
        for n in range(5):
            answer = http.post(f"/dbs/{db}/sql", json={"query": f"INSERT INTO t VALUES ('w{n}')"})
            assert answer.status_code == 200, answer.text
            # Answered: so the replica has it already, not "within a second".
            assert _replica_rows(replica, data_dir, tmp_path / "restored.sqlite")[-1] == f"w{n}"
        per_write = (time.monotonic() - started) / 5
        read = http.post(f"/dbs/{db}/sql", json={"query": "SELECT count(*) AS n FROM t"})
        assert read.json()["rows"] == [{"n": 5}]
        print(f"\nreplicated write + check: {per_write * 1000:.0f} ms each (restore of the replica included)")
