"""Charts that aggregate (issue 21): count, sum or avg of a value column grouped by the label column,
as new optional fields beside the reference's; a chart without them is stored and answered as before.
Bad aggregations are refused with a 400 that says why, and nothing is stored."""

from __future__ import annotations

import re

import pytest

from tests.helpers import create_db

SALES = (
    "CREATE TABLE sales(region TEXT, amount REAL, note TEXT, raw);"
    "INSERT INTO sales VALUES ('North', 10, 'a', 1), ('South', 5, 'b', 2), ('North', 30, NULL, 3),"
    " ('South', NULL, 'c', 4), ('East', 2.5, 'd', 5)"
)


def bars(svg: str) -> dict[str, str]:
    """label -> value as the SVG's bar titles show them."""
    return dict(re.findall(r"<title>([^<:]+): ([^<]+)</title></rect>", svg))


@pytest.mark.parametrize(
    ("aggregate", "headers", "expected"),
    [
        ("sum", ["region", "amount"], {"East": "2.50", "North": "40", "South": "5"}),
        ("avg", ["region", "amount"], {"East": "2.50", "North": "20", "South": "5"}),
        ("count", ["region"], {"East": "1", "North": "2", "South": "2"}),
        ("count", ["region", "amount"], {"East": "1", "North": "2", "South": "1"}),  # non-null values
        ("sum", ["region", "raw"], {"East": "5", "North": "4", "South": "6"}),  # an untyped column sums
    ],
)
def test_an_aggregated_chart_groups_by_its_label(client, aggregate, headers, expected):
    db = create_db(client, SALES)
    body = {"table": "sales", "headers": headers, "aggregate": aggregate, "title": "By region"}
    created = client.post(f"/api/dbs/{db}/charts", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["aggregate"] == aggregate
    svg = client.get(f"/api/dbs/{db}/charts/{created.json()['ulid']}/svg")
    assert svg.status_code == 200
    assert bars(svg.text) == expected
    assert list(bars(svg.text)) == sorted(expected)  # ordered by label


def test_hide_null_values_drops_rows_without_a_value(client):
    db = create_db(client, SALES)
    body = {"table": "sales", "headers": ["note", "amount"], "aggregate": "count", "hideNullValues": True}
    chart = client.post(f"/api/dbs/{db}/charts", json=body).json()
    shown = bars(client.get(f"/api/dbs/{db}/charts/{chart['ulid']}/svg").text)
    assert shown == {"a": "1", "b": "1", "d": "1"}  # 'c' has no amount; the NULL note's row has one: label ''


def test_a_chart_without_aggregate_keeps_the_reference_fields(client):
    db = create_db(client, SALES)
    created = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", "headers": ["region", "amount"]}).json()
    assert set(created) == {"chartType", "headers", "hideNullValues", "labelRotation", "table", "title", "ulid"}
    explicit = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", "aggregate": None}).json()
    assert "aggregate" not in explicit
    svg = client.get(f"/api/dbs/{db}/charts/{created['ulid']}/svg").text
    assert len(re.findall(r'class="bar"', svg)) == 4  # one bar per row with an amount, not grouped


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"headers": ["region", "note"], "aggregate": "sum"},
            "aggregate sum needs a numeric value column: 'note' is TEXT (choose a numeric column, or count)",
        ),
        (
            {"headers": ["region", "note"], "aggregate": "avg"},
            "aggregate avg needs a numeric value column: 'note' is TEXT (choose a numeric column, or count)",
        ),
        (
            {"headers": ["region", "nope"], "aggregate": "sum"},
            "The column 'nope' does not exist in 'sales' (its columns: 'region', 'amount', 'note', 'raw')",
        ),
        (
            {"headers": ["region"], "aggregate": "sum"},
            "aggregate sum needs a value column: headers [label column, value column]",
        ),
        (
            {"headers": [], "aggregate": "count"},
            "An aggregated chart takes headers [label column, value column] (the value column may be left out"
            " for count)",
        ),
        (
            {"headers": ["region", "amount", "raw"], "aggregate": "avg"},
            "An aggregated chart takes headers [label column, value column] (the value column may be left out"
            " for count)",
        ),
        (
            {"headers": ["region", "amount"], "aggregate": "median"},
            "aggregate must be one of count, sum, avg (or null for the rows as they are)",
        ),
    ],
)
def test_a_bad_aggregation_is_refused_and_nothing_is_stored(client, body, message):
    db = create_db(client, SALES)
    answer = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", **body})
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"errors": [message]}
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == []


def test_a_change_to_a_bad_aggregation_keeps_the_chart(client):
    db = create_db(client, SALES)
    chart = client.post(
        f"/api/dbs/{db}/charts", json={"table": "sales", "headers": ["region", "amount"], "aggregate": "sum"}
    ).json()
    answer = client.patch(
        f"/api/dbs/{db}/charts/{chart['ulid']}",
        json={"table": "sales", "headers": ["region", "note"], "aggregate": "avg"},
    )
    assert answer.status_code == 400
    assert "needs a numeric value column" in answer.json()["errors"][0]
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == [chart]


def test_an_aggregated_chart_runs_under_the_sql_time_limit(client):
    """The grouped query is user-controlled in size: it is interrupted at the deadline (1 s in the suite)
    like every statement, and the answer says so instead of hanging the worker."""
    db = create_db(
        client,
        "CREATE TABLE big(k INTEGER, v INTEGER);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
        " INSERT INTO big SELECT i % 7, i FROM n;"
        "CREATE VIEW slow AS SELECT a.k AS k, b.v AS v FROM big a, big b",  # 9 million rows to group
    )
    chart = client.post(f"/api/dbs/{db}/charts", json={"table": "slow", "headers": ["k", "v"], "aggregate": "sum"})
    assert chart.status_code == 201, chart.text
    answer = client.get(f"/api/dbs/{db}/charts/{chart.json()['ulid']}/svg")
    assert answer.status_code == 504, answer.text
    assert answer.json() == {
        "errors": ["Reading or writing the database exceeded the time limit of 1 s and was aborted"]
    }
