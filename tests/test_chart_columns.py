"""Charts name columns that exist: a chart on a missing table or column is refused when it is created or
changed (400, nothing stored); a chart whose column or table is dropped later is drawn as a placeholder
that says so. Pie charts draw something visible however the values are shared."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from airsequel.core.content.charts import render_svg
from tests.helpers import create_db, sql

SVG = "{http://www.w3.org/2000/svg}"
SALES = (
    "CREATE TABLE sales(month TEXT, total REAL, units INTEGER); INSERT INTO sales VALUES ('Jan', 10, 1), ('Feb', 25, 2)"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"table": "sales", "headers": ["month", "bogus"]},
            "The column 'bogus' does not exist in 'sales' (its columns: 'month', 'total', 'units')",
        ),
        (
            {"table": "sales", "headers": ["nope", "total", "gone"]},
            "The columns 'nope', 'gone' do not exist in 'sales'",
        ),
        ({"table": "missing", "headers": []}, "The table 'missing' does not exist in this database"),
    ],
)
def test_a_chart_on_a_missing_column_or_table_is_refused_and_nothing_is_stored(client, body, message):
    db = create_db(client, SALES)
    refused = client.post(f"/api/dbs/{db}/charts", json=body)
    assert refused.status_code == 400 and refused.json()["errors"][0].startswith(message), refused.text
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == []


def test_a_change_to_a_missing_column_is_refused_and_the_chart_is_kept(client):
    db = create_db(client, SALES)
    chart = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", "headers": ["month", "total"]}).json()
    refused = client.patch(f"/api/dbs/{db}/charts/{chart['ulid']}", json={"table": "sales", "headers": ["month", "x"]})
    assert refused.status_code == 400 and "'x'" in refused.json()["errors"][0]
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == [chart]


def test_a_chart_whose_column_or_table_was_dropped_draws_a_placeholder_and_the_page_loads(client):
    db = create_db(client, SALES)
    chart = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", "headers": ["month", "units"]}).json()
    whole = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", "title": "All"}).json()
    assert client.delete(f"/api/dbs/{db}/tables/sales/columns/units").status_code == 200
    drawn = client.get(f"/api/dbs/{db}/charts/{chart['ulid']}/svg")
    assert drawn.status_code == 200 and drawn.headers["content-type"].startswith("image/svg+xml")
    placeholder = texts(drawn.text)
    assert "cannot be drawn" in placeholder and "'units'" in placeholder
    assert client.get(f"/api/dbs/{db}/charts/{whole['ulid']}/svg").text.count('class="bar"') == 2  # still drawn
    assert client.get(f"/dbs/{db}").status_code == 200
    assert sql(client, db, "DROP TABLE sales").json()["errors"] == []
    gone = client.get(f"/api/dbs/{db}/charts/{whole['ulid']}/svg")
    assert gone.status_code == 200 and "The table 'sales' does not exist in this database" in texts(gone.text)
    assert client.get(f"/dbs/{db}").status_code == 200


def texts(svg: str) -> str:
    return " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))


def arcs_of(path: str) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """(start, end) of every arc of a path made of M, L, A (absolute) and a (relative) commands."""
    tokens = re.findall(r"[MLAaZ]|-?[0-9.]+", path)
    arcs, here, index = [], (0.0, 0.0), 0
    while index < len(tokens):
        command = tokens[index]
        if command in ("M", "L"):
            here = (float(tokens[index + 1]), float(tokens[index + 2]))
            index += 3
        elif command in ("A", "a"):
            x, y = float(tokens[index + 6]), float(tokens[index + 7])
            end = (x, y) if command == "A" else (here[0] + x, here[1] + y)
            arcs.append((here, end))
            here, index = end, index + 8
        else:
            index += 1
    return arcs


@pytest.mark.parametrize(
    "values",
    [[1.0], [100.0, 0.0], [999_999.0, 1.0], [99.9, 0.05, 0.05], [50.0, 50.0], [3.0, 1.0, 1.0]],
)
def test_every_pie_slice_is_drawn_with_arcs_that_go_somewhere(values):
    chart = {"chartType": "PieChart", "title": "Share", "table": "t", "labelRotation": 0, "headers": []}
    labels = [f"s{i}" for i in range(len(values))]
    svg = ET.fromstring(render_svg(chart, labels, [values]))
    slices = [p.get("d") or "" for p in svg.iter(f"{SVG}path") if p.get("class") == "slice"]
    assert len(slices) == len([v for v in values if v > 0])
    biggest = slices[values.index(max(values))]
    for start, end in arcs_of(biggest):
        assert math.dist(start, end) > 1, (values, biggest)  # an arc from a point to itself draws nothing
    share = max(values) / sum(values)
    assert len(arcs_of(biggest)) == (2 if share > 0.5 else 1)  # more than half: through its middle
