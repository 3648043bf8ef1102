"""Continuous backups with Litestream to a file:// replica: restore to a point in time, rebuild a
whole server with `restore-all`, and a Litestream child that dies is started again."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from tests.helpers import PASSWORD, setup_key_from_log, sign_up_and_login
from tests.server_process import running_server, user_client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def wait_until(predicate, timeout=30.0, step=0.25):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def rows(http, db):  # type: ignore[no-untyped-def]
    return [r["v"] for r in http.post(f"/dbs/{db}/sql", json={"query": "SELECT v FROM t ORDER BY v"}).json()["rows"]]


@pytest.mark.sqlite_control_plane
def test_point_in_time_restore_restart_and_disaster_recovery(tmp_path):
    replica = tmp_path / "replica"
    env = {"AIRSEQUEL_REPLICA_URL": replica.as_uri()}
    data_dir = tmp_path / "data"
    with running_server(data_dir, env=env) as base:
        http = httpx2.Client(base_url=base, timeout=120)
        # The server admin (through the setup link): the replication figures of /api/status are theirs.
        admin_key = setup_key_from_log(data_dir)
        http.headers["Authorization"] = "Bearer " + sign_up_and_login(http, "backup", setup_key=admin_key)
        status = http.get("/api/status").json()
        assert status["replication"]["running"] is True and status["status"] == "ok"
        db = http.post("/api/dbs", json={"name": "b", "query": "CREATE TABLE t(v TEXT)"}).json()["id"]
        http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES ('first')"})
        assert wait_until(lambda: http.get(f"/api/dbs/{db}/backups").status_code == 200)
        time.sleep(2.5)
        between = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.5)
        http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES ('second')"})
        assert wait_until(lambda: http.get(f"/api/dbs/{db}/backups").json()["latest"] > between)
        window = http.get(f"/api/dbs/{db}/backups").json()
        assert window["earliest"] <= between < window["latest"]

        # Restore to the moment between the two writes, as a new database: exactly the first write.
        restored = http.post(f"/api/dbs/{db}/restore", json={"timestamp": between})
        assert restored.status_code == 201, restored.text
        assert rows(http, restored.json()["id"]) == ["first"]
        # Restore in place to the second after the last write (timestamps are whole seconds), undoing a DELETE.
        time.sleep(2.5)
        http.post(f"/dbs/{db}/sql", json={"query": "DELETE FROM t"})
        after_second = (datetime.strptime(window["latest"], "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert wait_until(lambda: http.get(f"/api/dbs/{db}/backups").json()["latest"] > after_second)
        in_place = http.post(f"/api/dbs/{db}/restore", json={"timestamp": after_second, "as_new": False})
        assert in_place.status_code == 200, in_place.text
        assert rows(http, db) == ["first", "second"]

        # Replication lag per file (control plane included), as Litestream reports it.
        detailed = http.get("/api/status?replication=details").json()["replication"]
        assert detailed["replicating"] == 3 and detailed["maxLagSeconds"] is not None and detailed["maxLagSeconds"] < 30
        assert {f["fileKey"] for f in detailed["files"]} >= {"control"}

        # A Litestream child that dies is started again.
        child = subprocess.run(
            ["pgrep", "-f", "--", f"litestream replicate -config {data_dir}"], capture_output=True, text=True
        ).stdout.split()
        assert child
        os.kill(int(child[0]), signal.SIGKILL)
        assert wait_until(lambda: http.get("/api/status").json()["replication"]["restarts"] >= 1)
        assert wait_until(lambda: http.get("/api/status").json()["replication"]["running"])
        http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES ('after restart')"})
        time.sleep(3)  # let the replica catch up (sync interval 1 s)

    # Disaster: the data directory is gone. Rebuild everything from the replica.
    new_dir = tmp_path / "rebuilt"
    done = restore_all(replica, new_dir)
    assert done.returncode == 0, done.stderr
    with running_server(new_dir) as base:
        http = httpx2.Client(base_url=base, timeout=60)
        token = http.post("/api/login", json={"username": "backup", "password": PASSWORD}).json()["sessionToken"]
        http.headers["Authorization"] = f"Bearer {token}"
        assert rows(http, db) == ["after restart", "first", "second"]
        assert http.get("/api/dbs").json()["numberOfDatabases"] == 2


@pytest.mark.sqlite_control_plane  # restore-all rebuilds control.sqlite here; PostgreSQL: test_restore_all_postgresql.py
def test_s3_replica_on_a_local_moto_server(tmp_path):
    """The same replication against an S3 stand-in (moto's server) on 127.0.0.1."""
    from tests.server_process import free_port

    port = free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    try:
        assert wait_until(lambda: _reachable(endpoint))
        httpx2.put(f"{endpoint}/airsequel-backups")  # create the bucket
        env = {
            "AIRSEQUEL_REPLICA_URL": "s3://airsequel-backups/server1",
            "AIRSEQUEL_S3_ENDPOINT": endpoint,
            **credentials,
        }
        data_dir = tmp_path / "data"
        with running_server(data_dir, env=env) as base:
            http = user_client(base, "s3user", timeout=120)
            db = http.post(
                "/api/dbs", json={"name": "s3", "query": "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('in s3')"}
            ).json()["id"]
            assert wait_until(lambda: http.get(f"/api/dbs/{db}/backups").status_code == 200)
            time.sleep(2)
        new_dir = tmp_path / "rebuilt"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "airsequel",
                "restore-all",
                "--replica-url",
                "s3://airsequel-backups/server1",
                "--s3-endpoint",
                endpoint,
                "--data-dir",
                str(new_dir),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **credentials},
        )
        assert done.returncode == 0, done.stderr
        with running_server(new_dir) as base:
            http = httpx2.Client(base_url=base, timeout=60)
            token = http.post("/api/login", json={"username": "s3user", "password": PASSWORD}).json()["sessionToken"]
            http.headers["Authorization"] = f"Bearer {token}"
            assert rows(http, db) == ["in s3"]
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def _reachable(url: str) -> bool:
    try:
        httpx2.get(url, timeout=1)
        return True
    except httpx2.TransportError:
        return False


def sqlite_names(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return [name for (name,) in conn.execute("SELECT name FROM sqlite_master")]
    finally:
        conn.close()


def sqlite_names_of(content: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "downloaded.sqlite"
    path.write_bytes(content)
    try:
        return sqlite_names(path)
    finally:
        path.unlink()


def restore_all(
    replica: Path, new_dir: Path, *more: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "airsequel",
            "restore-all",
            "--replica-url",
            replica.as_uri(),
            "--data-dir",
            str(new_dir),
            *more,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.sqlite_control_plane
def test_a_graceful_stop_ships_every_database_before_restore_all(tmp_path):
    """Issue 16, point 24, exactly: create, write, restore as new twice, stop gracefully a second
    later, then restore-all into a fresh directory. Everything comes back."""
    replica = tmp_path / "replica"
    data_dir = tmp_path / "data"
    with running_server(data_dir, env={"AIRSEQUEL_REPLICA_URL": replica.as_uri()}) as base:
        http = user_client(base, "dr", timeout=120)
        db = http.post("/api/dbs", json={"name": "dr", "query": "CREATE TABLE t(v TEXT)"}).json()["id"]
        http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES ('written')"})
        assert wait_until(lambda: http.get(f"/api/dbs/{db}/backups").status_code == 200)
        # Point 16: Litestream's own tables (in the live file by now) are nowhere to be seen.
        live_file = next((data_dir / "dbs").glob("*/main.sqlite"))
        assert {"_litestream_seq", "_litestream_lock"} <= set(sqlite_names(live_file))
        http.post(f"/dbs/{db}/sql", json={"query": "CREATE TABLE later(x)"})  # the table list is read again
        assert [t["name"] for t in http.get(f"/api/dbs/{db}").json()["tables"]] == ["t", "later"]
        listed = http.get("/api/dbs").json()["databases"][0]
        assert "_litestream" not in str(listed) and "_litestream" not in http.get(f"/api/dbs/{db}/schema").text
        assert set(sqlite_names_of(http.get(f"/dbs/{db}/download").content, tmp_path)) == {"t", "later"}
        copies = []
        for _ in range(2):
            restored = http.post(f"/api/dbs/{db}/restore", json={})
            assert restored.status_code == 201, restored.text
            copies.append(restored.json()["id"])
        # A restored copy has the user's tables only ("later" if the replica had it yet); Litestream adds
        # its own to the new file, still hidden.
        copy_tables = [t["name"] for t in http.get(f"/api/dbs/{copies[0]}").json()["tables"]]
        assert copy_tables in (["t"], ["t", "later"])
        assert sqlite_names_of(http.get(f"/dbs/{copies[0]}/download").content, tmp_path) == copy_tables
        http.post(f"/dbs/{copies[1]}/sql", json={"query": "INSERT INTO t VALUES ('in the second copy')"})
        stopping = time.monotonic()
        # The issue stopped the server a second later; at once is harder (Litestream's interval is 1 s).
    # running_server's exit is SIGTERM: uvicorn's graceful shutdown.
    print(f"graceful stop with 3 databases and the control plane to sync took {time.monotonic() - stopping:.2f} s")
    new_dir = tmp_path / "rebuilt"
    started = time.monotonic()
    done = restore_all(replica, new_dir)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "restored the control plane and 3 database(s)" in done.stdout, (done.stdout, took)
    with running_server(new_dir) as base:
        http = httpx2.Client(base_url=base, timeout=60)
        token = http.post("/api/login", json={"username": "dr", "password": PASSWORD}).json()["sessionToken"]
        http.headers["Authorization"] = f"Bearer {token}"
        assert rows(http, db) == ["written"]
        assert rows(http, copies[0]) == ["written"]
        assert rows(http, copies[1]) == ["in the second copy", "written"]
        assert [t["name"] for t in http.get(f"/api/dbs/{db}").json()["tables"]] == ["t", "later"]
    print(f"restore-all of 3 databases took {took:.2f} s")

    # One database's replica is gone: restore-all restores the others, names it, and exits 2.
    control = sqlite3.connect(data_dir / "control.sqlite")
    (gone_key,) = control.execute("SELECT file_key FROM databases WHERE id = ?", (copies[0],)).fetchone()
    control.close()
    shutil.rmtree(replica / "dbs" / gone_key)
    partial_dir = tmp_path / "partial"
    done = restore_all(replica, partial_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "restored the control plane and 2 database(s)" in done.stdout
    assert f"not restored: database {copies[0]} 'dr (restored latest)' of 'dr'" in done.stderr
    assert "1 of 3 database(s) had no usable replica" in done.stderr
    assert not (partial_dir / "dbs" / gone_key).exists()
    with running_server(partial_dir) as base:
        http = httpx2.Client(base_url=base, timeout=60)
        token = http.post("/api/login", json={"username": "dr", "password": PASSWORD}).json()["sessionToken"]
        http.headers["Authorization"] = f"Bearer {token}"
        assert sorted(d["id"] for d in http.get("/api/dbs").json()["databases"]) == sorted([db, copies[1]])
        assert rows(http, copies[1]) == ["in the second copy", "written"]
        assert http.get(f"/api/dbs/{copies[0]}").status_code == 404


@pytest.mark.sqlite_control_plane  # with a PostgreSQL control plane there is no control.sqlite replica to miss
def test_restore_all_without_a_control_plane_restores_nothing(tmp_path):
    done = restore_all(tmp_path / "empty-replica", tmp_path / "new")
    assert done.returncode == 1
    assert "error: the control plane could not be restored, so nothing was" in done.stderr
    assert list((tmp_path / "new").rglob("*.sqlite")) == []
