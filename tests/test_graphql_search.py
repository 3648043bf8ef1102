"""Full-text search (docs/graphql.md, "Full-text search"): T_search on FTS5 tables with their own
content, external content and no content; rank, snippet and highlight with bound arguments; refused
queries; shadow tables; access modes; both execution paths and the statements a search runs."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from graphql import execute_sync, parse
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.graphql.bindings import Mode
from airsequel.core.graphql.cells import resolve_by_response_key
from airsequel.core.graphql.engine import GraphQLEngine, _resolver_for
from airsequel.core.graphql.fetch import FetchContext
from airsequel.core.graphql.schema import build_schema
from airsequel.core.sql.introspection import read_tables
from airsequel.http.app import create_app
from tests.helpers import create_db, sign_up_and_login, sql

SCHEMA = """
CREATE VIRTUAL TABLE notes USING fts5(title, body);
INSERT INTO notes (title, body) VALUES
  ('Fox facts', 'The quick brown fox jumps over the lazy dog'),
  ('Dogs', 'A lazy dog sleeps all day long, far from any fox'),
  ('Cats', 'Cats ignore everyone'),
  ('Quick tips', 'Be quick: quick quick quick');
CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT, author TEXT);
INSERT INTO docs VALUES (10, 'SQLite', 'A small fast reliable SQL database engine', 'richard'),
  (20, 'FTS5', 'Full-text search for SQLite databases', 'dan'), (30, 'Other', 'nothing here', 'dan');
CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, content='docs', content_rowid='id');
INSERT INTO docs_fts (docs_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE tags USING fts5(label, content='');
INSERT INTO tags (rowid, label) VALUES (7, 'red green'), (8, 'green blue');
"""


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="searched")


def gql(client, db_id, query, variables=None, headers=None):
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post(f"/dbs/{db_id}/graphql", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_search_ranks_and_marks_matches(client, db):
    result = gql(
        client,
        db,
        '{ notes_search(match: "quick") { rank highlight(column: title) '
        's: snippet(column: body, before: "[", after: "]", ellipsis: "...", tokens: 4) node { rowid title } } }',
    )
    assert "errors" not in result, result
    hits = result["data"]["notes_search"]
    assert [hit["node"] for hit in hits] == [{"rowid": 4, "title": "Quick tips"}, {"rowid": 1, "title": "Fox facts"}]
    expected = sql(client, db, "SELECT rowid, rank FROM notes WHERE notes MATCH 'quick' ORDER BY rank").json()["rows"]
    assert [hit["rank"] for hit in hits] == [row["rank"] for row in expected]
    assert hits[0]["rank"] < hits[1]["rank"] < 0  # bm25: lower is better
    assert hits[0]["highlight"] == "<b>Quick</b> tips"
    assert hits[1]["highlight"] == "Fox facts"
    assert hits[1]["s"] == "The [quick] brown fox..."


def test_function_arguments_are_values_not_sql(client, db):
    sneaky = "'); DROP TABLE docs; --"
    result = gql(
        client,
        db,
        "query($m: String!, $b: String) { notes_search(match: $m) { highlight(column: body, before: $b, after: $b) } }",
        {"m": "cats", "b": sneaky},
    )
    assert result == {"data": {"notes_search": [{"highlight": f"{sneaky}Cats{sneaky} ignore everyone"}]}}
    assert sql(client, db, "SELECT count(*) AS n FROM docs").json()["rows"] == [{"n": 3}]


def test_where_limit_offset_and_query_syntax(client, db):
    query = "query($m: String!) { notes_search(match: $m, limit: 2, offset: 1) { node { rowid } } }"
    second = sql(
        client, db, "SELECT rowid FROM notes WHERE notes MATCH 'fox OR quick' ORDER BY rank, rowid LIMIT 2 OFFSET 1"
    ).json()["rows"]
    assert len(second) == 2
    assert gql(client, db, query, {"m": "fox OR quick"}) == {"data": {"notes_search": [{"node": r} for r in second]}}
    filtered = gql(client, db, '{ notes_search(match: "lazy", where: {title: {_eq: "Dogs"}}) { node { title } } }')
    assert filtered == {"data": {"notes_search": [{"node": {"title": "Dogs"}}]}}
    column_filter = gql(client, db, '{ notes_search(match: "title: quick") { node { rowid } } }')
    assert column_filter == {"data": {"notes_search": [{"node": {"rowid": 4}}]}}
    nothing = gql(client, db, '{ notes_search(match: "zebra") { rank } }')
    assert nothing == {"data": {"notes_search": []}}


def test_external_content_and_contentless_tables(client, db):
    result = gql(
        client,
        db,
        '{ docs_fts_search(match: "sqlite") { snippet(column: body, tokens: 3) node { rowid title } } '
        'tags_search(match: "green") { node { rowid } } }',
    )
    assert "errors" not in result, result
    # The rows come from the content table, best match first.
    assert [hit["node"] for hit in result["data"]["docs_fts_search"]] == [
        {"rowid": 20, "title": "FTS5"},
        {"rowid": 10, "title": "SQLite"},
    ]
    assert result["data"]["docs_fts_search"][0]["snippet"] == "…for <b>SQLite</b> databases"
    # A contentless table holds no text, only which rows match.
    assert result["data"]["tags_search"] == [{"node": {"rowid": 7}}, {"node": {"rowid": 8}}]


@pytest.mark.parametrize(
    ("match", "message"),
    [
        (
            "quick AND (",
            'match is not a valid FTS5 query (fts5: syntax error near ""): see SQLite\'s FTS5 query syntax',
        ),
        ("nope: fox", "match is not a valid FTS5 query (no such column: nope): see SQLite's FTS5 query syntax"),
        ('"unclosed', "match is not a valid FTS5 query (unterminated string): see SQLite's FTS5 query syntax"),
    ],
)
def test_a_bad_match_is_a_graphql_error(client, db, match, message):
    result = gql(client, db, "query($m: String!) { notes_search(match: $m) { rank } }", {"m": match})
    assert result["data"] is None
    assert result["errors"][0]["message"] == message
    assert result["errors"][0]["path"] == ["notes_search"]
    assert sql(client, db, "SELECT count(*) AS n FROM notes").json()["rows"] == [{"n": 4}]


@pytest.mark.parametrize("tokens", [0, 65, -1])
def test_snippet_tokens_are_bounded(client, db, tokens):
    result = gql(client, db, f'{{ notes_search(match: "fox") {{ snippet(tokens: {tokens}) }} }}')
    assert result["data"] is None
    assert result["errors"][0]["message"] == "tokens must be between 1 and 64"


def test_shadow_tables_get_no_fields_and_only_fts5_tables_search(client, db):
    fields = {
        t["name"]
        for t in gql(client, db, "{ __schema { queryType { fields { name } } } }")["data"]["__schema"]["queryType"][
            "fields"
        ]
    }
    assert {"notes_search", "docs_fts_search", "tags_search", "notes", "docs"} <= fields
    assert "docs_search" not in fields
    assert not [
        name for name in fields if name.startswith(("notes_data", "notes_idx", "notes_config", "notes_docsize"))
    ]
    assert not [name for name in fields if name.startswith("notes_content")]


def test_graphql_max_tables_does_not_count_shadow_tables(tmp_path):
    settings = Settings.from_env(data_dir=tmp_path / "data", secret_key="k", graphql_max_tables=4)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = "Bearer " + sign_up_and_login(client, "fts")
        # 4 tables the schema shows, and the shadow tables of the three FTS5 tables.
        db = create_db(client, SCHEMA)
        stored = sql(client, db, "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").json()["rows"]
        assert stored[0]["n"] >= 4 + 9
        assert "errors" not in gql(client, db, '{ notes_search(match: "fox") { rank } }')
        sql(client, db, "CREATE TABLE one_more (x)")
        answer = client.post(f"/dbs/{db}/graphql", json={"query": "{ docs { id } }"})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["message"].startswith("This database has 5 tables and views, more than the 4")


def test_insert_only_callers_get_no_search():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    tables = read_tables(conn)
    read = build_schema(tables, Mode.READ_ONLY, _resolver_for).schema.query_type
    assert read is not None and "notes_search" in read.fields
    for mode in (Mode.INSERT_ONLY, Mode.WRITE_ONLY):
        query_type = build_schema(tables, mode, _resolver_for).schema.query_type
        assert query_type is not None
        assert not [name for name in query_type.fields if name.endswith("_search")]


def test_the_compiled_path_and_graphql_core_answer_alike(client, db):
    query = """query {
      a: notes_search(match: "lazy OR quick") {
        __typename rank h: highlight(column: body, before: "<", after: ">") h2: highlight(column: title)
        snippet node { rowid title } again: node { body }
      }
    }"""
    compiled = gql(client, db, query)
    assert "errors" not in compiled, compiled
    fallback = gql(client, db, query.replace("query {", "query { __schema { queryType { name } }"))
    fallback["data"].pop("__schema")
    assert fallback == compiled
    first = compiled["data"]["a"][0]
    assert first["__typename"] == "notes_search_result"
    assert set(first) == {"__typename", "rank", "h", "h2", "snippet", "node", "again"}
    assert set(first["node"]) == {"rowid", "title"} and set(first["again"]) == {"body"}


def test_search_runs_on_the_compiled_path(services, monkeypatch):
    record = services.hosting.create("compiled", query=SCHEMA)
    engine = GraphQLEngine(services.hosting)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the request fell back to graphql-core's path")

    monkeypatch.setattr(engine, "_execute_with_graphql_core", refused)
    result = engine.execute(record, Mode.READ_ONLY, '{ docs_fts_search(match: "sqlite") { rank node { title } } }')
    assert [hit["node"]["title"] for hit in result["data"]["docs_fts_search"]] == ["FTS5", "SQLite"]


def test_a_search_is_one_statement_whatever_it_matches():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO notes (title, body) SELECT 't' || i, 'common word ' || i FROM n"
    )
    generated = build_schema(read_tables(conn), Mode.READ_ONLY, _resolver_for)
    for limit in (3, 1000):
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        ctx = FetchContext(conn, generated, "/api/dbs/x", Mode.READ_ONLY, max_rows=5000, max_depth=10)
        document = parse(
            f'{{ notes_search(match: "common", limit: {limit}) {{ rank snippet highlight(column: body) node {{ title }} }} }}'
        )
        result = execute_sync(generated.schema, document, context_value=ctx, field_resolver=resolve_by_response_key)
        conn.set_trace_callback(None)
        assert not result.errors and result.data is not None
        assert len(result.data["notes_search"]) == limit
        # FTS5's own reads of its shadow tables are traced too, marked as nested ("-- ").
        assert len([s for s in statements if not s.startswith("--")]) == 1, statements
    capped = execute_sync(
        generated.schema,
        parse('{ notes_search(match: "common") { rank } }'),
        context_value=FetchContext(conn, generated, "/x", Mode.READ_ONLY, max_rows=100, max_depth=10),
        field_resolver=resolve_by_response_key,
    )
    assert capped.errors is not None
    assert capped.errors[0].message == (
        "The search matches more than the maximum of 100 rows: use limit (and offset) to page"
    )


def test_an_external_content_tables_rows_lead_to_their_content_rows(client, db):
    result = gql(
        client,
        db,
        '{ docs_fts_search(match: "sqlite") { node { title docs_by_rowid { id author } } } notes { rowid } }',
    )
    assert "errors" not in result, result
    assert [hit["node"] for hit in result["data"]["docs_fts_search"]] == [
        {"title": "FTS5", "docs_by_rowid": {"id": 20, "author": "dan"}},
        {"title": "SQLite", "docs_by_rowid": {"id": 10, "author": "richard"}},
    ]
    listed = gql(client, db, "{ docs_fts(order_by: [{rowid: DESC}]) { docs_by_rowid { title } } }")
    assert listed == {"data": {"docs_fts": [{"docs_by_rowid": {"title": t}} for t in ("Other", "FTS5", "SQLite")]}}
    # Only external-content tables have it: a table with its own content, or none, has no content row.
    row_fields = gql(client, db, '{ __type(name: "notes_row") { fields { name } } }')["data"]["__type"]["fields"]
    assert [f["name"] for f in row_fields if "_by_" in f["name"]] == []


def test_content_options_are_read_as_fts5_writes_them():
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        """
        CREATE TABLE "Doc Store" (key INTEGER PRIMARY KEY, text TEXT);
        INSERT INTO "Doc Store" VALUES (5, 'hello there');
        CREATE VIRTUAL TABLE a USING fts5(text, content="Doc Store", content_rowid=key);
        INSERT INTO a (a) VALUES ('rebuild');
        CREATE VIRTUAL TABLE b USING fts5(text, content='gone');
        """
    )
    generated = build_schema(read_tables(conn), Mode.READ_ONLY, _resolver_for)
    assert list(generated.tables["a"].relationships) == ["DocXX0Store_by_rowid"]
    assert generated.tables["b"].relationships == {}
    ctx = FetchContext(conn, generated, "/x", Mode.READ_ONLY, max_rows=10, max_depth=10)
    document = parse('{ a_search(match: "hello") { node { DocXX0Store_by_rowid { key } } } }')
    result = execute_sync(generated.schema, document, context_value=ctx, field_resolver=resolve_by_response_key)
    assert result.errors is None
    assert result.data == {"a_search": [{"node": {"DocXX0Store_by_rowid": {"key": 5}}}]}


def test_weights_weigh_the_columns_in_rank_and_order(client, db):
    query = 'query($w: [Float!]) { notes_search(match: "fox OR dog", weights: $w) { rank node { rowid } } }'
    for weights in ([1.0, 1.0], [10.0, 0.1], [0.1, 10.0], [5.0]):
        marks = ", ".join(str(w) for w in weights)
        expected = sql(
            client,
            db,
            f"SELECT rowid, bm25(notes, {marks}) AS r FROM notes WHERE notes MATCH 'fox OR dog' ORDER BY r, rowid",
        ).json()["rows"]
        hits = gql(client, db, query, {"w": weights})["data"]["notes_search"]
        assert [(h["node"]["rowid"], h["rank"]) for h in hits] == [(row["rowid"], row["r"]) for row in expected]
    by_title = gql(client, db, query, {"w": [10.0, 0.1]})["data"]["notes_search"]
    by_body = gql(client, db, query, {"w": [0.1, 10.0]})["data"]["notes_search"]
    assert [h["rank"] for h in by_title] != [h["rank"] for h in by_body]  # the weights are used
    # Weights, a filter and the functions' arguments together: each value lands on its own parameter.
    mixed = gql(
        client,
        db,
        'query($w: [Float!]) { notes_search(match: "fox OR dog", weights: $w, where: {title: {_neq: "Dogs"}}, '
        'limit: 5) { highlight(column: title, before: "<", after: ">") node { rowid } } }',
        {"w": [2.0, 1.0]},
    )
    assert mixed == {"data": {"notes_search": [{"highlight": "<Fox> facts", "node": {"rowid": 1}}]}}
    for bad in ([], [1.0, 2.0, 3.0]):
        refused = gql(client, db, query, {"w": bad})
        assert refused["data"] is None
        assert (
            refused["errors"][0]["message"] == "weights must have between 1 and 2 values, one for each column in order"
        )


def test_a_search_filters_by_its_content_rows_columns(client, db):
    result = gql(
        client,
        db,
        '{ docs_fts_search(match: "sqlite", weights: [1, 2], where: {docs_by_rowid: {author: {_eq: "dan"}}}) '
        "{ snippet(column: body) node { rowid } } }",
    )
    assert result == {
        "data": {
            "docs_fts_search": [{"snippet": "Full-text search for <b>SQLite</b> databases", "node": {"rowid": 20}}]
        }
    }
