"""`airsequel restore-all --control-plane postgresql://...`: the machine is gone but the PostgreSQL control plane
is not. The hosted files it lists come back from their Litestream replica; a file without one is named, left out,
and its row removed (a registry row is never without its file). Real processes, a file:// replica, the suite's
real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx2
import psycopg
import pytest

from tests.helpers import PASSWORD
from tests.server_process import running_server, user_client
from tests.test_backups import restore_all as restore_all_of_backups
from tests.test_backups import rows, wait_until

pytestmark = pytest.mark.slow


def restore_all(replica: Path, new_dir: Path, control_plane: str) -> subprocess.CompletedProcess[str]:
    # Only the flag names the control plane (not this test's AIRSEQUEL_CONTROL_PLANE).
    env = {key: value for key, value in os.environ.items() if key != "AIRSEQUEL_CONTROL_PLANE"}
    return restore_all_of_backups(replica, new_dir, "--control-plane", control_plane, env=env)


def test_the_hosted_files_of_a_postgresql_control_plane_come_back(tmp_path, postgresql_url):
    replica = tmp_path / "replica"
    env = {"AIRSEQUEL_REPLICA_URL": replica.as_uri(), "AIRSEQUEL_CONTROL_PLANE": postgresql_url}
    with running_server(tmp_path / "data", env=env) as base:
        http = user_client(base, "dr", timeout=120)
        kept = http.post("/api/dbs", json={"name": "kept", "query": "CREATE TABLE t(v TEXT)"}).json()["id"]
        lost = http.post("/api/dbs", json={"name": "lost", "query": "CREATE TABLE t(v TEXT)"}).json()["id"]
        http.post(f"/dbs/{kept}/sql", json={"query": "INSERT INTO t VALUES ('written')"})
        for db in (kept, lost):
            assert wait_until(lambda db=db: http.get(f"/api/dbs/{db}/backups").status_code == 200)
    # The control plane is not in the replica: PostgreSQL holds it.
    assert not (replica / "control").exists()
    with psycopg.connect(postgresql_url) as pg:
        (lost_key,) = pg.execute("SELECT file_key FROM databases WHERE id = %s", (lost,)).fetchone()
    shutil.rmtree(replica / "dbs" / lost_key)

    done = restore_all(replica, tmp_path / "rebuilt", postgresql_url)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "restored 1 database(s) of the PostgreSQL control plane" in done.stdout
    assert f"not restored: database {lost} 'lost' of 'dr'" in done.stderr
    assert not (tmp_path / "rebuilt" / "control.sqlite").exists()
    with running_server(tmp_path / "rebuilt", env={"AIRSEQUEL_CONTROL_PLANE": postgresql_url}) as base:
        http = httpx2.Client(base_url=base, timeout=60)
        token = http.post("/api/login", json={"username": "dr", "password": PASSWORD}).json()["sessionToken"]
        http.headers["Authorization"] = f"Bearer {token}"
        assert rows(http, kept) == ["written"]
        assert [db["name"] for db in http.get("/api/dbs").json()["databases"]] == ["kept"]
