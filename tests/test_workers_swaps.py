"""Writes in flight on one worker while the other worker replaces or vacuums the file, over and over.

A write the server acknowledged is never lost: it is in the file hosted at the end, or a replace came
after it. "After it" is read from the audit log, which is in the control plane's order: a write's
entry is recorded just before its file commits, a replace's entry just after its file was swapped in.
So a write that answers from the file of replace g (the `gen` row it read in its own transaction)
and whose entry comes after the entry of replace g+1 committed into a file that was no longer
hosted: acknowledged and lost. Each write holds its transaction for a while (a slow query after its
INSERT), so that replaces land inside writes: without the swap waiting for the file's write lock
and the writer checking the file after its BEGIN IMMEDIATE, most rounds lose a write.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.helpers import make_sqlite_file, sign_up_and_login
from tests.server_process import running_server
from tests.worker_processes import Pinned, one_per_worker, wait_for_workers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000) SELECT count(*) FROM c"
REPLACES = 8


def _write_loop(writer: Pinned, db_id: str, auth: dict[str, str], stop: threading.Event) -> list[tuple[int, int, Any]]:
    """INSERT n, a slow query, then the file's generation, in one transaction each: (status, answer)."""
    answers = []
    n = 0
    while not stop.is_set() and n < 400:
        n += 1
        query = f"INSERT INTO t VALUES ({n}); {SLOW}; SELECT g FROM gen"
        status, answer = writer.request("POST", f"/dbs/{db_id}/sql", {"query": query}, auth)
        answers.append((n, status, answer))
    return answers


def _put(pinned: Pinned, db_id: str, auth: dict[str, str], content: bytes) -> int:
    pinned.conn.request(
        "PUT",
        f"/dbs/{db_id}",
        body=content,
        headers={**pinned.headers, **auth, "Content-Type": "application/vnd.sqlite3"},
    )
    response = pinned.conn.getresponse()
    response.read()
    return response.status


def _audit(http: httpx2.Client, db_id: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    before = None
    while True:
        page = http.get(f"/api/dbs/{db_id}/audit", headers=auth, params={"before": before} if before else None)
        assert page.status_code == 200, page.text
        entries += page.json()["entries"]
        before = page.json()["next"]
        if before is None:
            return sorted(entries, key=lambda entry: entry["id"])


def _final_rows(http: httpx2.Client, db_id: str, auth: dict[str, str], tmp_path: Path) -> tuple[int, set[int]]:
    downloaded = http.get(f"/dbs/{db_id}/download", headers=auth)
    assert downloaded.status_code == 200
    (tmp_path / "final.sqlite").write_bytes(downloaded.content)
    with sqlite3.connect(tmp_path / "final.sqlite") as check:
        (generation,) = check.execute("SELECT g FROM gen").fetchone()
        return generation, {v for (v,) in check.execute("SELECT v FROM t")}


def _started(tmp_path: Path) -> tuple[Any, list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    return running_server(tmp_path / "data", workers=2, started=started), started


def _owner_and_database(http: httpx2.Client, name: str) -> tuple[dict[str, str], str]:
    """The owner's auth header and a new database with the tables the tests write: gen (the generation
    of the file, one row) and t (the values written)."""
    auth = {"Authorization": f"Bearer {sign_up_and_login(http, 'owner')}"}
    created = http.post(
        "/api/dbs",
        headers=auth,
        json={"name": name, "query": "CREATE TABLE gen(g INTEGER); INSERT INTO gen VALUES (0); CREATE TABLE t(v)"},
    )
    return auth, created.json()["id"]


def test_writes_in_flight_on_one_worker_are_never_lost_to_replaces_on_the_other(tmp_path):
    server, started = _started(tmp_path)
    with server as base, httpx2.Client(base_url=base, timeout=60) as http:
        workers = wait_for_workers(started[0].pid, 2)
        auth, db_id = _owner_and_database(http, "swaps")
        assert http.patch(f"/api/dbs/{db_id}/settings", headers=auth, json={"auditing": True}).status_code == 200
        pinned = one_per_worker(base, workers)
        writer, replacer = (pinned[pid] for pid in sorted(pinned))
        files = [
            make_sqlite_file(
                tmp_path / f"gen{g}.sqlite",
                f"CREATE TABLE gen(g INTEGER); INSERT INTO gen VALUES ({g}); CREATE TABLE t(v);",
            )
            for g in range(1, REPLACES + 1)
        ]
        stop = threading.Event()
        answers: list[tuple[int, int, Any]] = []
        thread = threading.Thread(target=lambda: answers.extend(_write_loop(writer, db_id, auth, stop)))
        thread.start()
        try:
            time.sleep(0.3)
            for content in files:
                assert _put(replacer, db_id, auth, content) == 200
                time.sleep(0.15)
            time.sleep(0.3)
        finally:
            stop.set()
            thread.join()

        statuses = {status for _, status, _ in answers}
        assert statuses <= {200, 503}, [answer for _, status, answer in answers if status not in (200, 503)]
        for _, status, answer in answers:
            if status == 503:  # refused, clearly: the file was replaced twice while it waited
                assert "replaced" in answer["errors"][0] or "busy" in answer["errors"][0], answer
        acknowledged = {n: answer["rows"][0]["g"] for n, status, answer in answers if status == 200}
        assert len(acknowledged) >= 10, answers

        entries = _audit(http, db_id, auth)
        position = {}
        replaced_at = {}
        generation = 0
        for index, entry in enumerate(entries):
            if entry["kind"] == "replace":
                generation += 1
                replaced_at[generation] = index
            elif entry["kind"] == "sql" and entry["statement"].startswith("INSERT INTO t VALUES ("):
                position[int(entry["statement"].split("(")[1].split(")")[0])] = index
        assert generation == REPLACES
        lost = [
            (n, g)
            for n, g in acknowledged.items()
            if g < REPLACES and position[n] > replaced_at[g + 1]  # committed into a file replaced before it
        ]
        final_generation, final = _final_rows(http, db_id, auth, tmp_path)
        assert final_generation == REPLACES
        missing = {n for n, g in acknowledged.items() if g == REPLACES} - final
        assert not lost and not missing, f"acknowledged and lost: {lost}, missing from the final file: {missing}"
        # Every value in the final file was acknowledged, or its write is still unanswered (none here).
        assert final <= set(acknowledged)


def test_writes_on_one_worker_all_survive_vacuums_on_the_other(tmp_path):
    server, started = _started(tmp_path)
    with server as base, httpx2.Client(base_url=base, timeout=60) as http:
        workers = wait_for_workers(started[0].pid, 2)
        auth, db_id = _owner_and_database(http, "vacuums")
        pinned = one_per_worker(base, workers)
        writer_pid, vacuumer_pid = sorted(pinned)
        writer, vacuumer = pinned[writer_pid], pinned[vacuumer_pid]
        stop = threading.Event()
        answers: list[tuple[int, int, Any]] = []
        thread = threading.Thread(target=lambda: answers.extend(_write_loop(writer, db_id, auth, stop)))
        thread.start()
        try:
            for _ in range(6):
                time.sleep(0.1)
                status, answer = vacuumer.request("POST", f"/api/dbs/{db_id}/vacuum", headers=auth)
                assert status == 200, answer
        finally:
            stop.set()
            thread.join()
        assert {status for _, status, _ in answers} == {200}, answers
        acknowledged = {n for n, _, _ in answers}
        assert len(acknowledged) >= 5
        assert _final_rows(http, db_id, auth, tmp_path) == (0, acknowledged)

        # Deleted through one worker: the other closes its idle connections to the file within seconds.
        dbs = str(tmp_path / "data" / "dbs")
        assert _open_files(writer_pid, dbs)
        status, _ = vacuumer.request("DELETE", f"/api/dbs/{db_id}", headers=auth)
        assert status in (200, 204)
        deadline = time.monotonic() + 6
        while _open_files(writer_pid, dbs) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _open_files(writer_pid, dbs)


def _open_files(pid: int, under: str) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(under):
            found.append(target)
    return found
