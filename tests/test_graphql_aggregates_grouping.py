"""T_group_by (docs/graphql.md, "Grouping"): keys and aggregates per group, having, ordering, paging, the row
cap, errors, both paths, one statement; access modes and the cost estimate of every aggregate field."""

from __future__ import annotations

import pytest

from tests.aggregate_statements import statements_of
from tests.helpers import bearer, create_db, sql
from tests.test_graphql_aggregates_root import SCHEMA, gql


@pytest.fixture
def db(client):
    return create_db(client, SCHEMA, name="music")


def test_groups_with_keys_and_aggregates(client, db):
    query = """{ albums_group_by(by: [artist_id], where: {year: {_is_null: false}}) {
        keys { artist_id } aggregate { count sum { year } avg { price } min { title } } } }"""
    query = query.replace(", where: {year: {_is_null: false}}", "")
    assert gql(client, db, query)["data"]["albums_group_by"] == [
        {
            "keys": {"artist_id": 1},
            "aggregate": {"count": 3, "sum": {"year": 3985.0}, "avg": {"price": 10.0}, "min": {"title": "a1"}},
        },
        {
            "keys": {"artist_id": 2},
            "aggregate": {"count": 1, "sum": {"year": 2001.0}, "avg": {"price": 9.0}, "min": {"title": "b1"}},
        },
        {
            "keys": {"artist_id": 3},
            "aggregate": {"count": 1, "sum": {"year": 2010.0}, "avg": {"price": None}, "min": {"title": "c1"}},
        },
    ]


def test_having_order_limit_offset_and_both_paths(client, db):
    query = """{ artists_group_by(by: [country], having: {count: {_gte: 1}}, order_by: [{count: DESC}, {keys: {country: ASC}}],
        limit: 2) { __typename keys { country } aggregate { count max { name } } } }"""
    expected = [
        {"__typename": "artists_group", "keys": {"country": "UK"}, "aggregate": {"count": 2, "max": {"name": "Cy"}}},
        {"__typename": "artists_group", "keys": {"country": None}, "aggregate": {"count": 1, "max": {"name": "Di"}}},
    ]
    assert gql(client, db, query) == {"data": {"artists_group_by": expected}}
    mixed = gql(client, db, query.replace("{ artists_group_by", "{ __schema { queryType { name } } artists_group_by"))
    assert mixed["data"]["artists_group_by"] == expected
    paged = gql(client, db, query.replace("limit: 2", "limit: 2, offset: 2"))["data"]["artists_group_by"]
    assert [g["keys"]["country"] for g in paged] == ["US"]
    having = """{ albums_group_by(by: [artist_id], having: {sum: {price: {_gt: 9.5}}, count: {_neq: 2}}) {
        keys { artist_id } } }"""
    assert gql(client, db, having)["data"]["albums_group_by"] == [{"keys": {"artist_id": 1}}]


def test_two_keys_and_ordering_by_an_aggregate(client, db):
    sql(client, db, "INSERT INTO albums (title, artist_id, year, price) VALUES ('a4', 1, 1990, 1.0)")
    query = """{ albums_group_by(by: [artist_id, year], where: {artist_id: {_eq: 1}}, order_by: [{sum: {price: DESC}}]) {
        keys { artist_id year } aggregate { count sum { price } } } }"""
    assert gql(client, db, query)["data"]["albums_group_by"] == [
        {"keys": {"artist_id": 1, "year": 1995}, "aggregate": {"count": 1, "sum": {"price": 12.5}}},
        {"keys": {"artist_id": 1, "year": 1990}, "aggregate": {"count": 2, "sum": {"price": 11.0}}},
        {"keys": {"artist_id": 1, "year": None}, "aggregate": {"count": 1, "sum": {"price": 7.5}}},
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ albums_group_by(by: []) { aggregate { count } } }", "by must name at least one column to group by"),
        ("{ albums_group_by(by: [year]) { keys { title } } }", "keys.title: the column is not in by"),
        (
            "{ albums_group_by(by: [year], order_by: [{keys: {title: ASC}}]) { aggregate { count } } }",
            "order_by keys.title",
        ),
        (
            "{ albums_group_by(by: [year], order_by: [{sum: {title: ASC}}]) { aggregate { count } } }",
            "sum of title: not a column sum takes (sum and avg take INTEGER and REAL",
        ),
        ("{ albums_group_by(by: [year], having: {count: {}}) { aggregate { count } } }", "must not be empty"),
        (
            "{ albums_group_by(by: [year], order_by: [{keys: {artists_by_artist_id: {name: ASC}}}]) { keys { year } } }",
            "order_by keys.artists_by_artist_id: the column is not in by",
        ),
        (
            "{ albums_group_by(by: [year], order_by: [{max: {artists_by_artist_id: {name: ASC}}}]) { keys { year } } }",
            "max of artists_by_artist_id: not a column max takes",
        ),
        ("{ albums_group_by(by: [year], limit: -1) { aggregate { count } } }", "limit must be positive"),
    ],
)
def test_refusals_are_clear_field_errors(client, db, query, message):
    answer = gql(client, db, query)
    assert answer["data"] is None, answer
    assert message in answer["errors"][0]["message"], answer
    assert answer["errors"][0]["path"] == ["albums_group_by"]


def test_groups_are_capped_by_graphql_max_rows_in_one_statement(client, db):
    client.app.state.services.live.apply({"graphql_max_rows": 2})
    answer = gql(client, db, "{ albums_group_by(by: [title]) { keys { title } } }")
    assert answer["data"] is None and "more than 2 groups" in answer["errors"][0]["message"], answer
    query = "{ albums_group_by(by: [title], limit: 100) { keys { title } aggregate { count sum { year } } } }"
    gql(client, db, query)
    with statements_of(client) as seen:
        answer = gql(client, db, query)
    assert [g["keys"]["title"] for g in answer["data"]["albums_group_by"]] == ["a1", "a2"]
    assert len(seen) == 1 and "GROUP BY" in seen[0] and "HAVING" not in seen[0], seen


def test_values_are_bound_never_spliced(client, db):
    query = """{ albums_group_by(by: [artist_id], having: {max: {year: {_lt: 2000.5}}}, where: {title: {_neq: "x'; DROP TABLE albums; --"}}) {
        keys { artist_id } } }"""
    answer = gql(client, db, query)
    assert answer["data"]["albums_group_by"] == [{"keys": {"artist_id": 1}}]
    assert sql(client, db, "SELECT count(*) AS n FROM albums").json()["rows"] == [{"n": 5}]


def _token(client, db, permission):
    response = client.post(
        "/api/tokens",
        json={"name": permission, "team_name": "alice", "permissions": [{"db_id": db, "name": permission}]},
    )
    assert response.status_code == 201, response.text
    return bearer(response.json()["body"])


def test_insert_only_callers_get_none_of_these_read_only_ones_all(client, db):
    insert = _token(client, db, "insert")
    for query, needle in [
        ("{ albums_group_by(by: [year]) { aggregate { count } } }", "albums_group_by"),
        ("{ albums_aggregate { aggregate { count } } }", "aggregate"),
        ("{ albums_aggregate { nodes { id } } }", "nodes"),
    ]:
        answer = gql(client, db, query, headers=insert)
        assert answer.get("data") is None and needle in answer["errors"][0]["message"], answer
    # count stays as it was for them: refused, since they may not read
    answer = gql(client, db, "{ albums_aggregate { count } }", headers=insert)
    assert answer["data"] is None and answer["errors"], answer
    read = _token(client, db, "read")
    answer = gql(
        client,
        db,
        "{ albums_group_by(by: [year], limit: 1) { keys { year } } albums_aggregate { aggregate { count } } }",
        headers=read,
    )
    assert answer == {
        "data": {"albums_group_by": [{"keys": {"year": None}}], "albums_aggregate": {"aggregate": {"count": 5}}}
    }


def test_cost_estimate_counts_nodes_and_groups(client, db):
    assert client.patch("/api/settings", json={"graphqlMaxCost": 100}).status_code == 200
    fine = gql(
        client,
        db,
        "{ albums_aggregate(limit: 30) { nodes { id } } albums_group_by(by: [year], limit: 20) { keys { year } } }",
    )
    assert "errors" not in fine, fine
    for query in [
        "{ albums_aggregate { nodes { id } } }",  # graphql_max_rows nodes
        "{ albums_group_by(by: [year]) { keys { year } } }",  # graphql_max_rows groups
        "{ artists(limit: 20) { albums_by_artist_id_aggregate { nodes { id } } } }",  # 20 x 10 nested nodes
    ]:
        response = gql_raw(client, db, query)
        assert response.status_code == 413 and "graphql_max_cost" in response.text, (query, response.text)


def gql_raw(client, db, query):
    return client.post(f"/dbs/{db}/graphql", json={"query": query})


def test_the_response_size_limit_counts_groups_and_relationship_aggregates(client, db):
    sql(
        client,
        db,
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) "
        "INSERT INTO albums (title, artist_id, year) SELECT printf('%0200d', x), x % 4 + 1, x FROM n",
    )
    assert client.patch("/api/settings", json={"maxResponseBytes": 100_000}).status_code == 200
    for query in [
        "{ albums_group_by(by: [title], limit: 3000) { keys { title } } }",
        "{ artists { albums_by_artist_id_aggregate { nodes { title } } } }",
        "{ a: albums_aggregate(limit: 3000) { nodes { title } } }",
    ]:
        answer = gql_raw(client, db, query)
        assert answer.status_code == 413, (query, answer.text[:200])
        assert "larger than the limit of 100000 bytes" in answer.json()["errors"][0]["message"]
    small = gql_raw(client, db, "{ albums_group_by(by: [artist_id]) { keys { artist_id } aggregate { count } } }")
    assert small.status_code == 200 and len(small.json()["data"]["albums_group_by"]) == 4


def test_count_of_several_columns_distinct_and_not(client, db):
    query = """{ albums_aggregate { aggregate { all: count both: count(columns: [artist_id, year])
        pairs: count(columns: [artist_id, year], distinct: true) artists: count(columns: [artist_id], distinct: true) } } }"""
    sql(client, db, "INSERT INTO albums (title, artist_id, year) VALUES ('dup', 1, 1990)")
    assert gql(client, db, query)["data"]["albums_aggregate"]["aggregate"] == {
        "all": 6,
        "both": 5,  # a3 has no year
        "pairs": 4,  # (1, 1990) twice
        "artists": 3,
    }
