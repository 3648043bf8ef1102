"""Bounded load on 127.0.0.1: 64 clients mixing reads and writes over 16 databases against a real
server. Exact counts afterwards: no lost or duplicated writes, no 5xx, no "database is locked"."""

from __future__ import annotations

import os
import random
import threading
import time

import httpx2
import pytest

from tests.helpers import sign_up_and_login
from tests.server_process import running_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENTS = 64
DATABASES = 16
SECONDS = float(os.environ.get("AIRSEQUEL_LOAD_SECONDS", "20"))


def test_64_clients_mixed_reads_and_writes_lose_nothing(tmp_path):
    with running_server(tmp_path / "data") as base:
        setup = httpx2.Client(base_url=base, timeout=60)
        auth = {"Authorization": "Bearer " + sign_up_and_login(setup, "load")}
        databases = [
            setup.post(
                "/api/dbs",
                headers=auth,
                json={
                    "name": f"load {i}",
                    "query": "CREATE TABLE w(client INTEGER, n INTEGER, PRIMARY KEY (client, n))",
                },
            ).json()["id"]
            for i in range(DATABASES)
        ]
        acknowledged: dict[str, set[tuple[int, int]]] = {db: set() for db in databases}
        failures: list[str] = []
        latencies: list[float] = []
        lock = threading.Lock()
        deadline = time.monotonic() + SECONDS

        def client(number: int) -> None:
            rng = random.Random(number)
            n = 0
            with httpx2.Client(base_url=base, timeout=60, headers=auth) as http:
                while time.monotonic() < deadline:
                    db = rng.choice(databases)
                    write = rng.random() < 0.3
                    body = (
                        {"query": "INSERT INTO w VALUES (?, ?)", "params": [number, n]}
                        if write
                        else {"query": "SELECT count(*) AS c FROM w"}
                    )
                    started = time.perf_counter()
                    response = http.post(f"/dbs/{db}/sql", json=body)
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        if response.status_code != 200 or response.json()["errors"]:  # an SQL error is a 200
                            failures.append(f"{response.status_code} {response.text[:200]}")
                        elif write:
                            acknowledged[db].add((number, n))
                    n += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert failures == []
        for db in databases:
            rows = setup.post(f"/dbs/{db}/sql", headers=auth, json={"query": "SELECT client, n FROM w"}).json()["rows"]
            stored = [(row["client"], row["n"]) for row in rows]
            assert len(stored) == len(set(stored))  # no duplicates
            assert set(stored) == acknowledged[db]  # nothing lost, nothing unacknowledged
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99)]
        print(f"\n{len(latencies)} requests in {SECONDS:.0f} s by {CLIENTS} clients; p99 {p99 * 1000:.0f} ms")
        assert sum(len(v) for v in acknowledged.values()) > 100
