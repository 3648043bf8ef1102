"""Cells GraphQL cannot carry fail only themselves; 64-bit integers (docs/graphql.md, "64-bit integers")."""

from __future__ import annotations

import pytest

from airsequel.core.graphql.cells import NOT_UTF8, integer_overflow
from tests.helpers import create_db, sql
from tests.test_graphql import gql

WIDE = [2**31, 2**53 + 1, 2**63 - 1, -(2**63)]  # none fits GraphQL's 32-bit Int
EDGES = [2**31 - 1, -(2**31)]  # these do


@pytest.fixture
def big(client):
    values = ", ".join(f"({i + 1}, 'wide {i + 1}', {v}, {v})" for i, v in enumerate(WIDE))
    edges = ", ".join(f"({i + 5}, 'edge', {v}, {v})" for i, v in enumerate(EDGES))
    return create_db(
        client,
        f"""
        CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, n INTEGER NOT NULL, m INTEGER);
        INSERT INTO big VALUES {values}, {edges}, (7, 'small', 5, NULL);
        CREATE TABLE note (id INTEGER PRIMARY KEY, big_id INTEGER REFERENCES big(id), body TEXT);
        INSERT INTO note VALUES (1, 3, 'on the widest');
        """,
        name="big",
    )


def cell_error(value, path, column):
    return {"message": integer_overflow(value), "locations": [{"line": 1, "column": column}], "path": path}


def test_wide_integers_fail_only_their_cells_nullable_or_not(client, big):
    result = gql(client, big, "{ big { id label n m } }")
    assert result["data"] == {
        "big": [
            *({"id": i + 1, "label": f"wide {i + 1}", "n": None, "m": None} for i in range(4)),
            {"id": 5, "label": "edge", "n": 2**31 - 1, "m": 2**31 - 1},
            {"id": 6, "label": "edge", "n": -(2**31), "m": -(2**31)},
            {"id": 7, "label": "small", "n": 5, "m": None},
        ]
    }
    expected = []
    for i, value in enumerate(WIDE):
        expected.append(cell_error(value, ["big", i, "n"], 18))
        expected.append(cell_error(value, ["big", i, "m"], 20))
    # graphql-core reports errors in the order it completes cells: compare them as a set
    assert sorted(result["errors"], key=str) == sorted(expected, key=str)


def test_a_wide_integer_in_a_not_null_column_of_a_related_row(client, big):
    result = gql(client, big, "{ note { body big_by_big_id { id n } } }")
    assert result == {
        "data": {"note": [{"body": "on the widest", "big_by_big_id": {"id": 3, "n": None}}]},
        "errors": [cell_error(2**63 - 1, ["note", 0, "big_by_big_id", "n"], 34)],
    }


def test_by_pk_and_aliases(client, big):
    result = gql(client, big, "{ a: big_by_pk(id: 4) { n } b: big_by_pk(id: 7) { n } }")
    assert result == {
        "data": {"a": {"n": None}, "b": {"n": 5}},
        "errors": [cell_error(-(2**63), ["a", "n"], 25)],
    }


def test_a_mutation_returning_a_wide_integer_commits_and_fails_only_that_cell(client, big):
    query = 'mutation { update_big(where: {id: {_eq: 3}}, _set: {label: "x"}) { affected_rows returning { label n } } }'
    result = gql(client, big, query)
    assert result["data"] == {"update_big": {"affected_rows": 1, "returning": [{"label": "x", "n": None}]}}
    assert [(e["message"], e["path"]) for e in result["errors"]] == [
        (integer_overflow(2**63 - 1), ["update_big", "returning", 0, "n"])
    ]
    assert sql(client, big, "SELECT label, n FROM big WHERE id = 3").json()["rows"] == [{"label": "x", "n": 2**63 - 1}]


@pytest.mark.parametrize("value", WIDE)
@pytest.mark.parametrize("column", ["n", "m"])
def test_wide_integers_as_mutation_inputs_are_refused_and_nothing_is_written(client, big, value, column):
    before = sql(client, big, "SELECT * FROM big ORDER BY id").json()["rows"]
    other = "m: 1" if column == "n" else "n: 1"
    literal = gql(
        client, big, f"mutation {{ insert_big(objects: [{{{column}: {value}, {other}}}]) {{ affected_rows }} }}"
    )
    assert literal["data"] is None
    assert [e["message"] for e in literal["errors"]] == [
        f"Int cannot represent non 32-bit signed integer value: {value}"
    ]
    variable = gql(
        client,
        big,
        "mutation ($v: Int) { update_big(where: {id: {_eq: 7}}, _set: {m: $v}) { affected_rows } }",
        variables={"v": value},
    )
    assert variable["data"] is None
    assert [e["message"] for e in variable["errors"]] == [
        f"Variable '$v' got invalid value {value}; Int cannot represent non 32-bit signed integer value: {value}"
    ]
    assert sql(client, big, "SELECT * FROM big ORDER BY id").json()["rows"] == before


def test_wide_integers_in_filters_are_refused(client, big):
    result = gql(client, big, "{ big(where: {n: {_eq: 9223372036854775807}}) { id } }")
    assert result["data"] is None
    assert [e["message"] for e in result["errors"]] == [
        "Int cannot represent non 32-bit signed integer value: 9223372036854775807"
    ]


@pytest.mark.parametrize("value", EDGES)
def test_the_edges_of_int_are_written_and_read_back(client, big, value):
    result = gql(
        client, big, f"mutation {{ insert_big(objects: [{{n: {value}, m: {value}}}]) {{ returning {{ id n m }} }} }}"
    )
    assert result == {"data": {"insert_big": {"returning": [{"id": 8, "n": value, "m": value}]}}}
    assert sql(client, big, "SELECT n, m FROM big WHERE id = 8").json()["rows"] == [{"n": value, "m": value}]


def test_other_unrepresentable_cells_fail_only_themselves(client):
    """Text in an INTEGER column and bytes in a TEXT one (a table that is not STRICT holds them):
    the cell is null with its error, the row and the other rows are intact."""
    db = create_db(
        client,
        """CREATE TABLE odd (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, t TEXT NOT NULL);
        INSERT INTO odd VALUES (1, 'seven', x'00ff'), (2, 2, 'two');""",
    )
    result = gql(client, db, "{ odd { id n t } }")
    assert result["data"] == {"odd": [{"id": 1, "n": None, "t": None}, {"id": 2, "n": 2, "t": "two"}]}
    assert [(e["message"], e["path"]) for e in result["errors"]] == [
        ("Int cannot represent non-integer value: 'seven'", ["odd", 0, "n"]),
        ("String cannot represent value: b'\\x00\\xff'", ["odd", 0, "t"]),
    ]


def test_errors_outside_cells_still_propagate(client, big):
    """A root field's own error (here: too many rows) is not a cell error: `data` is null as before."""
    result = gql(client, big, "{ big(offset: 1) { id } }")
    assert result == {
        "data": None,
        "errors": [
            {
                "message": "cannot specify offset without also specifying a limit",
                "locations": [{"line": 1, "column": 3}],
                "path": ["big"],
            }
        ],
    }


def test_text_that_is_not_utf8_fails_only_its_cell(client):
    db = create_db(
        client,
        """CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT NOT NULL, u);
        INSERT INTO t VALUES (1, CAST(x'ff00' AS TEXT), CAST(x'c3' AS TEXT)), (2, 'ok', 'fine');""",
    )
    result = gql(client, db, "{ t { id s u } }")
    assert result["data"] == {"t": [{"id": 1, "s": None, "u": None}, {"id": 2, "s": "ok", "u": "fine"}]}
    assert [(e["message"], e["path"]) for e in result["errors"]] == [
        (NOT_UTF8, ["t", 0, "s"]),
        (NOT_UTF8, ["t", 0, "u"]),
    ]
    update = gql(client, db, 'mutation { update_t(where: {id: {_eq: 1}}, _set: {u: "x"}) { returning { id s u } } }')
    assert update["data"] == {"update_t": {"returning": [{"id": 1, "s": None, "u": "x"}]}}
    assert [(e["message"], e["path"]) for e in update["errors"]] == [(NOT_UTF8, ["update_t", "returning", 0, "s"])]
    # The bytes are intact, and reachable as a BLOB.
    rows = sql(client, db, "SELECT CAST(s AS BLOB) AS b FROM t WHERE id = 1").json()["rows"]
    assert rows == [{"b": {"$base64": "/wA="}}]
