"""Charts and dashboards through the JSON API: create, list, draw, change, delete; bad bodies are
refused with nothing stored."""

from __future__ import annotations

from tests.helpers import create_db, sign_up_and_login


def test_charts_and_dashboards_round_trip(client):
    db = create_db(
        client, "CREATE TABLE sales(month TEXT, total REAL); INSERT INTO sales VALUES ('Jan', 10), ('Feb', 25.5)"
    )
    created = client.post(f"/api/dbs/{db}/charts", json={"table": "sales", "title": "Sales", "chartType": "LineChart"})
    assert created.status_code == 201, created.text
    chart = created.json()
    assert chart["headers"] == [] and chart["labelRotation"] == 0 and chart["chartType"] == "LineChart"
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == [chart]
    svg = client.get(f"/api/dbs/{db}/charts/{chart['ulid']}/svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "Jan" in svg.text and "Feb" in svg.text

    changed = {"table": "sales", "headers": ["month", "total"], "title": "Monthly", "labelRotation": -45}
    assert client.patch(f"/api/dbs/{db}/charts/{chart['ulid']}", json=changed).status_code == 200
    [stored] = client.get(f"/api/dbs/{db}/charts").json()["charts"]
    assert stored["title"] == "Monthly" and stored["labelRotation"] == -45 and stored["chartType"] == "BarChart"

    dashboard = client.post(f"/api/dbs/{db}/dashboards", json={"title": "Board", "charts": [chart["ulid"]]})
    assert dashboard.status_code == 201 and dashboard.json()["charts"] == [chart["ulid"]]
    assert (
        client.patch(f"/api/dbs/{db}/dashboards/{dashboard.json()['ulid']}", json={"title": "Renamed"}).status_code
        == 200
    )
    assert client.get(f"/api/dbs/{db}/dashboards").json()["dashboards"][0]["title"] == "Renamed"

    assert client.delete(f"/api/dbs/{db}/charts/{chart['ulid']}").status_code == 200
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == []
    assert client.get(f"/api/dbs/{db}/charts/{chart['ulid']}/svg").status_code == 404
    assert client.delete(f"/api/dbs/{db}/charts/{chart['ulid']}").status_code == 404


def test_bad_chart_bodies_are_refused_and_store_nothing(client):
    db = create_db(client, "CREATE TABLE t(a TEXT, b REAL)")
    for body, message in [
        ({}, "table must name a table"),
        ({"table": ""}, "table must name a table"),
        ({"table": "t", "chartType": "RadarChart"}, "chartType must be one of"),
        ({"table": "t", "headers": "a"}, "headers must be a list"),
        ({"table": "t", "labelRotation": 91}, "labelRotation"),
        ({"table": "t", "labelRotation": True}, "labelRotation"),
        ({"table": "t", "title": 5}, "title must be a string"),
    ]:
        answer = client.post(f"/api/dbs/{db}/charts", json=body)
        assert answer.status_code == 400 and message in answer.json()["errors"][0], (body, answer.text)
    for body in [{"charts": "x"}, {"charts": [1]}, {"title": None}]:
        assert client.post(f"/api/dbs/{db}/dashboards", json=body).status_code == 400, body
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == []
    assert client.get(f"/api/dbs/{db}/dashboards").json()["dashboards"] == []
    # a chart of a table or a column that does not exist is refused (tests/test_chart_columns.py)
    refused = client.post(f"/api/dbs/{db}/charts", json={"table": "gone"})
    assert refused.status_code == 400 and "'gone'" in refused.json()["errors"][0]
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == []


def test_only_writers_change_charts(client, anonymous):
    db = create_db(client, "CREATE TABLE t(a TEXT, b REAL)")
    chart = client.post(f"/api/dbs/{db}/charts", json={"table": "t"}).json()
    other = {"Authorization": "Bearer " + sign_up_and_login(anonymous, "outsider")}
    assert client.post(f"/api/dbs/{db}/charts", headers=other, json={"table": "t"}).status_code == 404
    assert client.patch(f"/api/dbs/{db}/charts/{chart['ulid']}", headers=other, json={"table": "x"}).status_code == 404
    assert client.delete(f"/api/dbs/{db}/charts/{chart['ulid']}", headers=other).status_code == 404
    assert client.get(f"/api/dbs/{db}/charts").json()["charts"] == [chart]
