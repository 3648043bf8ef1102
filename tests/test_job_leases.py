"""Export jobs across worker processes: claimed once under a lease, taken over when the runner dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airsequel.config import Settings
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.services import Services

ROWS = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT {n}) SELECT i, printf('v%d', i) FROM c"


@pytest.fixture
def second(settings: Settings, services: Services) -> Iterator[Services]:
    """The services of a second worker process over the same data directory (separate objects, its own
    control-plane connection), as `airsequel serve --workers 2` has."""
    other = Services._start_locked(settings)
    yield other
    other.stop()


def make_jobs(services: Services, users: int, jobs_each: int, rows: int = 10) -> list[str]:
    jobs = []
    for number in range(users):
        user = services.accounts.create_user(
            f"user{number}", f"user{number}@example.org", "a long password", first_is_admin=False
        )
        principal = services.principals.for_user(user)
        # Building the rows is set-up, not what is tested: not under the suite's 1 s limit (a loaded machine
        # took longer for 1.5 million rows); the jobs themselves run under it again.
        limit = services.live.current.sql_time_limit_seconds
        services.live.apply({"sql_time_limit_seconds": 120.0})
        try:
            record = services.hosting.create(
                "data", owner=f"user{number}", query=f"CREATE TABLE t(id, v); INSERT INTO t {ROWS.format(n=rows)}"
            )
        finally:
            services.live.apply({"sql_time_limit_seconds": limit})
        for _ in range(jobs_each):
            job = services.exports.create(principal, {"name": "j", "databases": [record.id], "media_type": "text/csv"})
            jobs.append(job["id"])
    return jobs


def wait_until_finished(control: ControlPlane, jobs: list[str], timeout: float = 30) -> dict[str, tuple]:
    deadline = time.monotonic() + timeout
    while True:
        found = {
            row["id"]: (row["status"], row["attempts"], row["claimed_by"], row["error"])
            for row in control.query("SELECT * FROM export_jobs")
        }
        if all(found.get(job, ("STARTED",))[0] in ("SUCCESS", "FAILED") for job in jobs):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs did not finish: {found}")
        time.sleep(0.05)


CLAIMER = """
import sys, time
from pathlib import Path
from airsequel.core.exports.leases import JobLeases
from airsequel.core.registry.control_plane import ControlPlane
leases = JobLeases(ControlPlane(Path(sys.argv[1])), lease_seconds=600)
print("ready", flush=True)
while not Path(sys.argv[2]).exists():
    time.sleep(0.001)
mode = sys.argv[3]
while True:
    job = leases.claim()
    if job is None:
        break
    print(job["id"], flush=True)
    if mode == "hold":
        time.sleep(600)
    time.sleep(0.005)  # the work
    leases.update_held("UPDATE export_jobs SET status = 'SUCCESS' WHERE id = ?", (job["id"],))
"""


def claimer(control_file: Path, go: Path, mode: str) -> subprocess.Popen[str]:
    """A process that claims jobs once `go` exists (after it printed "ready"), and holds or finishes each."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CLAIMER), str(control_file), str(go), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def next_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


@pytest.mark.sqlite_control_plane
def test_three_processes_claiming_at_once_take_each_job_once(tmp_path):
    control_file = tmp_path / "control.sqlite"
    control = ControlPlane(control_file)
    jobs = [f"job{n:03}" for n in range(90)]
    with control.transaction() as conn:
        conn.executemany(
            "INSERT INTO export_jobs(id, name, team, request_json, status, created_utc) VALUES (?, 'j', ?, '{}',"
            " 'STARTED', '2026-01-01')",
            [(job, f"team{n}") for n, job in enumerate(jobs)],  # each its own team: none waits for another
        )
    go = tmp_path / "go"
    processes = [claimer(control_file, go, "finish") for _ in range(3)]
    go.touch()
    claimed = [process.communicate(timeout=60)[0].split() for process in processes]
    everything = [job for some in claimed for job in some]
    assert sorted(everything) == jobs  # every job once: none twice, none left
    assert sum(1 for some in claimed if some) >= 2  # they did compete
    assert rows(control, "SELECT DISTINCT status, attempts FROM export_jobs") == [("SUCCESS", 1)]


def test_two_workers_run_every_job_once(services, second):
    jobs = make_jobs(services, users=4, jobs_each=3, rows=20_000)
    # What is tested is the claiming, not the time limit: twelve exports of 20,000 rows at once on a loaded 2-core
    # machine took longer than the suite's 1 s (the last clean-clone run failed one of them so).
    for worker in (services, second):
        worker.live.apply({"sql_time_limit_seconds": 30.0})
    services.exports.start()
    second.exports.start()
    finished = wait_until_finished(services.control, jobs)
    assert {finished[job][:2] for job in jobs} == {("SUCCESS", 1)}  # each claimed once, and finished
    runners = {finished[job][2] for job in jobs}
    assert runners == {services.exports.leases.worker_id, second.exports.leases.worker_id}
    for job in jobs:
        (artifact,) = (services.layout.exports_dir / job).iterdir()
        assert artifact.read_text().count("\n") == 20_001  # header and every row, from whichever worker


@pytest.mark.sqlite_control_plane
def test_a_job_whose_runner_was_killed_is_finished_by_another_worker(services, tmp_path):
    jobs = make_jobs(services, users=2, jobs_each=1)
    go = tmp_path / "go"
    go.touch()
    doomed = claimer(services.layout.control_file, go, "hold")
    doomed_job = next_line(doomed)
    alive = claimer(services.layout.control_file, go, "hold")
    alive_job = next_line(alive)
    assert sorted([doomed_job, alive_job]) == sorted(jobs)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    services.exports.poll_seconds = 0.1
    services.exports.start()
    try:
        finished = wait_until_finished(services.control, [doomed_job])
        assert finished[doomed_job][:2] == ("SUCCESS", 2)  # its second attempt, by this worker
        assert finished[doomed_job][2] == services.exports.leases.worker_id
        time.sleep(0.5)
        # A live process's job is left to it while its lease lasts.
        assert rows(services.control, "SELECT status, attempts FROM export_jobs WHERE id = ?", (alive_job,)) == [
            ("RUNNING", 1)
        ]
    finally:
        alive.kill()
        alive.wait()
    finished = wait_until_finished(services.control, [alive_job])
    assert finished[alive_job][:2] == ("SUCCESS", 2)
    assert not services.control.query("SELECT id FROM export_jobs WHERE status = 'RUNNING'")


def rows(control: ControlPlane, sql: str, params: tuple = ()) -> list[tuple]:
    return [tuple(row) for row in control.query(sql, params)]


def expire_claim(control: ControlPlane, job: str, *, attempts: int, lease_in: float) -> None:
    """The job as a worker of another machine left it: RUNNING, under a lease that runs out `lease_in` s from now."""
    control.execute(
        "UPDATE export_jobs SET status = 'RUNNING', claimed_by = 'elsewhere:1:01J', lease_until = ?, attempts = ?"
        " WHERE id = ?",
        (time.time() + lease_in, attempts, job),
    )


def test_a_job_of_a_silent_worker_elsewhere_is_taken_over_when_its_lease_runs_out(services):
    (job,) = make_jobs(services, users=1, jobs_each=1)
    expire_claim(services.control, job, attempts=1, lease_in=1.0)
    services.exports.poll_seconds = 0.1
    services.exports.start()
    time.sleep(0.6)
    assert rows(services.control, "SELECT status, claimed_by FROM export_jobs") == [("RUNNING", "elsewhere:1:01J")]
    finished = wait_until_finished(services.control, [job])
    assert finished[job][:2] == ("SUCCESS", 2)


def test_a_job_interrupted_on_its_last_attempt_is_marked_failed_not_retried(services):
    (job,) = make_jobs(services, users=1, jobs_each=1)
    expire_claim(services.control, job, attempts=3, lease_in=-1)
    (services.layout.exports_dir / job / "work-01J").mkdir(parents=True)
    services.exports.start()
    finished = wait_until_finished(services.control, [job])
    assert finished[job][0] == "FAILED" and finished[job][1] == 3
    assert finished[job][3] == "The export was interrupted 3 times (its worker process ended): it is not tried again"
    deadline = time.monotonic() + 5
    while (services.layout.exports_dir / job).exists():  # its files go right after the status is written
        assert time.monotonic() < deadline, "the failed job's folder stayed"
        time.sleep(0.01)
    assert not services.control.query("SELECT id FROM export_jobs WHERE status = 'RUNNING'")


def test_a_runner_that_lost_its_lease_changes_nothing(services):
    (job,) = make_jobs(services, users=1, jobs_each=1)
    leases = services.exports.leases
    claimed = leases.claim()
    assert claimed is not None and claimed["id"] == job
    services.control.execute("UPDATE export_jobs SET claimed_by = 'elsewhere:1:01J' WHERE id = ?", (job,))
    assert leases.renew() == {job} and leases.held == set()
    assert not leases.update_held("UPDATE export_jobs SET status = 'SUCCESS' WHERE id = ?", (job,))
    assert rows(services.control, "SELECT status, claimed_by FROM export_jobs") == [("RUNNING", "elsewhere:1:01J")]


def test_a_graceful_stop_hands_a_running_job_back_without_counting_the_attempt(services):
    (job,) = make_jobs(services, users=1, jobs_each=1, rows=1_500_000)
    services.exports.start()
    deadline = time.monotonic() + 20
    while services.control.query("SELECT status FROM export_jobs")[0][0] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    services.exports.stop()
    assert rows(services.control, "SELECT status, attempts, claimed_by, lease_until FROM export_jobs") == [
        ("STARTED", 0, None, None)
    ]
    assert list((services.layout.exports_dir / job).glob("work-*")) == []
