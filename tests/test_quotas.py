"""Quotas and a full disk (issue 16, point 11).

Per-team quotas are settings: over a count (databases, queued export jobs) is 429, over bytes is
413, each naming the quota and its setting, and nothing is created. A disk below
min_free_disk_bytes refuses every write that adds bytes with 507 and writes nothing, while deletes
and reads go on. The full disk is real: min_free_disk_bytes is set above the free space of the
test's own filesystem (os.statvfs), which is the mechanism the server uses; nothing is mocked."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.storage.disk_space import DiskSpace
from airsequel.http.app import create_app
from tests.helpers import create_db, data_files, make_sqlite_file, sign_up_and_login, sql

GIB = 1 << 30


def set_settings(client, **values):  # type: ignore[no-untyped-def]
    response = client.patch("/api/settings", json=values)
    assert response.status_code == 200, response.text


def registry(client):  # type: ignore[no-untyped-def]
    return sorted((d["id"], d["name"]) for d in client.get("/api/dbs?limit=1000").json()["databases"])


def upload(client, path, name="up"):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        return client.post("/dbs", files={"file": (path.name, handle)}, data={"name": name})


def export_request(client, db, name="e"):  # type: ignore[no-untyped-def]
    return client.post("/api/exports", json={"name": name, "databases": [db], "media_type": "text/csv"})


def test_a_full_disk_refuses_every_write_with_507_writes_nothing_and_delete_still_works(client, settings, tmp_path):
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1), (2)", name="kept")
    doomed = create_db(client, "CREATE TABLE t(a)", name="doomed")
    sqlite_file = tmp_path / "up.sqlite"
    make_sqlite_file(sqlite_file, "CREATE TABLE u(b); INSERT INTO u VALUES ('x')")
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("name,age\nann,3\n")
    free = DiskSpace(settings.data_dir, lambda: 0).free_bytes()
    set_settings(client, minFreeDiskBytes=free + 10 * GIB)  # the disk is "full" for real: statvfs says so
    files_before, registry_before = data_files(settings), registry(client)

    refused = {
        "create": client.post("/api/dbs", json={"name": "new", "query": "CREATE TABLE n(a)"}),
        "upload sqlite": upload(client, sqlite_file),
        "upload csv": upload(client, csv_file),
        "duplicate": client.post(f"/dbs/{db}/duplicate"),
        "replace": client.put(f"/dbs/{db}", files={"file": ("up.sqlite", sqlite_file.read_bytes())}),
        "vacuum": client.post(f"/api/dbs/{db}/vacuum"),
        "download": client.get(f"/dbs/{db}/download"),
        "export": export_request(client, db),
    }
    for what, response in refused.items():
        assert response.status_code == 507, (what, response.status_code, response.text)
        message = response.json()["errors"][0]
        assert "disk is too full" in message and "min_free_disk_bytes" in message, (what, message)
        assert "Nothing was written" in message, (what, message)
    assert data_files(settings) == files_before
    assert registry(client) == registry_before
    assert client.get("/api/exports").json()["exports"] == []
    # Reads go on, and a delete works (it frees room; it is never refused for want of it).
    assert sql(client, db, "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 2}]
    assert client.delete(f"/api/dbs/{doomed}").status_code == 200
    assert [name for _id, name in registry(client)] == ["kept"]
    assert not any(doomed in f for f in data_files(settings))
    # With room again, the same writes work.
    set_settings(client, minFreeDiskBytes=0)
    assert client.post(f"/dbs/{db}/duplicate").status_code == 200
    assert client.post(f"/api/dbs/{db}/vacuum").status_code == 200


def test_team_max_databases_refuses_the_fourth_create_upload_and_duplicate(client, anonymous, settings, tmp_path):
    set_settings(client, teamMaxDatabases=3)
    sqlite_file = tmp_path / "up.sqlite"
    make_sqlite_file(sqlite_file, "CREATE TABLE u(b)")
    first = create_db(client, "CREATE TABLE t(a)", name="one")
    assert upload(client, sqlite_file, "two").status_code == 201
    assert client.post(f"/dbs/{first}/duplicate").status_code == 200
    files_before, registry_before = data_files(settings), registry(client)
    for what, response in {
        "create": client.post("/api/dbs", json={"name": "four"}),
        "upload": upload(client, sqlite_file, "four"),
        "duplicate": client.post(f"/dbs/{first}/duplicate"),
    }.items():
        assert response.status_code == 429, (what, response.text)
        assert "Retry-After" not in response.headers  # waiting does not help: deleting does
        assert response.json()["errors"] == [
            "Team 'alice' holds 3 databases, as many as its quota allows (team_max_databases = 3,"
            " AIRSEQUEL_TEAM_MAX_DATABASES): delete one first"
        ], what
    assert data_files(settings) == files_before and registry(client) == registry_before
    # Another team is not held back by alice's count; and after a delete alice may create again.
    bob = sign_up_and_login(client, "bob")
    as_bob = {"Authorization": f"Bearer {bob}"}
    assert client.post("/api/dbs", json={"name": "bob's"}, headers=as_bob).status_code == 201
    assert client.delete(f"/api/dbs/{first}").status_code == 200
    assert client.post("/api/dbs", json={"name": "four"}).status_code == 201


def test_concurrent_creates_cannot_together_pass_the_quota(services):
    services.live.apply({"team_max_databases": 3})
    started = time.monotonic()

    def attempt(number: int) -> str:
        try:
            services.hosting.create(f"db{number}", owner="racers")
            return "created"
        except Exception as error:  # noqa: BLE001 - counted below
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    took = time.monotonic() - started
    assert sorted(set(outcomes)) == ["TooManyRequests", "created"]
    assert outcomes.count("created") == 3, outcomes
    assert services.control.query("SELECT count(*) FROM databases WHERE owner = 'racers'")[0][0] == 3
    assert len(list((services.layout.dbs_dir).iterdir())) == 3  # the refused left no directory behind
    print(f"40 concurrent creates against a quota of 3 took {took:.2f} s")


def test_team_max_bytes_refuses_an_upload_and_a_duplicate_that_would_pass_it(client, settings, tmp_path):
    db = create_db(client, "CREATE TABLE t(b); INSERT INTO t VALUES (randomblob(60000))", name="big")
    size = client.get(f"/api/dbs/{db}").json()["size"]
    set_settings(client, teamMaxBytes=size + 30_000)
    sqlite_file = tmp_path / "up.sqlite"
    make_sqlite_file(sqlite_file, "CREATE TABLE u(b); INSERT INTO u VALUES (randomblob(50000))")
    files_before, registry_before = data_files(settings), registry(client)
    for what, response in {
        "upload": upload(client, sqlite_file),
        "duplicate": client.post(f"/dbs/{db}/duplicate"),
    }.items():
        assert response.status_code == 413, (what, response.text)
        message = response.json()["errors"][0]
        assert (
            message.startswith("The databases of team 'alice' would hold ")
            and f"over its quota of {size + 30_000}" in message
        )
        assert "(team_max_bytes, AIRSEQUEL_TEAM_MAX_BYTES)" in message and "nothing was written" in message
    assert data_files(settings) == files_before and registry(client) == registry_before
    small = tmp_path / "small.sqlite"
    make_sqlite_file(small, "CREATE TABLE s(a)")
    assert upload(client, small, "small").status_code == 201  # what fits is still accepted


def test_team_max_queued_jobs_is_429_with_retry_after(client):
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1)")
    client.app.state.services.exports.stop()  # no worker: jobs stay queued
    set_settings(client, teamMaxQueuedJobs=2)
    assert [export_request(client, db, f"e{n}").status_code for n in range(2)] == [202, 202]
    refused = export_request(client, db, "e3")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    assert refused.json()["errors"] == [
        "Team 'alice' has 2 export jobs queued or running, as many as its quota allows (team_max_queued_jobs = 2,"
        " AIRSEQUEL_TEAM_MAX_QUEUED_JOBS): wait for one to finish"
    ]
    assert len(client.get("/api/exports").json()["exports"]) == 2


def test_team_max_export_bytes_fails_a_job_past_it_and_refuses_assets(client, settings):
    db = create_db(
        client, "CREATE TABLE t(b); INSERT INTO t SELECT hex(randomblob(3000)) FROM (SELECT 1 UNION SELECT 2)"
    )
    set_settings(client, teamMaxExportBytes=4000)
    job = export_request(client, db).json()
    deadline = time.monotonic() + 30
    while (found := client.get(f"/api/exports/{job['id']}").json())["status"] in ("STARTED", "RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert found["status"] == "FAILED"
    assert "over its quota of 4000 bytes (team_max_export_bytes, AIRSEQUEL_TEAM_MAX_EXPORT_BYTES)" in found["error"]
    assert not (settings.data_dir / "exports" / job["id"]).exists()
    assert client.get(f"/api/exports/{job['id']}/data").status_code == 404
    asset = client.post(f"/api/dbs/{db}/assets", json={"filename": "a.bin"}).json()
    url = f"/api/dbs/{db}/assets/{asset['id']}"
    assert client.put(url, content=os.urandom(3000)).status_code == 200
    over = client.put(
        f"/api/dbs/{db}/assets/{client.post(f'/api/dbs/{db}/assets', json={'filename': 'b.bin'}).json()['id']}",
        content=os.urandom(2000),
    )
    assert over.status_code == 413
    assert (
        "The exports and assets of team 'alice' would hold 5000 bytes, over its quota of 4000"
        in over.json()["errors"][0]
    )
    # Now at 3000 of 4000: a new export job is still taken; at the quota it would be refused.
    set_settings(client, teamMaxExportBytes=3000)
    refused = export_request(client, db, "again")
    assert refused.status_code == 413 and "delete exports or assets first" in refused.json()["errors"][0]


@pytest.mark.parametrize("count", [300])
def test_three_hundred_creates_stop_at_the_quota(client, settings, count):
    """The attack of the issue: 300 databases as fast as possible; with the default quota lowered
    to 50 the 51st and later are refused, and the refused leave nothing."""
    set_settings(client, teamMaxDatabases=50)
    started = time.monotonic()
    statuses = [client.post("/api/dbs", json={"name": f"db{n}"}).status_code for n in range(count)]
    took = time.monotonic() - started
    assert statuses.count(201) == 50 and statuses.count(429) == count - 50
    assert client.get("/api/dbs").json()["numberOfDatabases"] == 50
    assert len(list((settings.data_dir / "dbs").iterdir())) == 50
    print(f"{count} create requests against a quota of 50 took {took:.2f} s")


@pytest.fixture
def small_disk(tmp_path):  # type: ignore[no-untyped-def]
    """A real 16 MiB filesystem (tmpfs) to fill up; skipped where mounting is not allowed (not root)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path):  # type: ignore[no-untyped-def]
    """Write a filler file until the filesystem has no room left."""
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    with open(path, "ab", buffering=0) as handle:  # and the last few bytes
        try:
            while True:
                handle.write(b"\0" * 512)
                handle.flush()
        except OSError:
            pass


def test_a_really_full_disk_is_507_not_500_and_delete_still_works(small_disk, tmp_path):
    """ENOSPC and SQLITE_FULL met for real (min_free_disk_bytes 0, so no check comes first)."""
    settings = Settings.from_env(
        environ={}, data_dir=small_disk / "data", secret_key="k", min_free_disk_bytes=0, sql_time_limit_seconds=5.0
    )
    sqlite_file = tmp_path / "up.sqlite"
    make_sqlite_file(sqlite_file, "CREATE TABLE u(b); INSERT INTO u VALUES (randomblob(200000))")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = "Bearer " + sign_up_and_login(client, "alice")
        db = create_db(client, "CREATE TABLE t(b); INSERT INTO t VALUES (randomblob(300000))", name="kept")
        doomed = create_db(client, "CREATE TABLE t(b); INSERT INTO t VALUES (randomblob(300000))", name="doomed")
        fill(small_disk / "filler")
        files_before, registry_before = data_files(settings), registry(client)
        outcomes = {
            "create": client.post("/api/dbs", json={"name": "new", "query": "CREATE TABLE n(b)"}),
            "upload": upload(client, sqlite_file),
            "duplicate": client.post(f"/dbs/{db}/duplicate"),
            "download": client.get(f"/dbs/{db}/download"),
            "vacuum": client.post(f"/api/dbs/{db}/vacuum"),
        }
        statuses = {what: response.status_code for what, response in outcomes.items()}
        assert set(statuses.values()) <= {507}, {w: (r.status_code, r.text[:200]) for w, r in outcomes.items()}
        for response in outcomes.values():
            message = response.json()["errors"][0].lower()
            assert "the server's disk is" in message and "nothing was written" in message, message
        assert registry(client) == registry_before
        assert [f for f in data_files(settings) if not f.endswith(("-wal", "-shm"))] == [
            f for f in files_before if not f.endswith(("-wal", "-shm"))
        ]
        assert list((settings.data_dir / "tmp").iterdir()) == []
        assert client.delete(f"/api/dbs/{doomed}").status_code == 200
        assert [name for _id, name in registry(client)] == ["kept"]
        assert sql(client, db, "SELECT length(b) AS n FROM t").json()["rows"] == [{"n": 300000}]
        (small_disk / "filler").unlink()
        assert client.post(f"/dbs/{db}/duplicate").status_code == 200
