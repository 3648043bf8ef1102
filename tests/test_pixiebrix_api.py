"""PixieBrix's database APIs, with the requests of its documentation: records and export jobs."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.http.app import create_app
from tests.helpers import create_db, sign_up_and_login, sql

PEOPLE = """
CREATE TABLE people(id INTEGER PRIMARY KEY, first_name TEXT, "user email" TEXT, photo BLOB, created_at TEXT);
INSERT INTO people(first_name, "user email", photo, created_at) VALUES
  ('david', 'david@pixiebrix.com', x'0102', '2022-05-18T10:00:00Z'),
  ('anna', 'anna@example.org', NULL, '2022-05-19T08:30:00Z'),
  (NULL, NULL, NULL, '2022-05-20 12:00:00');
"""


@pytest.fixture
def people(client):
    return create_db(client, PEOPLE, name="people")


def records(client, path, **headers):
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def test_records_of_a_one_table_database_by_its_id(client, people):
    listed = records(client, f"/api/databases/{people}/records/").json()
    assert [r["id"] for r in listed] == [1, 2, 3]
    assert listed[0] == {
        "id": 1,
        "data": {
            "id": 1,
            "first_name": "david",
            "user email": "david@pixiebrix.com",
            "photo": {"$base64": "AQI="},
            "created_at": "2022-05-18T10:00:00Z",
        },
        "created_at": "2022-05-18T10:00:00Z",
        "updated_at": None,
    }
    base = f"/api/databases/{people}/records/"
    assert [r["id"] for r in records(client, base + "?start_date=2022-05-19").json()] == [2, 3]
    assert [r["id"] for r in records(client, base + "?end_date=2022-05-19").json()] == [1, 2]
    assert [r["id"] for r in records(client, base + "?data__first_name=david").json()] == [1]
    assert [r["id"] for r in records(client, base + "?data__first_name__isnull=true").json()] == [3]
    assert [r["id"] for r in records(client, base + "?data__user%20email=david%40pixiebrix.com").json()] == [1]
    # the documentation's own spelling, with the '=' encoded too
    assert [r["id"] for r in records(client, base + "?data__user%20email%3Ddavid%40pixiebrix.com").json()] == [1]
    assert records(client, base + "?data__first_name=David").json() == []  # values are case-sensitive


def test_pages_csv_and_the_paginated_version(client, people):
    base = f"/api/databases/{people}/records/"
    assert [r["id"] for r in records(client, base + "?page=2&page_size=2").json()] == [3]
    paged = records(client, base + "?page_size=2", Accept="application/json; version=2.0").json()
    assert paged["count"] == 3 and [r["id"] for r in paged["results"]] == [1, 2] and paged["previous"] is None
    assert paged["next"].endswith("page=2") and "page_size=2" in paged["next"]
    second = records(client, paged["next"], Accept="application/json; version=2.0").json()
    assert [r["id"] for r in second["results"]] == [3] and second["next"] is None and second["previous"]
    for accept in ("text/csv", "test/csv"):
        rows = list(csv.reader(io.StringIO(records(client, base + "?data__first_name=david", Accept=accept).text)))
        assert rows == [
            ["id", "first_name", "user email", "photo", "created_at"],
            ["1", "david", "david@pixiebrix.com", "AQI=", "2022-05-18T10:00:00Z"],
        ]
    for query, status, message in [
        ("?page_size=10001", 400, "page_size must be a whole number from 1 to 10,000"),
        ("?page=0", 400, "page must be a whole number of 1 or more"),
        ("?page=3&page_size=2", 404, "Invalid page: page 3 is past the last page (2)"),
        ("?first_name=david", 400, "Unknown query parameter 'first_name'"),
        ("?data__nope=1", 400, "Unknown column 'nope'"),
        ("?data__first_name__isnull=maybe", 400, "must be true or false"),
        ("?start_date=2022-13-01", 400, "start_date must be a date like 2024-01-31"),
    ]:
        answer = client.get(base + query)
        assert answer.status_code == status and message in answer.json()["errors"][0], (query, answer.text)


def test_the_cap_is_10000_records_a_page(tmp_path):
    # The default time limit (the suite's 1 s was once too short for 10,000 records on a loaded CI machine).
    settings = Settings.from_env(data_dir=tmp_path / "data", secret_key="k")
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {sign_up_and_login(client, 'alice')}"
        db = create_db(
            client,
            "CREATE TABLE n(i INTEGER PRIMARY KEY); INSERT INTO n(i) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
            " SELECT x + 1 FROM c LIMIT 10001) SELECT x FROM c",
        )
        first = records(client, f"/api/databases/{db}/records/").json()
        assert len(first) == 10_000 and first[-1]["id"] == 10_000
        assert [r["id"] for r in records(client, f"/api/databases/{db}/records/?page=2").json()] == [10_001]


def test_a_database_of_several_tables_names_one(client, people):
    sql(client, people, "CREATE TABLE pets(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO pets(name) VALUES ('rex')")
    answer = client.get(f"/api/databases/{people}/records/")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        f"Database {people!r} holds 2 tables ('people', 'pets'): choose one with ?table=<table> or the id {people}:<table>"
    ]
    assert records(client, f"/api/databases/{people}:pets/records/").json()[0]["data"] == {"id": 1, "name": "rex"}
    assert records(client, f"/api/databases/{people}/records/?table=pets").json()[0]["data"]["name"] == "rex"
    assert client.get(f"/api/databases/{people}:nope/records/").status_code == 404
    assert client.get(f"/api/databases/{people}:pets/records/?table=people").status_code == 400
    # a database the caller cannot see is 404, whoever asks
    other = {"Authorization": "Bearer " + sign_up_and_login(client, "mallory")}
    assert client.get(f"/api/databases/{people}/records/", headers=other).status_code == 404
    assert client.get("/api/databases/01m8nonexistent00000000000/records/").status_code == 404


def wait_for_job(client, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/databases/records/jobs/{job_id}/").json()
        if job["status"] in ("SUCCESS", "FAILURE"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_an_export_job_as_the_documentation_asks_for_it(client, people):
    body = {
        "name": "weekly",
        "databases": [people],
        "media_type": "text/csv",
        "filters": {"start_date": "2022-05-19T00:00:00Z", "end_date": "2022-05-20T23:59:59Z"},
    }
    created = client.post("/api/databases/records/jobs/", json=body)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": created.json()["id"], "status": "STARTED"}
    job = wait_for_job(client, created.json()["id"])
    assert job["status"] == "SUCCESS" and job["media_type"] == "text/csv"
    assert job["data"].startswith("http://testserver/api/databases/records/jobs/")
    data = client.get(job["data"])
    assert data.status_code == 200 and data.headers["content-type"].startswith("text/csv")
    assert [row[1] for row in csv.reader(io.StringIO(data.text))] == ["first_name", "anna", ""]
    # JSON by default; several databases (or tables) come as a zip of one file each
    sql(client, people, "CREATE TABLE pets(id INTEGER PRIMARY KEY, name TEXT, created_at TEXT)")
    sql(client, people, "INSERT INTO pets(name, created_at) VALUES ('rex', '2022-06-01')")
    job = wait_for_job(
        client,
        client.post("/api/databases/records/jobs/", json={"name": "pets", "databases": [f"{people}:pets"]}).json()[
            "id"
        ],
    )
    assert json.loads(client.get(job["data"]).content) == [{"id": 1, "name": "rex", "created_at": "2022-06-01"}]
    job = wait_for_job(
        client,
        client.post(
            "/api/databases/records/jobs/",
            json={"name": "all", "databases": [people], "filters": {"start_date": "2022-05-20"}},
        ).json()["id"],
    )
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["data"]).content))
    assert sorted(archive.namelist()) == ["people.json", "pets.json"]
    assert [r["id"] for r in json.loads(archive.read("people.json"))] == [3]


def test_a_job_that_fails_while_it_runs_is_a_failure_with_no_data(client, people):
    """PixieBrix's third state: a job accepted (201, STARTED) that fails while it runs reads FAILURE, with the
    reason, and offers no data. Here the team's export quota is smaller than the file the job writes."""
    sql(client, people, "INSERT INTO people(first_name, created_at) SELECT hex(randomblob(3000)), '2022-05-19'")
    assert client.patch("/api/settings", json={"teamMaxExportBytes": 2000}).status_code == 200
    created = client.post("/api/databases/records/jobs/", json={"name": "too big", "databases": [people]})
    assert created.status_code == 201 and created.json()["status"] == "STARTED"
    job = wait_for_job(client, created.json()["id"])
    assert job["status"] == "FAILURE"
    assert "over its quota of 2000 bytes" in str(job), job
    assert not job.get("data")
    data = client.get(f"/api/databases/records/jobs/{job['id']}/data/")
    assert data.status_code == 404 and data.json()["errors"], data.text


def test_export_job_refusals_make_no_job(client, people):
    sql(client, people, "CREATE TABLE plain(x TEXT)")
    for body, message in [
        (
            {"name": "x", "databases": [people], "filters": {"start_date": "2022-05-19"}},
            "Table 'plain' has no created_at column",
        ),
        (
            {"name": "x", "databases": [f"{people}:people"], "filters": {"start_date": "soon"}},
            "start_date must be a date",
        ),
        ({"name": "x", "databases": [f"{people}:nope"]}, f"Database {people!r} has no table(s) 'nope'"),
        ({"name": "x", "databases": [people], "media_type": "image/png"}, "media_type (or format) must be one of"),
        ({"name": "x", "databases": [people], "bogus": 1}, "'bogus'"),
        ({"databases": [people]}, "name (or label) must be a non-empty string"),
    ]:
        answer = client.post("/api/databases/records/jobs/", json=body)
        assert answer.status_code == 400 and message in answer.json()["errors"][0], (body, answer.text)
    assert client.get("/api/exports").json()["exports"] == []
    assert client.get("/api/databases/records/jobs/01m8nonexistent00000000000/").status_code == 404


def test_an_organizations_databases_are_its_teams(client, people):
    second = create_db(client, "CREATE TABLE a(x); CREATE TABLE b(y); CREATE VIEW v AS SELECT * FROM a", name="two")
    listed = client.get("/api/organizations/alice/databases/")
    assert listed.status_code == 200
    by_id = {d["id"]: d for d in listed.json()}
    assert set(by_id) == {people, f"{second}:a", f"{second}:b"}
    assert by_id[people]["name"] == "people" and by_id[people]["organization"] == "alice"
    for database_id in by_id:  # every id listed works on the records endpoint
        assert client.get(f"/api/databases/{database_id}/records/").status_code == 200
    mallory = {"Authorization": "Bearer " + sign_up_and_login(client, "mallory")}
    answer = client.get("/api/organizations/alice/databases/", headers=mallory)
    assert answer.status_code == 404 and answer.json()["errors"] == ["Organization 'alice' does not exist"]
    assert client.get("/api/organizations/mallory/databases/", headers=mallory).json() == []


def test_an_unknown_organization_is_404_for_a_server_admin_too(client):
    # alice is the server admin: an admin may list any team's databases, but a team that does not exist is a 404
    answer = client.get("/api/organizations/nope/databases/")
    assert answer.status_code == 404 and answer.json()["errors"] == ["Organization 'nope' does not exist"]
