"""Inputs the second reader of issue 19 found answered badly: each now gets a clear answer, never a 500 or
SQLite's own parser message."""

from __future__ import annotations

from tests.helpers import create_db
from tests.test_graphql_reserved_names import gql


def test_edge_inputs_get_clear_answers(client):
    db = create_db(
        client,
        "CREATE TABLE j(id INTEGER PRIMARY KEY, v TEXT, g TEXT, n INTEGER);"
        """INSERT INTO j(v, g, n) VALUES ('{"big": 1}', 'a', 1), ('[]', 'a', 2), ('x', 'b', 3);""",
    )
    big = gql(client, db, "{ j(where: {v: {_contains: {big: 92233720368547758070}}}) { id } }")
    assert big["data"] is None
    assert "does not fit in 64 bits" in big["errors"][0]["message"]

    grouped = gql(client, db, "{ j_group_by(by: [g], order_by: [{count: null}, {keys: {g: DESC}}]) { keys { g } } }")
    assert grouped == {"data": {"j_group_by": [{"keys": {"g": "b"}}, {"keys": {"g": "a"}}]}}
    paged = gql(client, db, "{ j_connection(first: 2, order_by: [{v: null}]) { nodes { id } } }")
    assert paged == {"data": {"j_connection": {"nodes": [{"id": 1}, {"id": 2}]}}}

    deep = "{ j(where: " + "{_not: " * 40 + "{id: {_eq: 1}}" + "}" * 40 + ") { id } }"
    refused = gql(client, db, deep)
    assert refused["data"] is None
    assert "at most 32 levels deep" in refused["errors"][0]["message"]
    shallow = "{ j(where: " + "{_not: " * 2 + "{id: {_eq: 1}}" + "}" * 2 + ") { id } }"
    assert gql(client, db, shallow) == {"data": {"j": [{"id": 1}]}}


def test_search_rank_may_be_null(client):
    db = create_db(client, "CREATE VIRTUAL TABLE notes USING fts5(body); INSERT INTO notes VALUES ('quick fox')")
    kind = gql(client, db, '{ __type(name: "notes_search_result") { fields { name type { kind name } } } }')
    rank = next(f for f in kind["data"]["__type"]["fields"] if f["name"] == "rank")
    assert rank["type"] == {"kind": "SCALAR", "name": "Float"}
    found = gql(client, db, '{ notes_search(match: "quick", weights: [1e308]) { rank node { body } } }')
    assert found["data"]["notes_search"][0]["node"] == {"body": "quick fox"}
