"""GraphQL filters (docs/graphql.md, "Filters"): `_and`/`_or`/`_not`, several operators on one column,
filters across relationships (EXISTS), `_is_null`; the same JSON on both execution paths; refusals;
a bounded number of statements."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from airsequel.core.graphql.schema import Mode, build_schema
from airsequel.core.sql.introspection import read_tables
from tests.aggregate_statements import statements_of
from tests.helpers import create_db, sql

SCHEMA = """
CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT);
CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER,
  artist_id INTEGER REFERENCES artists(id));
CREATE TABLE tracks (id INTEGER PRIMARY KEY, name TEXT NOT NULL, seconds INTEGER,
  album_id INTEGER REFERENCES albums(id));
CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, manager_id INTEGER REFERENCES employees(id));
INSERT INTO artists VALUES (1, 'Queen', 'UK'), (2, 'Nirvana', 'US'), (3, 'Björk', NULL), (4, 'Silent', 'US');
INSERT INTO albums VALUES (1, 'Live Killers', 1979, 1), (2, 'A Night at the Opera', 1975, 1),
  (3, 'Nevermind', 1991, 2), (4, 'MTV Unplugged Live', 1994, 2), (5, 'Debut', 1993, 3), (6, 'Orphan', NULL, NULL);
INSERT INTO tracks VALUES (1, 'Bohemian Rhapsody', 354, 2), (2, 'Love of My Life', 219, 2),
  (3, 'Smells Like Teen Spirit', 301, 3), (4, 'Human Behaviour', 252, 5), (5, 'Lithium', 257, 3);
INSERT INTO employees VALUES (1, 'boss', NULL), (2, 'mid', 1), (3, 'low', 2), (4, 'solo', NULL);
"""


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="music")


def gql(client, db_id, query, variables=None):
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post(f"/dbs/{db_id}/graphql", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def both_paths(client, db_id, query, variables=None):
    """The compiled path's answer, checked equal to graphql-core's (an introspection field beside the
    root fields sends the same document to graphql-core's executor)."""
    compiled = gql(client, db_id, query, variables)
    assert "errors" not in compiled, compiled
    mixed = gql(client, db_id, query.replace("{", "{ __schema { queryType { name } } ", 1), variables)
    assert "errors" not in mixed, mixed
    mixed["data"].pop("__schema")
    assert mixed == compiled
    return compiled["data"]


def names(data, field="artists"):
    return [row["name"] for row in data[field]]


def test_or_and_not_nest(client, db):
    query = """{ artists(where: {_or: [{name: {_eq: "Queen"}}, {_and: [{country: {_eq: "US"}}, {_not: {name: {_like: "S%"}}}]}]}) { name } }"""
    assert names(both_paths(client, db, query)) == ["Queen", "Nirvana"]
    query = '{ artists(where: {_not: {_or: [{country: {_eq: "US"}}, {country: {_is_null: true}}]}}) { name } }'
    assert names(both_paths(client, db, query)) == ["Queen"]


def test_several_operators_on_one_column_are_all_applied(client, db):
    data = both_paths(client, db, "{ albums(where: {year: {_gte: 1979, _lt: 1994}}) { title } }")
    assert [row["title"] for row in data["albums"]] == ["Live Killers", "Nevermind", "Debut"]
    data = both_paths(
        client, db, '{ albums(where: {year: {_gt: 1970}, title: {_like: "%Live%", _neq: "Live Killers"}}) { title } }'
    )
    assert [row["title"] for row in data["albums"]] == ["MTV Unplugged Live"]


def test_empty_and_is_true_and_empty_or_is_false(client, db):
    assert len(both_paths(client, db, "{ artists(where: {_and: []}) { name } }")["artists"]) == 4
    assert both_paths(client, db, "{ artists(where: {_or: []}) { name } }")["artists"] == []
    assert both_paths(client, db, "{ artists(where: {_not: {}}) { name } }")["artists"] == []


def test_is_null(client, db):
    assert names(both_paths(client, db, "{ artists(where: {country: {_is_null: true}}) { name } }")) == ["Björk"]
    assert len(both_paths(client, db, "{ artists(where: {country: {_is_null: false}}) { name } }")["artists"]) == 3


def test_parents_by_their_children_with_exists_semantics(client, db):
    query = '{ artists(where: {albums_by_artist_id: {title: {_like: "%Live%"}}}) { name } }'
    assert names(both_paths(client, db, query)) == ["Queen", "Nirvana"]
    # An empty filter on a relationship: having any child at all.
    assert names(both_paths(client, db, "{ artists(where: {albums_by_artist_id: {}}) { name } }")) == [
        "Queen",
        "Nirvana",
        "Björk",
    ]
    assert names(both_paths(client, db, "{ artists(where: {_not: {albums_by_artist_id: {}}}) { name } }")) == ["Silent"]


def test_children_by_their_parent(client, db):
    query = '{ albums(where: {artists_by_artist_id: {country: {_eq: "US"}}}) { title } }'
    assert [r["title"] for r in both_paths(client, db, query)["albums"]] == ["Nevermind", "MTV Unplugged Live"]


def test_relationship_filters_nest_and_combine_with_logic(client, db):
    query = """{ artists(where: {albums_by_artist_id: {tracks_by_album_id: {seconds: {_gt: 300}}}}) { name } }"""
    assert names(both_paths(client, db, query)) == ["Queen", "Nirvana"]
    query = """{ artists(where: {albums_by_artist_id: {_and: [{year: {_lt: 1980}},
        {tracks_by_album_id: {name: {_like: "Love%"}}}]}}) { name } }"""
    assert names(both_paths(client, db, query)) == ["Queen"]
    # Down and back up: tracks whose album's artist has an album from 1991.
    query = """{ tracks(where: {albums_by_album_id: {artists_by_artist_id: {albums_by_artist_id: {year: {_eq: 1991}}}}})
        { name } }"""
    assert names(both_paths(client, db, query), "tracks") == ["Smells Like Teen Spirit", "Lithium"]


def test_a_table_related_to_itself(client, db):
    # employees_by_manager_id is the manager (object), employees_by_manager_id_ the reports (array).
    query = '{ employees(where: {employees_by_manager_id_: {name: {_eq: "low"}}}) { name } }'
    assert names(both_paths(client, db, query), "employees") == ["mid"]
    query = '{ employees(where: {employees_by_manager_id: {employees_by_manager_id: {name: {_eq: "boss"}}}}) { name } }'
    assert names(both_paths(client, db, query), "employees") == ["low"]
    query = "{ employees(where: {employees_by_manager_id_: {employees_by_manager_id_: {}}}) { name } }"
    assert names(both_paths(client, db, query), "employees") == ["boss"]


def test_filters_take_variables(client, db):
    query = "query ($w: artists_filter) { artists(where: $w) { name } }"
    where = {"_or": [{"albums_by_artist_id": {"year": {"_gt": 1992}}}, {"name": {"_eq": "Queen"}}]}
    assert names(both_paths(client, db, query, {"w": where})) == ["Queen", "Nirvana", "Björk"]


def test_relationship_filters_in_mutations_and_aggregates(client, db):
    data = gql(client, db, "{ albums_aggregate(where: {tracks_by_album_id: {}}) { count } }")
    assert data == {"data": {"albums_aggregate": {"count": 3}}}
    data = gql(
        client,
        db,
        'mutation { delete_tracks(where: {albums_by_album_id: {artists_by_artist_id: {name: {_eq: "Nirvana"}}}}) { affected_rows } }',
    )
    assert data == {"data": {"delete_tracks": {"affected_rows": 2}}}
    assert sql(client, db, "SELECT name FROM tracks ORDER BY id").json()["rows"] == [
        {"name": "Bohemian Rhapsody"},
        {"name": "Love of My Life"},
        {"name": "Human Behaviour"},
    ]


def test_refusals_are_clear_and_change_nothing(client, db):
    data = gql(client, db, "{ artists(where: {country: {_is_null: null}}) { name } }")
    assert data["errors"][0]["message"] == "_is_null must not be null"
    data = gql(client, db, "{ artists(where: {albums_by_artist_id: {nope: {_eq: 1}}}) { name } }")
    assert "nope" in data["errors"][0]["message"]
    deep = "{}"
    for _ in range(5):
        deep = "{albums_by_artist_id: {artists_by_artist_id: " + deep + "}}"
    data = gql(client, db, f"mutation {{ delete_artists(where: {deep}) {{ affected_rows }} }}")
    assert data["errors"][0]["message"] == "Filters and orderings may nest at most 8 relationships"
    assert sql(client, db, "SELECT count(*) AS n FROM artists").json()["rows"] == [{"n": 4}]


def test_filters_are_one_statement_whatever_the_rows(client, db):
    query = """{ artists(where: {_or: [{albums_by_artist_id: {tracks_by_album_id: {seconds: {_gt: 1}}}},
        {name: {_eq: "Silent"}}]}) { name albums_by_artist_id { title } } }"""
    gql(client, db, query)  # the schema is built (reading the file's tables) before counting
    with statements_of(client) as few:
        gql(client, db, query)
    values = ", ".join(f"({i}, 'a{i}', 2000, 1)" for i in range(10, 300))
    sql(client, db, f"INSERT INTO albums VALUES {values}")
    sql(client, db, "INSERT INTO tracks SELECT id + 100, 't', 10, id FROM albums WHERE id >= 10")
    with statements_of(client) as many:
        assert len(gql(client, db, query)["data"]["artists"]) == 4
    assert len(few) == len(many) == 2  # the artists, then their albums in one batch


def test_write_only_filters_have_no_relationship_fields():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    tables = read_tables(conn)
    write_only = build_schema(tables, Mode.WRITE_ONLY, lambda root: None).schema
    insert_only = build_schema(tables, Mode.INSERT_ONLY, lambda root: None).schema
    assert "albums_by_artist_id" not in insert_only.type_map["artists_filter"].fields
    assert "albums_by_artist_id_aggregate" not in insert_only.type_map["artists_order_by"].fields
    read = build_schema(tables, Mode.READ_ONLY, lambda root: None).schema
    assert "albums_by_artist_id" in read.type_map["artists_filter"].fields
    assert "albums_by_artist_id" not in write_only.type_map["artists_filter"].fields
    assert {"_and", "_or", "_not"} <= set(write_only.type_map["artists_filter"].fields)


def test_aliases_never_take_the_root_tables_name_and_columns_keep_logical_names(client):
    db = create_db(
        client,
        """CREATE TABLE T1 (id INTEGER PRIMARY KEY, up INTEGER REFERENCES T1(id), "_or" TEXT);
        INSERT INTO T1 VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c');""",
        name="aliases",
    )
    query = '{ T1(where: {T1_by_up_: {T1_by_up_: {_or: {_eq: "c"}}}}) { id } }'
    assert both_paths(client, db, query) == {"T1": [{"id": 1}]}
    query = "{ T1(order_by: {T1_by_up: {T1_by_up: {id: DESC}}}, where: {_and: [{up: {_is_null: false}}]}) { id } }"
    assert both_paths(client, db, query) == {"T1": [{"id": 3}, {"id": 2}]}


def test_an_upserts_where_may_filter_by_relationships(client, db):
    upsert = """mutation { insert_albums(objects: [{id: %d, title: "new", artist_id: 1}],
        on_conflict: {constraint: [id], update_columns: [title],
        where: {artists_by_artist_id: {name: {_eq: "Queen"}}}}) { affected_rows } }"""
    assert gql(client, db, upsert % 1) == {"data": {"insert_albums": {"affected_rows": 1}}}  # Queen's: updated
    assert gql(client, db, upsert % 3) == {"data": {"insert_albums": {"affected_rows": 0}}}  # Nirvana's: kept
    rows = sql(client, db, "SELECT id, title FROM albums WHERE id IN (1, 3) ORDER BY id").json()["rows"]
    assert rows == [{"id": 1, "title": "new"}, {"id": 3, "title": "Nevermind"}]


def test_a_long_or_is_not_refused_for_sqlites_expression_depth(client, db):
    """SQLite refuses an expression deeper than 200: 1,000 terms are joined as a balanced tree."""
    where = {"_or": [{"name": {"_eq": f"x{i}"}} for i in range(1000)] + [{"id": {"_eq": 2}}]}
    query = "query ($w: artists_filter) { artists(where: $w) { name } }"
    assert names(both_paths(client, db, query, {"w": where})) == ["Nirvana"]
    where = {"_and": [{"id": {"_gt": -i}} for i in range(1000)] + [{"name": {"_eq": "Queen"}}]}
    assert names(both_paths(client, db, query, {"w": where})) == ["Queen"]
