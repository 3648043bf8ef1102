"""`airsequel serve --workers 2`, as run: the worker running an export or Litestream is killed with
SIGKILL, and the job is finished and replication goes on through the other worker."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx2
import pytest

from tests.server_process import running_server, user_client
from tests.worker_processes import eventually, litestream_pids, wait_for_workers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def fresh_get(http: httpx2.Client, path: str) -> httpx2.Response:
    """GET on a new connection (a kept-alive one may belong to the worker just killed)."""
    with httpx2.Client(base_url=http.base_url, headers=http.headers, timeout=60) as fresh:
        return fresh.get(path)


def backed_up(http: httpx2.Client, db: str) -> bool:
    return http.get(f"/api/dbs/{db}/backups").status_code == 200


def holder(data_dir: Path) -> tuple[int, int]:
    """(the worker holding litestream.lock, its Litestream's pid) as the holder wrote them."""
    fields = (data_dir / "litestream.lock").read_text().split()
    return (int(fields[0]), int(fields[1])) if len(fields) == 2 else (0, 0)


@pytest.mark.sqlite_control_plane
def test_killing_the_worker_that_runs_an_export_leaves_the_job_to_the_other(tmp_path):
    data_dir = tmp_path / "data"
    started: list = []
    with running_server(data_dir, workers=2, started=started) as base:
        workers = wait_for_workers(started[0].pid, 2)
        http = user_client(base, "crash")
        db = http.post("/api/dbs", json={"name": "big", "query": "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"})
        db_id = db.json()["id"]
        http.post(
            f"/dbs/{db_id}/sql",
            json={
                "query": "INSERT INTO t(v) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
                " LIMIT 400000) SELECT printf('value %d', i) FROM c"
            },
        )
        job_id = http.post("/api/exports", json={"name": "big", "databases": [db_id]}).json()["id"]
        control = sqlite3.connect(data_dir / "control.sqlite")

        def claimer() -> int | None:
            row = control.execute(
                "SELECT claimed_by FROM export_jobs WHERE id = ? AND status = 'RUNNING'", (job_id,)
            ).fetchone()
            return int(row[0].split(":")[1]) if row and row[0] else None

        eventually(claimer)
        runner = claimer()
        assert runner in workers
        os.kill(runner, signal.SIGKILL)
        job = fresh_get(http, f"/api/exports/{job_id}").json()
        while job["status"] not in ("SUCCESS", "FAILED"):
            time.sleep(0.1)
            job = fresh_get(http, f"/api/exports/{job_id}").json()
        assert job["status"] == "SUCCESS", job
        status, attempts, claimed_by = control.execute(
            "SELECT status, attempts, claimed_by FROM export_jobs WHERE id = ?", (job_id,)
        ).fetchone()
        assert (status, attempts) == ("SUCCESS", 2) and int(claimed_by.split(":")[1]) != runner
        exported = fresh_get(http, job["data"]).json()
        assert len(exported) == 400_000 and exported[-1] == {"id": 400_000, "v": "value 400000"}
        assert control.execute("SELECT count(*) FROM export_jobs WHERE status = 'RUNNING'").fetchone() == (0,)
        http.close()


def test_one_litestream_for_two_workers_and_a_handover_when_its_worker_is_killed(tmp_path):
    data_dir = tmp_path / "data"
    env = {"AIRSEQUEL_REPLICA_URL": (tmp_path / "replica").as_uri()}
    started: list = []
    with running_server(data_dir, env=env, workers=2, started=started) as base:
        workers = wait_for_workers(started[0].pid, 2)
        eventually(lambda: holder(data_dir)[1] != 0)
        first, first_litestream = holder(data_dir)
        assert first in workers and litestream_pids(data_dir) == [first_litestream]
        http = user_client(base, "owner")
        made = []
        for number in range(6):  # new connections: the kernel spreads them over both workers
            with httpx2.Client(base_url=base, headers=http.headers, timeout=60) as fresh:
                made.append(fresh.post("/api/dbs", json={"name": f"d{number}", "query": "CREATE TABLE t(v)"}))
        ids = [response.json()["id"] for response in made]
        eventually(lambda: all(backed_up(http, db) for db in ids))

        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        http.close()
        http = httpx2.Client(base_url=base, headers=http.headers, timeout=60)
        eventually(lambda: holder(data_dir)[0] not in (0, first) and holder(data_dir)[1] != 0, timeout=10)
        handover = time.monotonic() - killed
        assert handover < 5, handover
        eventually(lambda: first_litestream not in litestream_pids(data_dir))
        assert litestream_pids(data_dir) == [holder(data_dir)[1]]
        after = http.post("/api/dbs", json={"name": "after", "query": "CREATE TABLE t(v)"}).json()["id"]
        eventually(lambda: backed_up(http, after))
        for db in ids:  # written after the handover: replicated by the new holder's Litestream
            http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO t VALUES ('later')"})
        assert http.get("/api/status").json()["status"] == "ok"
        http.close()
    assert litestream_pids(data_dir) == []
