"""GraphQL ordering beyond columns (docs/graphql.md, "Ordering"): a parent's column, an aggregate of
children (count, max, min), and distinct_on; both execution paths, refusals, statements counted."""

from __future__ import annotations

import time

import pytest

from tests.helpers import create_db, sql
from tests.test_graphql_filters_logic import SCHEMA, both_paths, gql, statements_of


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="music")


def titles(data):
    return [row["title"] for row in data["albums"]]


def test_order_by_a_parents_column(client, db):
    query = "{ albums(order_by: [{artists_by_artist_id: {name: DESC}}, {id: ASC}]) { title } }"
    # Queen, Nirvana, Björk; the orphan album (no artist, NULL) sorts last descending.
    assert titles(both_paths(client, db, query)) == [
        "Live Killers",
        "A Night at the Opera",
        "Nevermind",
        "MTV Unplugged Live",
        "Debut",
        "Orphan",
    ]
    query = "{ tracks(order_by: {albums_by_album_id: {artists_by_artist_id: {name: ASC}, year: DESC}}) { name } }"
    assert [r["name"] for r in both_paths(client, db, query)["tracks"]] == [
        "Human Behaviour",
        "Smells Like Teen Spirit",
        "Lithium",
        "Bohemian Rhapsody",
        "Love of My Life",
    ]


def test_order_by_an_aggregate_of_children(client, db):
    query = "{ artists(order_by: [{albums_by_artist_id_aggregate: {count: DESC}}, {name: ASC}]) { name } }"
    assert [r["name"] for r in both_paths(client, db, query)["artists"]] == ["Nirvana", "Queen", "Björk", "Silent"]
    query = "{ artists(order_by: {albums_by_artist_id_aggregate: {max: {year: DESC}}}) { name } }"
    assert [r["name"] for r in both_paths(client, db, query)["artists"]] == ["Nirvana", "Björk", "Queen", "Silent"]
    query = "{ artists(order_by: {albums_by_artist_id_aggregate: {min: {title: ASC}}}, limit: 2) { name } }"
    assert [r["name"] for r in both_paths(client, db, query)["artists"]] == ["Silent", "Queen"]


def test_distinct_on_keeps_the_first_row_of_each_set_in_the_order_given(client, db):
    query = "{ albums(distinct_on: [artist_id], order_by: [{artist_id: ASC}, {year: DESC}]) { title artist_id } }"
    assert both_paths(client, db, query)["albums"] == [
        {"title": "Orphan", "artist_id": None},
        {"title": "Live Killers", "artist_id": 1},
        {"title": "MTV Unplugged Live", "artist_id": 2},
        {"title": "Debut", "artist_id": 3},
    ]
    query = """{ albums(distinct_on: [artist_id], where: {year: {_lt: 1992}}, order_by: [{artist_id: DESC}, {year: ASC}],
        limit: 1, offset: 1) { title } }"""
    assert titles(both_paths(client, db, query)) == ["A Night at the Opera"]
    # Without order_by: the first row of each set by rowid.
    query = "{ albums(distinct_on: [artist_id]) { title } }"
    assert titles(both_paths(client, db, query)) == ["Live Killers", "Nevermind", "Debut", "Orphan"]


def test_distinct_on_needs_order_by_to_start_with_its_columns(client, db):
    data = gql(client, db, "{ albums(distinct_on: [artist_id], order_by: {year: DESC}) { title } }")
    assert data["data"] is None
    assert data["errors"][0]["message"] == (
        "distinct_on: order_by must start with the distinct_on columns (artist_id), in any order, before any other term"
    )


def test_distinct_on_takes_variables(client, db):
    query = "query ($d: [albums_column!]) { albums(distinct_on: $d, order_by: {artist_id: ASC}) { title } }"
    assert len(both_paths(client, db, query, {"d": ["artist_id"]})["albums"]) == 4


def test_orderings_and_distinct_on_are_one_statement(client, db):
    query = """{ artists(order_by: [{albums_by_artist_id_aggregate: {count: DESC}}, {name: ASC}]) { name }
        albums(distinct_on: [artist_id], order_by: [{artist_id: ASC}, {artists_by_artist_id: {name: ASC}}]) { title } }"""
    gql(client, db, query)  # the schema is built first
    values = ", ".join(f"({i}, 'a{i}', 2000, {1 + i % 3})" for i in range(10, 400))
    sql(client, db, f"INSERT INTO albums VALUES {values}")
    with statements_of(client) as seen:
        data = gql(client, db, query)
    assert [r["name"] for r in data["data"]["artists"]] == ["Nirvana", "Queen", "Björk", "Silent"]
    assert len(data["data"]["albums"]) == 4
    assert len(seen) == 2


def test_fields_that_order_by_columns_only_refuse_related_rows_clearly(client, db):
    query = "{ albums_connection(first: 2, order_by: {artists_by_artist_id: {name: ASC}}) { nodes { title } } }"
    response = client.post(f"/dbs/{db}/graphql", json={"query": query})
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == (
        "order_by artists_by_artist_id: pages order by columns only, not by related rows"
    )
    query = "{ albums_group_by(by: [artist_id], order_by: {keys: {artists_by_artist_id: {name: ASC}}}) { keys { artist_id } } }"
    response = client.post(f"/dbs/{db}/graphql", json={"query": query})
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "order_by keys.artists_by_artist_id: the column is not in by"
    # Aggregates over a page of rows take the whole ordering.
    query = "{ albums_aggregate(order_by: {artists_by_artist_id: {name: DESC}}, limit: 2) { nodes { title } } }"
    assert both_paths(client, db, query)["albums_aggregate"]["nodes"] == [
        {"title": "Live Killers"},
        {"title": "A Night at the Opera"},
    ]


def test_relationship_filters_and_aggregate_orderings_stay_linear_without_an_index(client):
    """No index on albums.artist_id: a subquery run once per artist would scan every album for each
    (4,000 x 40,000 rows: seconds); looked up in a list or a grouped subquery built once, milliseconds."""
    db = create_db(
        client,
        """CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER REFERENCES artists(id));
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n LIMIT 4000)
          INSERT INTO artists SELECT i, 'artist ' || i FROM n;
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n LIMIT 40000)
          INSERT INTO albums SELECT i, CASE WHEN i % 97 = 0 THEN 'Live' ELSE 'Studio' END, i % 4000 FROM n;""",
        name="big",
    )
    query = """{ artists(where: {albums_by_artist_id: {title: {_eq: "Live"}}},
        order_by: [{albums_by_artist_id_aggregate: {count: DESC, max: {id: DESC}}}], limit: 3) { id } }"""
    gql(client, db, "{ artists(limit: 1) { id } }")  # the schema is built before timing
    started = time.monotonic()
    data = gql(client, db, query)
    assert time.monotonic() - started < 1.5
    counted = sql(
        client,
        db,
        """SELECT artist_id FROM albums WHERE artist_id IN (SELECT artist_id FROM albums WHERE title = 'Live')
        GROUP BY artist_id ORDER BY count(*) DESC, max(id) DESC LIMIT 3""",
    ).json()["rows"]
    assert len(counted) == 3
    assert data["data"]["artists"] == [{"id": row["artist_id"]} for row in counted]


def test_distinct_on_a_view_is_refused(client):
    db = create_db(client, "CREATE TABLE t (a INTEGER); CREATE VIEW v AS SELECT a FROM t;", name="views")
    data = gql(client, db, "{ v(distinct_on: [a]) { a } }")
    assert data["data"] is None
    assert data["errors"][0]["message"] == "distinct_on needs a table with a rowid or a primary key (this is a view)"
