"""Cloud functions in a cluster of three real `serve --cluster` nodes: managed through any node (the routes
name the database, so they run on its owner), and called through a node that does not own the database: the
call runs there, and its sql() requests, which name the database, are routed to the owner like any other."""

from __future__ import annotations

import pytest

from tests.cluster_processes import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]

CODE = """export default async (context) => {
  await context.sql("INSERT INTO t(v) VALUES (?)", [context.data.v]);
  return { data: (await context.sql("SELECT v FROM t ORDER BY v")).rows.map((r) => r.v) };
}"""


def test_a_function_called_through_a_node_that_does_not_own_its_database_writes_on_the_owner(cluster: Cluster):
    db = cluster.create_db("a", name="fns")
    owner, _ = cluster.placement("a", db)
    stranger = next(name for name in "abc" if name != owner)
    made = cluster.request(
        stranger, "POST", f"/api/dbs/{db}/functions", json={"name": "w", "content": CODE, "permission": "write"}
    )
    assert made.status_code == 201, made.text
    assert made.headers.get("x-airsequel-node") == owner
    fid = made.json()["id"]
    called = cluster.request(stranger, "POST", f"/fns/{fid}", json={"v": "through-" + stranger})
    assert called.status_code == 200, called.text
    assert called.json() == ["through-" + stranger]
    assert called.headers.get("x-airsequel-node") == stranger  # the call ran where it arrived
    for via in "abc":
        rows = cluster.request(via, "POST", f"/dbs/{db}/sql", json={"query": "SELECT v FROM t"})
        assert rows.status_code == 200 and rows.json()["rows"] == [{"v": "through-" + stranger}], rows.text
    invocations = cluster.request(owner, "GET", f"/api/dbs/{db}/functions/{fid}/invocations").json()["invocations"]
    assert [i["ok"] for i in invocations] == [True]
    assert cluster.integrity_problems() == {}
