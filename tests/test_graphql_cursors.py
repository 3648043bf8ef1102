"""Keyset pagination (docs/graphql.md, "Pagination with cursors"): T_connection's pages against the
order SQLite itself gives, rows inserted between pages, refused cursors, limits, access modes, both
execution paths and the statements a page runs."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from graphql import execute_sync, parse

from airsequel.core.graphql.bindings import Mode
from airsequel.core.graphql.cells import resolve_by_response_key
from airsequel.core.graphql.engine import _resolver_for
from airsequel.core.graphql.fetch import FetchContext
from airsequel.core.graphql.schema import build_schema
from airsequel.core.sql.introspection import read_tables
from tests.helpers import create_db, sql

SCHEMA = """
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, score INTEGER, weight REAL, tag BLOB);
INSERT INTO items (name, score, weight, tag) VALUES
  ('a', 3, 1.5, x'01'), ('b', NULL, 2.5, NULL), ('c', 1, 1.5, x'02'), ('d', 3, NULL, x'01'),
  ('e', NULL, 9e999, NULL), ('f', 2, -9e999, x'03'), ('g', 1, 0.0, x''), ('h', 3, 1.5, NULL);
CREATE TABLE pairs (a TEXT NOT NULL, b INTEGER NOT NULL, v TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
INSERT INTO pairs VALUES ('x', 2, 'x2'), ('x', 1, 'x1'), ('y', 1, 'y1'), ('w', 5, 'w5');
CREATE TABLE notes (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
INSERT INTO notes (item_id, body) VALUES (1, 'n1'), (1, 'n2'), (3, 'n3');
CREATE VIEW named AS SELECT name FROM items;
"""


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="paged")


def gql(client, db_id, query, variables=None, headers=None):
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post(f"/dbs/{db_id}/graphql", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $order: [items_order_by]) {
  items_connection(first: $first, after: $after, last: $last, before: $before, order_by: $order) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def walk(client, db_id, order, size, *, backward=False):
    """Every id, page by page of `size`, following endCursor (or startCursor backward)."""
    seen: list[int] = []
    cursor = None
    for _ in range(50):
        if backward:
            variables = {"last": size, "before": cursor, "order": order}
        else:
            variables = {"first": size, "after": cursor, "order": order}
        result = gql(client, db_id, PAGE, variables)
        assert "errors" not in result, result
        page = result["data"]["items_connection"]
        ids = [edge["node"]["id"] for edge in page["edges"]]
        seen = ids + seen if backward else seen + ids
        info = page["pageInfo"]
        if page["edges"]:
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        if not more:
            return seen
        cursor = info["startCursor"] if backward else info["endCursor"]
    raise AssertionError("pages did not end")


ORDERS = [
    ([], "rowid"),
    ([{"score": "ASC"}], "score ASC, rowid"),
    ([{"score": "DESC"}], "score DESC, rowid DESC"),
    ([{"score": "DESC"}, {"name": "DESC"}], "score DESC, name DESC, rowid DESC"),
    ([{"weight": "ASC"}, {"score": "DESC"}], "weight ASC, score DESC, rowid DESC"),
    ([{"score": "DESC"}, {"weight": "ASC"}], "score DESC, weight ASC, rowid ASC"),
    ([{"tag": "DESC"}, {"weight": "DESC"}], "tag DESC, weight DESC, rowid DESC"),
    ([{"name": "DESC"}], "name DESC, rowid DESC"),
    ([{"id": "ASC"}, {"score": "DESC"}], "id ASC"),
    ([{"id": "DESC"}], "id DESC"),
]


@pytest.mark.parametrize(("order", "sql_order"), ORDERS)
def test_pages_forward_and_backward_follow_sqlites_order(client, db, order, sql_order):
    expected = [row["id"] for row in sql(client, db, f"SELECT id FROM items ORDER BY {sql_order}").json()["rows"]]
    assert len(expected) == 8
    for size in (1, 3, 8, 20):
        assert walk(client, db, order, size) == expected, (order, size)
        assert walk(client, db, order, size, backward=True) == expected, (order, size)


def test_page_info_and_nodes(client, db):
    first = gql(
        client, db, "{ items_connection(first: 3) { nodes { id name } pageInfo { hasNextPage hasPreviousPage } } }"
    )
    assert first == {
        "data": {
            "items_connection": {
                "nodes": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}],
                "pageInfo": {"hasNextPage": True, "hasPreviousPage": False},
            }
        }
    }
    everything = gql(client, db, "{ items_connection { nodes { id } pageInfo { hasNextPage } } }")
    assert [n["id"] for n in everything["data"]["items_connection"]["nodes"]] == list(range(1, 9))
    assert everything["data"]["items_connection"]["pageInfo"]["hasNextPage"] is False
    empty = gql(
        client, db, "{ items_connection(first: 0) { edges { cursor } pageInfo { startCursor endCursor hasNextPage } } }"
    )
    assert empty["data"]["items_connection"] == {
        "edges": [],
        "pageInfo": {"startCursor": None, "endCursor": None, "hasNextPage": True},
    }


def test_where_and_relationships_in_a_page(client, db):
    result = gql(
        client,
        db,
        '{ items_connection(first: 2, where: {name: {_in: ["a", "c", "d"]}}) '
        "{ edges { node { id notes_by_item_id { body } } } pageInfo { hasNextPage } } }",
    )
    assert result == {
        "data": {
            "items_connection": {
                "edges": [
                    {"node": {"id": 1, "notes_by_item_id": [{"body": "n1"}, {"body": "n2"}]}},
                    {"node": {"id": 3, "notes_by_item_id": [{"body": "n3"}]}},
                ],
                "pageInfo": {"hasNextPage": True},
            }
        }
    }


def test_rows_inserted_between_pages_are_neither_repeated_nor_skipped(client, db):
    order = [{"score": "ASC"}]
    first = gql(client, db, PAGE, {"first": 3, "order": order})["data"]["items_connection"]
    got = [edge["node"]["id"] for edge in first["edges"]]
    # Rows sorting before the cursor (NULL scores, score 0) and after it (score 2 and 9), and one with
    # the cursor's own score (1) which sorts after it by the tie-breaker (a higher rowid).
    sql(
        client,
        db,
        "INSERT INTO items (id, name, score) VALUES (100, 'early', NULL), (101, 'zero', 0), "
        "(102, 'two', 2), (103, 'nine', 9), (104, 'one', 1)",
    )
    cursor = first["pageInfo"]["endCursor"]
    while True:
        page = gql(client, db, PAGE, {"first": 3, "after": cursor, "order": order})["data"]["items_connection"]
        got += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
        sql(client, db, "DELETE FROM items WHERE id = 101")  # a deleted row before the cursor moves nothing
    assert len(got) == len(set(got)), got
    assert got[:3] == [2, 5, 3]  # NULL, NULL, then score 1 (rowid 3)
    assert got[3:] == [7, 104, 6, 102, 1, 4, 8, 103]  # all that sorts after the first page, nothing before it
    # Offsets, for comparison, would have shown a row of the first page again.


def test_a_without_rowid_table_pages_by_its_primary_key(client, db):
    query = (
        "query($after: String) { pairs_connection(first: 2, after: $after) { nodes { a b } pageInfo { endCursor } } }"
    )
    first = gql(client, db, query)["data"]["pairs_connection"]
    assert first["nodes"] == [{"a": "w", "b": 5}, {"a": "x", "b": 1}]
    second = gql(client, db, query, {"after": first["pageInfo"]["endCursor"]})["data"]["pairs_connection"]
    assert second["nodes"] == [{"a": "x", "b": 2}, {"a": "y", "b": 1}]


def _cursor(client, db, query):
    return gql(client, db, query)["data"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('first: 2, after: "not a cursor!"', "after is not a cursor: pass a cursor this field returned"),
        ('last: 2, before: "eyJ4IjoxfQ"', "before is not a cursor: pass a cursor this field returned"),
        ("first: 2, last: 2", "Give first (with after) or last (with before), not both"),
        ("first: -1", "first must not be negative"),
        ("last: -3", "last must not be negative"),
    ],
)
def test_bad_arguments_are_clear_errors(client, db, arguments, message):
    before = sql(client, db, "SELECT count(*) AS n FROM items").json()["rows"]
    result = gql(client, db, f"{{ items_connection({arguments}) {{ nodes {{ id }} }} }}")
    assert result["data"] is None
    assert result["errors"][0]["message"] == message
    assert result["errors"][0]["path"] == ["items_connection"]
    assert sql(client, db, "SELECT count(*) AS n FROM items").json()["rows"] == before


def test_a_cursor_of_another_table_or_order_is_refused(client, db):
    notes_cursor = gql(client, db, "{ notes_connection(first: 1) { pageInfo { endCursor } } }")["data"]
    foreign = notes_cursor["notes_connection"]["pageInfo"]["endCursor"]
    by_score = gql(client, db, "{ items_connection(first: 1, order_by: [{score: ASC}]) { pageInfo { endCursor } } }")
    other_order = by_score["data"]["items_connection"]["pageInfo"]["endCursor"]
    expected = "after is a cursor of another table or another order_by: pass a cursor this field returned with the same order_by"
    for cursor, order in ((foreign, "[]"), (other_order, "[{score: DESC}]"), (other_order, "[]")):
        result = gql(
            client,
            db,
            f"query($c: String) {{ items_connection(first: 1, after: $c, order_by: {order}) {{ nodes {{ id }} }} }}",
            {"c": cursor},
        )
        assert result["data"] is None
        assert result["errors"][0]["message"] == expected
    same = gql(
        client,
        db,
        "query($c: String) { items_connection(first: 1, after: $c, order_by: [{score: ASC}]) { nodes { id } } }",
        {"c": other_order},
    )
    assert same == {"data": {"items_connection": {"nodes": [{"id": 5}]}}}


def test_views_and_insert_only_callers_get_no_connection():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    tables = read_tables(conn)
    read = build_schema(tables, Mode.READ_ONLY, _resolver_for).schema.query_type
    assert read is not None
    assert {"items_connection", "pairs_connection", "notes_connection"} <= set(read.fields)
    assert "named_connection" not in read.fields and "named" in read.fields
    for mode in (Mode.INSERT_ONLY, Mode.WRITE_ONLY):
        fields = build_schema(tables, mode, _resolver_for).schema.query_type
        assert fields is not None
        assert not [name for name in fields.fields if name.endswith("_connection")]


# --- the two execution paths, the row cap, statements --------------------------------------------


def test_the_compiled_path_and_graphql_core_answer_alike(client, db):
    query = """query($after: String) {
      p: items_connection(first: 3, after: $after, order_by: [{weight: DESC}]) {
        __typename
        edges { __typename cursor node { id tag t: tag } }
        again: edges { node { name notes_by_item_id { body } } }
        nodes { id }
        pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
      }
    }"""
    compiled = gql(client, db, query)
    assert "errors" not in compiled
    # An introspection field sends the whole document to graphql-core's executor.
    fallback = gql(
        client, db, query.replace("query($after: String) {", "query($after: String) { __schema { queryType { name } }")
    )
    fallback["data"].pop("__schema")
    assert fallback == compiled
    page = compiled["data"]["p"]
    assert page["__typename"] == "items_connection"
    assert [e["node"]["id"] for e in page["edges"]] == [5, 2, 8]  # weight infinity, 2.5, then 1.5 by rowid DESC
    after = page["pageInfo"]["endCursor"]
    compiled2 = gql(client, db, query, {"after": after})
    fallback2 = gql(
        client,
        db,
        query.replace("query($after: String) {", "query($after: String) { __schema { queryType { name } }"),
        {"after": after},
    )
    fallback2["data"].pop("__schema")
    assert compiled2 == fallback2
    assert [n["id"] for n in compiled2["data"]["p"]["nodes"]] == [3, 1, 7]  # 1.5 (rowid 3, 1), then 0.0


def run_directly(conn: sqlite3.Connection, query: str, max_rows: int = 100) -> tuple[Any, list[str]]:
    """The query on graphql-core's path over `conn`, with every statement SQLite ran."""
    generated = build_schema(read_tables(conn), Mode.READ_ONLY, _resolver_for)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    ctx = FetchContext(conn, generated, "/api/dbs/x", Mode.READ_ONLY, max_rows=max_rows, max_depth=10)
    try:
        result = execute_sync(generated.schema, parse(query), context_value=ctx, field_resolver=resolve_by_response_key)
    finally:
        conn.set_trace_callback(None)
    assert not result.errors, result.errors
    return result.data, statements


def test_a_page_is_one_statement_whatever_its_size_and_first_is_capped():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
        "INSERT INTO notes (item_id, body) SELECT 1 + i % 8, 'x' || i FROM n"
    )
    for size in (2, 50):
        data, statements = run_directly(
            conn, f"{{ notes_connection(first: {size}) {{ edges {{ node {{ id items_by_item_id {{ name }} }} }} }} }}"
        )
        assert len(data["notes_connection"]["edges"]) == size
        assert len(statements) == 2, statements  # the page, and one for its rows' items
    data, statements = run_directly(
        conn, "{ notes_connection(first: 400) { nodes { id } pageInfo { hasNextPage } } }", 30
    )
    assert len(data["notes_connection"]["nodes"]) == 30  # graphql_max_rows caps first
    assert data["notes_connection"]["pageInfo"]["hasNextPage"] is True
    assert len(statements) == 1


def test_the_cost_estimate_counts_a_pages_rows(client, db):
    aliases = " ".join(f"a{i}: items_connection(first: 10000) {{ nodes {{ id }} }}" for i in range(30))
    response = client.post(f"/dbs/{db}/graphql", json={"query": f"{{ {aliases} }}"})
    assert response.status_code == 413, response.text
    assert "graphql_max_cost" in response.json()["errors"][0]["message"]


def test_connections_run_on_the_compiled_path(services, monkeypatch):
    from airsequel.core.graphql.engine import GraphQLEngine

    record = services.hosting.create("compiled", query=SCHEMA)
    engine = GraphQLEngine(services.hosting)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the request fell back to graphql-core's path")

    monkeypatch.setattr(engine, "_execute_with_graphql_core", refused)
    query = (
        "{ items_connection(last: 2, order_by: [{tag: ASC}]) { edges { cursor node { id tag notes_by_item_id { body } } }"
        " nodes { name } pageInfo { hasPreviousPage hasNextPage } } }"
    )
    result = engine.execute(record, Mode.READ_ONLY, query)
    page = result["data"]["items_connection"]
    # By tag: NULL (2, 5, 8), x'' (7), x'01' (1, 4), x'02' (3), x'03' (6): the last two.
    assert [edge["node"]["id"] for edge in page["edges"]] == [3, 6]
    assert page["edges"][0]["node"]["notes_by_item_id"] == [{"body": "n3"}]
    assert page["nodes"] == [{"name": "c"}, {"name": "f"}]
    assert page["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}


def test_a_page_larger_than_the_response_limit_is_refused(client, db):
    sql(client, db, "INSERT INTO notes (item_id, body) SELECT 1, printf('%.500c', 'x') FROM items, items AS b")
    assert client.patch("/api/settings", json={"maxResponseBytes": 4096}).status_code == 200
    response = client.post(f"/dbs/{db}/graphql", json={"query": "{ notes_connection(first: 60) { nodes { body } } }"})
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["message"].startswith("The response is larger than the limit of 4096 bytes")
    small = gql(client, db, "{ notes_connection(first: 2) { nodes { id } } }")
    assert small == {"data": {"notes_connection": {"nodes": [{"id": 1}, {"id": 2}]}}}


def test_cursors_in_the_query_text_take_the_plan_path_alike(client, db):
    """The same text shape with a different literal cursor shares one plan (plans.py): same pages."""
    order = [{"score": "DESC"}]
    expected = walk(client, db, order, 3)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        after = f', after: "{cursor}"' if cursor else ""
        page = gql(
            client,
            db,
            f"{{ items_connection(first: 3{after}, order_by: [{{score: DESC}}]) "
            "{ nodes { id } pageInfo { hasNextPage endCursor } } }",
        )["data"]["items_connection"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert seen == expected


@pytest.mark.parametrize(
    ("order", "nullable"),
    [("score: ASC", True), ("score: DESC", False), ("score: ASC", False)],
)
def test_a_page_past_a_cursor_seeks_an_index_on_its_order(order, nullable):
    conn = sqlite3.connect(":memory:")
    not_null = "" if nullable else " NOT NULL"
    conn.executescript(
        f"CREATE TABLE t (id INTEGER PRIMARY KEY, score INTEGER{not_null}, name TEXT); CREATE INDEX t_score ON t (score);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "INSERT INTO t (score, name) SELECT i % 100, 'x' FROM n"
    )
    first, _ = run_directly(
        conn, f"{{ t_connection(first: 2, order_by: [{{{order}}}]) {{ pageInfo {{ endCursor }} }} }}"
    )
    cursor = first["t_connection"]["pageInfo"]["endCursor"]
    data, statements = run_directly(
        conn, f'{{ t_connection(first: 2, after: "{cursor}", order_by: [{{{order}}}]) {{ nodes {{ id score }} }} }}'
    )
    assert len(data["t_connection"]["nodes"]) == 2
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statements[0]}"))
    assert "SEARCH t USING" in plan and "INDEX t_score (score" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_collated_column_pages_in_its_collation(client):
    db = create_db(
        client,
        "CREATE TABLE words (w TEXT COLLATE NOCASE); "
        "INSERT INTO words VALUES ('b'), ('A'), ('a'), ('B'), (NULL), ('c'), ('a'), ('C')",
    )
    query = """query($after: String) {
      words_connection(first: 2, after: $after, order_by: [{w: ASC}]) { nodes { rowid } pageInfo { hasNextPage endCursor } }
    }"""
    seen: list[int] = []
    after = None
    while True:
        page = gql(client, db, query, {"after": after})["data"]["words_connection"]
        seen += [node["rowid"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = sql(client, db, "SELECT rowid FROM words ORDER BY w ASC, rowid ASC").json()["rows"]
    assert seen == [row["rowid"] for row in expected] == [5, 2, 3, 7, 1, 4, 6, 8]


def test_ordering_by_related_rows_is_refused_and_filters_by_them_work(client, db):
    refused = gql(client, db, "{ notes_connection(order_by: [{items_by_item_id: {name: ASC}}]) { nodes { id } } }")
    assert refused["data"] is None
    assert (
        refused["errors"][0]["message"] == "order_by items_by_item_id: pages order by columns only, not by related rows"
    )
    related = gql(
        client,
        db,
        '{ items_connection(first: 5, where: {notes_by_item_id: {body: {_like: "n%"}}}) { nodes { id } } }',
    )
    assert related == {"data": {"items_connection": {"nodes": [{"id": 1}, {"id": 3}]}}}
