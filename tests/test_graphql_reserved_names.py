"""Columns named true, false or null: GraphQL keeps those words from enum values, so the schema's column
enums (distinct_on, group_by's `by`, upsert targets, search columns) call them `true_`, `false_`, `null_` (`true__` when a column is called true_ too);
the fields keep the columns' names. Before, such a column made the whole schema fail to build."""

from __future__ import annotations

from tests.helpers import create_db


def gql(client, db, query):  # type: ignore[no-untyped-def]
    response = client.post(f"/dbs/{db}/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def test_columns_named_true_false_and_null_get_a_schema(client):
    db = create_db(
        client,
        'CREATE TABLE flags(id INTEGER PRIMARY KEY, "true" TEXT, "false" INTEGER, "null" TEXT, true_ TEXT);'
        "INSERT INTO flags VALUES (1, 'a', 1, 'x', 'p'), (2, 'a', 2, 'y', 'q'), (3, 'b', 3, 'y', 'r');",
    )
    rows = gql(client, db, '{ flags(where: {true: {_eq: "a"}}, order_by: {id: ASC}) { id true false null } }')
    assert rows == {
        "data": {
            "flags": [{"id": 1, "true": "a", "false": 1, "null": "x"}, {"id": 2, "true": "a", "false": 2, "null": "y"}]
        }
    }
    distinct = gql(client, db, "{ flags(distinct_on: [true__], order_by: [{true: ASC}, {id: ASC}]) { id } }")
    assert distinct == {"data": {"flags": [{"id": 1}, {"id": 3}]}}
    groups = gql(client, db, "{ flags_group_by(by: [null_]) { keys { null } aggregate { count } } }")
    assert groups == {
        "data": {
            "flags_group_by": [
                {"keys": {"null": "x"}, "aggregate": {"count": 1}},
                {"keys": {"null": "y"}, "aggregate": {"count": 2}},
            ]
        }
    }
    names = gql(client, db, '{ __type(name: "flags_column") { enumValues { name } } }')
    assert [v["name"] for v in names["data"]["__type"]["enumValues"]] == [
        "rowid",
        "id",
        "true__",
        "false_",
        "null_",
        "true_",
    ]
