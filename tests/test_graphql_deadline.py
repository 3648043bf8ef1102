"""A GraphQL read stopped at the time limit is a GraphQL error, never a 500."""

from __future__ import annotations

from tests.helpers import create_db

ENDLESS = "CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"


def test_a_read_past_the_deadline_answers_a_graphql_error(client):
    db = create_db(client, f"CREATE TABLE t(a); {ENDLESS}")
    answer = client.post(f"/dbs/{db}/graphql", json={"query": "{ endless(limit: 1, offset: 100000000) { x } }"})
    assert answer.status_code == 200
    assert answer.json() == {
        "data": None,
        "errors": [{"message": "The query exceeded the time limit of 1 s and was aborted"}],
    }
    assert client.post(f"/dbs/{db}/graphql", json={"query": "{ t { a } }"}).json() == {"data": {"t": []}}
