"""R_aggregate beside array relationships (docs/graphql.md, "Aggregates"): counts and sums per parent, a where
on the children, nodes, both execution paths, and one GROUP BY statement per level whatever the row count."""

from __future__ import annotations

import pytest

from tests.aggregate_statements import statements_of
from tests.helpers import create_db, sql
from tests.test_graphql_aggregates_root import SCHEMA, gql


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="music")


QUERY = """{ artists(where: {id: {_lte: 4}}) { name
    albums_by_artist_id_aggregate(where: {year: {_gte: 1991}}) { count aggregate { count sum { price } max { year } } }
    all: albums_by_artist_id_aggregate { aggregate { count } nodes { title } } } }"""

EXPECTED = [
    {
        "name": "Ada",
        "albums_by_artist_id_aggregate": {
            "count": 1,
            "aggregate": {"count": 1, "sum": {"price": 12.5}, "max": {"year": 1995}},
        },
        "all": {"aggregate": {"count": 3}, "nodes": [{"title": "a1"}, {"title": "a2"}, {"title": "a3"}]},
    },
    {
        "name": "Bo",
        "albums_by_artist_id_aggregate": {
            "count": 1,
            "aggregate": {"count": 1, "sum": {"price": 9.0}, "max": {"year": 2001}},
        },
        "all": {"aggregate": {"count": 1}, "nodes": [{"title": "b1"}]},
    },
    {
        "name": "Cy",
        "albums_by_artist_id_aggregate": {
            "count": 1,
            "aggregate": {"count": 1, "sum": {"price": None}, "max": {"year": 2010}},
        },
        "all": {"aggregate": {"count": 1}, "nodes": [{"title": "c1"}]},
    },
    {
        "name": "Di",
        "albums_by_artist_id_aggregate": {
            "count": 0,
            "aggregate": {"count": 0, "sum": {"price": None}, "max": {"year": None}},
        },
        "all": {"aggregate": {"count": 0}, "nodes": []},
    },
]


def test_counts_and_sums_per_parent_on_both_paths(client, db):
    assert gql(client, db, QUERY) == {"data": {"artists": EXPECTED}}
    mixed = gql(client, db, QUERY.replace("{ artists", "{ __schema { queryType { name } } artists", 1))
    assert mixed["data"]["artists"] == EXPECTED
    assert "errors" not in mixed


def test_nested_under_an_outgoing_relationship(client, db):
    query = "{ albums(limit: 2) { title artists_by_artist_id { albums_by_artist_id_aggregate { count } } } }"
    assert gql(client, db, query)["data"]["albums"] == [
        {"title": "a1", "artists_by_artist_id": {"albums_by_artist_id_aggregate": {"count": 3}}},
        {"title": "a2", "artists_by_artist_id": {"albums_by_artist_id_aggregate": {"count": 3}}},
    ]


def test_statements_do_not_grow_with_rows(client, db):
    counts = []
    for extra in (10, 300):
        sql(
            client,
            db,
            f"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {extra}) "
            "INSERT INTO artists (name) SELECT 'more ' || x FROM n; "
            "INSERT INTO albums (title, artist_id, year) SELECT 'x', id, 2000 FROM artists WHERE id > 4",
        )
        query = """{ artists(limit: 350) { name albums_by_artist_id_aggregate(where: {year: {_gt: 1}}) {
            aggregate { count } } } }"""
        gql(client, db, query)  # the schema is built and cached
        with statements_of(client) as seen:
            answer = gql(client, db, query)
        assert answer["data"]["artists"][-1]["albums_by_artist_id_aggregate"]["aggregate"]["count"] >= 1
        counts.append(len(seen))
        assert any("GROUP BY" in s for s in seen), seen
    assert counts == [2, 2], counts  # the parents, one GROUP BY for all of them (at most 400 keys a statement)


def test_a_where_on_the_children_is_bound(client, db):
    query = """{ artists(where: {id: {_eq: 1}}) { albums_by_artist_id_aggregate(where: {title: {_eq: "a1' OR 1=1 --"}}) {
        count } } }"""
    assert gql(client, db, query)["data"] == {"artists": [{"albums_by_artist_id_aggregate": {"count": 0}}]}


def test_a_wide_integer_fails_only_its_cell_on_both_paths(client, db):
    sql(client, db, "INSERT INTO albums (title, artist_id, year) VALUES ('wide', 2, 3000000000)")
    query = "{ artists(where: {id: {_lte: 2}}) { name albums_by_artist_id_aggregate { aggregate { count max { year } } } } }"
    answer = gql(client, db, query)
    assert answer["data"]["artists"] == [
        {"name": "Ada", "albums_by_artist_id_aggregate": {"aggregate": {"count": 3, "max": {"year": 1995}}}},
        {"name": "Bo", "albums_by_artist_id_aggregate": {"aggregate": {"count": 2, "max": {"year": None}}}},
    ]
    assert [e["path"] for e in answer["errors"]] == [
        ["artists", 1, "albums_by_artist_id_aggregate", "aggregate", "max", "year"]
    ]
