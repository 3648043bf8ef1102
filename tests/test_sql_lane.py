"""A runaway query must not hold up quick requests, though SQLite work shares a small thread lane."""

from __future__ import annotations

import threading
import time

from tests.helpers import create_db, sql

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def test_quick_requests_are_served_while_queries_run_away(client):
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1)")
    results: list[int] = []
    runaways = [threading.Thread(target=lambda: results.append(sql(client, db, RUNAWAY).status_code)) for _ in range(3)]
    for thread in runaways:
        thread.start()
    time.sleep(0.3)
    quick = []
    for _ in range(5):
        started = time.monotonic()
        assert sql(client, db, "SELECT a FROM t").json()["rows"] == [{"a": 1}]
        quick.append(time.monotonic() - started)
    for thread in runaways:
        thread.join()
    assert results == [504, 504, 504]  # each aborted at the 1 s limit of the test settings
    assert max(quick) < 0.5, quick


def test_reads_over_the_quick_budget_finish_on_the_lane_with_the_same_answer(client):
    db = create_db(client, "CREATE TABLE t(a)")
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300000) SELECT count(*) AS n, sum(x) AS s FROM c"
    assert sql(client, db, slow).json()["rows"] == [{"n": 300000, "s": 300000 * 300001 // 2}]
    graphql = client.post(f"/dbs/{db}/graphql", json={"query": "{ t { a } }"}).json()
    assert graphql == {"data": {"t": []}}
    assert (
        client.post(f"/dbs/{db}/graphql", json={"query": "{ t { a } }"}).json() == graphql
    )  # the quick path, cached schema
