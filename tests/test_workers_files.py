"""Replacing a file and VACUUM through one worker while the other worker has connections open to it:
the other worker's next request reads the new content, and its writes land in the file that is
hosted now (not in the one swapped out, where they would be acknowledged and lost)."""

from __future__ import annotations

import subprocess

import httpx2
import pytest

from tests.helpers import make_sqlite_file, sign_up_and_login
from tests.server_process import running_server
from tests.worker_processes import one_per_worker, wait_for_workers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_file_replaced_or_vacuumed_through_one_worker_is_the_one_the_other_worker_uses(tmp_path):
    data_dir = tmp_path / "data"
    started: list[subprocess.Popen[bytes]] = []
    with running_server(data_dir, workers=2, started=started) as base:
        workers = wait_for_workers(started[0].pid, 2)
        with httpx2.Client(base_url=base, timeout=60) as http:
            auth = {"Authorization": f"Bearer {sign_up_and_login(http, 'owner')}"}
            created = http.post(
                "/api/dbs",
                headers=auth,
                json={"name": "swap", "query": "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('old')"},
            )
            db_id = created.json()["id"]
            pinned = one_per_worker(base, workers)
            changer, other = (pinned[pid] for pid in sorted(pinned))
            select = {"query": "SELECT v FROM t ORDER BY v"}
            for connection in (changer, other):  # both workers hold a reader and a writer to the file now
                assert connection.request("POST", f"/dbs/{db_id}/sql", select, auth)[1]["rows"] == [{"v": "old"}]
                status, _ = connection.request("POST", f"/dbs/{db_id}/sql", {"query": "UPDATE t SET v = v"}, auth)
                assert status == 200

            new = make_sqlite_file(tmp_path / "new.sqlite", "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('new');")
            replaced = http.put(f"/dbs/{db_id}", headers=auth, files={"file": ("new.sqlite", new)})
            assert replaced.status_code == 200, replaced.text
            # Whichever worker took the PUT, both answer from the new file at once.
            for connection in (changer, other):
                assert connection.request("POST", f"/dbs/{db_id}/sql", select, auth)[1]["rows"] == [{"v": "new"}]
            status, answer = other.request(
                "POST", f"/dbs/{db_id}/sql", {"query": "INSERT INTO t VALUES ('later')"}, auth
            )
            assert status == 200 and answer["errors"] == [], answer
            assert changer.request("POST", f"/dbs/{db_id}/sql", select, auth)[1]["rows"] == [
                {"v": "later"},
                {"v": "new"},
            ]

            status, _ = changer.request("POST", f"/api/dbs/{db_id}/vacuum", headers=auth)
            assert status == 200
            status, answer = other.request(
                "POST", f"/dbs/{db_id}/sql", {"query": "INSERT INTO t VALUES ('vacuumed')"}, auth
            )
            assert status == 200 and answer["errors"] == [], answer
            everything = [{"v": "later"}, {"v": "new"}, {"v": "vacuumed"}]
            assert changer.request("POST", f"/dbs/{db_id}/sql", select, auth)[1]["rows"] == everything
            downloaded = http.get(f"/dbs/{db_id}/download", headers=auth)
            (tmp_path / "down.sqlite").write_bytes(downloaded.content)
            import sqlite3

            with sqlite3.connect(tmp_path / "down.sqlite") as check:
                assert check.execute("SELECT v FROM t ORDER BY v").fetchall() == [("later",), ("new",), ("vacuumed",)]
