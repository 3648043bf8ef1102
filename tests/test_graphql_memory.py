"""A real server's memory stays bounded while the issue's GraphQL amplification attacks run (issue 16,
point 4), and GET /api/status answers meanwhile.

The server runs with the cost limit out of the way (AIRSEQUEL_GRAPHQL_MAX_COST at its maximum), so
that the response counter, which works while rows are fetched and shaped, is what stops the attacks:
the in-process tests in test_graphql_limits.py check that the cost limit refuses them first by default.
Before the fix, the 25 aliases took the server from 1.1 to 3.5 GB and 13 levels of nesting past 12.5 GB.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx2
import pytest

from tests.helpers import sign_up_and_login
from tests.server_process import running_server
from tests.test_graphql_limits import TINY  # the tiny tables: 20 rows in a, 400 in b

RSS_GROWTH_BOUND = 400 * 1024 * 1024  # the server may grow by at most this much during the attacks
STATUS_BOUND_SECONDS = 1.0  # and GET /api/status answers within this meanwhile

BIG = (
    "CREATE TABLE big(id INTEGER PRIMARY KEY, s TEXT);"
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)"
    " INSERT INTO big SELECT x, printf('%.*c', 100000, 'x') FROM c"
)


def server_pid(port: str) -> int:
    """The pid of this process's child that serves `port` (tests/server_process.py starts it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and port.encode() in cmdline:
            return int(entry.name)
    raise AssertionError(f"no server process on port {port}")


def rss_bytes(pid: int) -> int:
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def nesting(levels: int, extra: str = "", root_args: str = "") -> str:
    names = ["b_by_a_id", "a_by_a_id"]
    inner = "name"
    for level in range(levels, 1, -1):
        inner = f"name {names[level % 2]} {{ {inner} }}"
    return f"{{ {extra}a{root_args} {{ {inner} }} }}"


@pytest.mark.slow
def test_amplification_attacks_keep_the_server_small_and_responsive(tmp_path):
    env = {"AIRSEQUEL_GRAPHQL_MAX_COST": str(1 << 40)}
    with running_server(tmp_path / "data", env) as base, httpx2.Client(base_url=base, timeout=60) as http:
        pid = server_pid(base.rsplit(":", 1)[1])
        http.headers["Authorization"] = "Bearer " + sign_up_and_login(http, "mallory")
        big = http.post("/api/dbs", json={"name": "big", "query": BIG})
        tiny = http.post("/api/dbs", json={"name": "tiny", "query": TINY})
        assert big.status_code == 201 and tiny.status_code == 201, (big.text, tiny.text)
        big_id, tiny_id = big.json()["id"], tiny.json()["id"]
        readonly_id = http.post(f"/api/dbs/{big_id}/readonly-id").json()["readonlyId"]

        baseline = rss_bytes(pid)
        peak = baseline
        status_times: list[float] = []
        done = threading.Event()

        def watch_memory() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_bytes(pid))
                time.sleep(0.005)

        def watch_status() -> None:
            with httpx2.Client(base_url=base, timeout=30) as other:
                while not done.is_set():
                    started = time.monotonic()
                    assert other.get("/api/status").status_code == 200
                    status_times.append(time.monotonic() - started)
                    time.sleep(0.02)

        watchers = [threading.Thread(target=watch_memory), threading.Thread(target=watch_status)]
        for watcher in watchers:
            watcher.start()
        answers = []
        try:
            aliases = " ".join(f"a{i}: big(limit: 1000) {{ id s }}" for i in range(25))
            anonymous = " ".join(f"a{i}: big(limit: 1000) {{ s }}" for i in range(5))
            started = time.monotonic()
            answers.append(http.post(f"/dbs/{big_id}/graphql", json={"query": f"{{ {aliases} }}"}))
            answers.append(
                httpx2.post(f"{base}/readonly/{readonly_id}/graphql", json={"query": f"{{ {anonymous} }}"}, timeout=60)
            )
            answers.append(http.post(f"/dbs/{tiny_id}/graphql", json={"query": nesting(10)}))
            answers.append(http.post(f"/dbs/{tiny_id}/graphql", json={"query": nesting(12)}))
            # graphql-core's path (here because of the introspection field) builds a dict per copy: 40 MB of
            # JSON (3.2M copies of small rows) would be gigabytes there, so each copy counts 256 bytes more.
            answers.append(
                http.post(
                    f"/dbs/{tiny_id}/graphql",
                    json={"query": nesting(10, "__schema { queryType { name } } ", "(limit: 1)")},
                )
            )
            elapsed = time.monotonic() - started
        finally:
            done.set()
            for watcher in watchers:
                watcher.join()

        for answer in answers:
            assert answer.status_code == 413, answer.text[:300]
            assert "The response is larger than the limit of 67108864 bytes" in answer.json()["errors"][0]["message"]
        growth = peak - baseline
        print(
            f"\nRSS {baseline / 2**20:.0f} MiB before, peak {peak / 2**20:.0f} MiB (+{growth / 2**20:.0f} MiB); "
            f"5 attacks in {elapsed:.2f} s; /api/status: {len(status_times)} answers, slowest {max(status_times):.3f} s"
        )
        assert growth < RSS_GROWTH_BOUND
        assert status_times and max(status_times) < STATUS_BOUND_SECONDS
        # Still serving its tenants afterwards.
        assert http.post(f"/dbs/{tiny_id}/graphql", json={"query": "{ a(limit: 1) { name } }"}).json() == {
            "data": {"a": [{"name": "a1"}]}
        }
