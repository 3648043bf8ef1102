"""T_aggregate in Hasura's shape (docs/graphql.md, "Aggregates"): count, aggregate { count sum avg min max },
nodes, their arguments, types, errors, the same JSON on both execution paths, and the statements run."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, sql

SCHEMA = """
CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT);
CREATE TABLE albums (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  artist_id INTEGER REFERENCES artists(id),
  year INTEGER,
  price REAL,
  cover BLOB
);
INSERT INTO artists VALUES (1, 'Ada', 'UK'), (2, 'Bo', 'US'), (3, 'Cy', 'UK'), (4, 'Di', NULL);
INSERT INTO albums (title, artist_id, year, price) VALUES
  ('a1', 1, 1990, 10.0), ('a2', 1, 1995, 12.5), ('a3', 1, NULL, 7.5),
  ('b1', 2, 2001, 9.0), ('c1', 3, 2010, NULL);
"""


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="music")


def gql(client, db_id, query, headers=None):
    response = client.post(f"/dbs/{db_id}/graphql", json={"query": query}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_count_stays_and_aggregate_fields_answer(client, db):
    query = """{ albums_aggregate(where: {year: {_gte: 1995}}) { count aggregate {
        count n: count(columns: [year]) d: count(columns: [artist_id], distinct: true)
        sum { year price } avg { price } min { title year price } max { title year } } } }"""
    data = gql(client, db, query)["data"]["albums_aggregate"]
    assert data == {
        "count": 3,
        "aggregate": {
            "count": 3,
            "n": 3,
            "d": 3,
            "sum": {"year": 6006.0, "price": 21.5},
            "avg": {"price": 21.5 / 2},
            "min": {"title": "a2", "year": 1995, "price": 9.0},
            "max": {"title": "c1", "year": 2010},
        },
    }
    assert gql(client, db, "{ albums_aggregate { count } }") == {"data": {"albums_aggregate": {"count": 5}}}


def test_both_paths_give_the_same_json(client, db):
    query = """{ albums_aggregate(where: {artist_id: {_eq: 1}}, order_by: [{year: DESC}], limit: 2) {
        __typename count aggregate { __typename count sum { year } max { title } }
        nodes { title year } } }"""
    compiled = gql(client, db, query)
    assert compiled == {
        "data": {
            "albums_aggregate": {
                "__typename": "albums_aggregate_result",
                "count": 2,
                "aggregate": {
                    "__typename": "albums_aggregate_fields",
                    "count": 2,
                    "sum": {"year": 1995.0 + 1990.0},
                    "max": {"title": "a2"},
                },
                "nodes": [{"title": "a2", "year": 1995}, {"title": "a1", "year": 1990}],
            }
        }
    }
    mixed = gql(
        client, db, query.replace("{ albums_aggregate", "{ __typename __schema { queryType { name } } albums_aggregate")
    )
    assert mixed["data"]["albums_aggregate"] == compiled["data"]["albums_aggregate"]


def test_offset_and_empty_sets(client, db):
    query = """{ albums_aggregate(where: {year: {_gt: 3000}}) { count aggregate { count sum { price } avg { year }
        min { title } } nodes { id } } p: albums_aggregate(limit: 2, offset: 3) { count nodes { title } } }"""
    assert gql(client, db, query)["data"] == {
        "albums_aggregate": {
            "count": 0,
            "aggregate": {"count": 0, "sum": {"price": None}, "avg": {"year": None}, "min": {"title": None}},
            "nodes": [],
        },
        "p": {"count": 2, "nodes": [{"title": "b1"}, {"title": "c1"}]},
    }


def test_paging_errors_are_field_errors(client, db):
    for args, message in [
        ("limit: -1", "limit must be positive"),
        ("offset: 2", "cannot specify offset without also specifying a limit"),
    ]:
        answer = gql(client, db, f"{{ albums_aggregate({args}) {{ count }} }}")
        assert answer["data"] is None and answer["errors"][0]["message"] == message, answer


def test_integer_overflow_of_sum_is_a_clear_field_error(client, db):
    sql(client, db, "INSERT INTO albums (title, year) VALUES ('x', 9223372036854775807), ('y', 9223372036854775807)")
    answer = gql(client, db, "{ albums_aggregate { aggregate { sum { year } } } }")
    assert answer["data"] is None
    assert "integer overflow" in answer["errors"][0]["message"]
    assert answer["errors"][0]["path"] == ["albums_aggregate"]
    # avg is a float: no overflow
    answer = gql(client, db, "{ albums_aggregate { aggregate { avg { year } } } }")
    assert answer["data"]["albums_aggregate"]["aggregate"]["avg"]["year"] > 1e18


def test_min_max_keep_the_column_type_and_wide_integers_fail_their_cell(client, db):
    sql(client, db, "INSERT INTO albums (title, year) VALUES ('wide', 3000000000)")
    answer = gql(client, db, "{ albums_aggregate { aggregate { min { year } max { year title } } } }")
    assert answer["data"]["albums_aggregate"]["aggregate"]["min"] == {"year": 1990}
    assert answer["data"]["albums_aggregate"]["aggregate"]["max"] == {"year": None, "title": "wide"}
    assert answer["errors"][0]["path"] == ["albums_aggregate", "aggregate", "max", "year"]


def test_nodes_are_capped_like_a_list(client, db):
    client.app.state.services.live.apply({"graphql_max_rows": 3})
    answer = gql(client, db, "{ albums_aggregate { aggregate { count } nodes { id } } }")
    assert answer["data"] is None
    assert "more than the maximum of 3" in answer["errors"][0]["message"]
    answer = gql(client, db, "{ albums_aggregate { aggregate { count } } }")  # the aggregate is not capped
    assert answer == {"data": {"albums_aggregate": {"aggregate": {"count": 5}}}}
    answer = gql(client, db, "{ albums_aggregate(limit: 10) { count nodes { id } } }")
    assert answer["data"]["albums_aggregate"]["nodes"] == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_one_statement_for_the_aggregate_one_for_the_nodes(client, db):
    from tests.aggregate_statements import statements_of

    sql(
        client,
        db,
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200) "
        "INSERT INTO albums (title, year) SELECT 'more', x FROM n",
    )
    query = "{ albums_aggregate(limit: 300) { count aggregate { sum { year } min { title } } nodes { id } } }"
    gql(client, db, query)  # the schema is built and cached
    with statements_of(client) as seen:
        answer = gql(client, db, query)
    assert answer["data"]["albums_aggregate"]["count"] == 205
    assert len(seen) == 2, seen


def test_relationship_filters_and_orderings_work_inside_aggregates(client, db):
    query = """{ albums_aggregate(order_by: [{artists_by_artist_id: {name: DESC}}], limit: 2) {
        nodes { title } aggregate { count max { title } } }
      artists_aggregate(where: {albums_by_artist_id: {year: {_gte: 2000}}}) { aggregate { count } }
      artists(where: {id: {_lte: 2}}) { albums_by_artist_id_aggregate(where: {artists_by_artist_id: {country: {_eq: "UK"}}}) {
        count } } }"""
    assert gql(client, db, query)["data"] == {
        "albums_aggregate": {
            "nodes": [{"title": "c1"}, {"title": "b1"}],
            "aggregate": {"count": 2, "max": {"title": "c1"}},
        },
        "artists_aggregate": {"aggregate": {"count": 2}},
        "artists": [{"albums_by_artist_id_aggregate": {"count": 3}}, {"albums_by_artist_id_aggregate": {"count": 0}}],
    }


def test_distinct_on_selects_the_rows_aggregated_as_in_a_list(client, db):
    query = """{ albums_aggregate(distinct_on: [artist_id], order_by: [{artist_id: ASC}, {year: DESC}]) {
        count aggregate { sum { year } } nodes { title } }
      p: albums_aggregate(distinct_on: [artist_id], order_by: [{artist_id: ASC}, {year: DESC}], limit: 2) { count } }"""
    assert gql(client, db, query)["data"] == {
        "albums_aggregate": {
            "count": 3,
            "aggregate": {"sum": {"year": 1995.0 + 2001 + 2010}},
            "nodes": [{"title": "a2"}, {"title": "b1"}, {"title": "c1"}],
        },
        "p": {"count": 2},
    }
    answer = gql(client, db, "{ albums_aggregate(distinct_on: [artist_id], order_by: [{year: ASC}]) { count } }")
    assert (
        answer["data"] is None and "order_by must start with the distinct_on columns" in answer["errors"][0]["message"]
    )
