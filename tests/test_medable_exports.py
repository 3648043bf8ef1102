"""Medable's exports (GET/POST/DELETE /:org/v2/exports, the org being a database) and its fields on /api/exports."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from datetime import datetime, timedelta

import pytest

from tests.helpers import create_db, sign_up_and_login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
SCHEMA = """
CREATE TABLE c_patients(id INTEGER PRIMARY KEY, c_name TEXT, c_age INTEGER, c_scan BLOB);
INSERT INTO c_patients(c_name, c_age, c_scan) VALUES ('ann', 34, x'89504e470d0a1a0a0000000000000000'),
  ('bob', 17, NULL), ('cyd', 61, x'00ff');
CREATE TABLE c_sites(id INTEGER PRIMARY KEY, c_city TEXT);
INSERT INTO c_sites(c_city) VALUES ('Oslo');
"""


@pytest.fixture
def org(client):
    return create_db(client, SCHEMA, name="trial")


def finished(client, path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(path).json()
        if job["state"] in ("ready", "error"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{path} did not finish")


def test_a_csv_export_with_files_as_medable_describes_it(client, org):
    created = client.post(
        f"/{org}/v2/exports",
        json={
            "label": "Patients",
            "description": "Nightly copy",
            "objects": "c_patients",
            "format": "text/csv",
            "exportFiles": True,
            "zipFiles": False,
        },
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["object"] == "export" and job["state"] in ("pending", "running") and job["dataFile"] is None
    assert (job["label"], job["description"], job["format"], job["objects"]) == (
        "Patients",
        "Nightly copy",
        "text/csv",
        "c_patients",
    )
    job = finished(client, f"/{org}/v2/exports/{job['_id']}")
    assert job["state"] == "ready" and job["dataFile"]["mime"] == "application/zip"
    kept = datetime.fromisoformat(job["expiresAt"]) - datetime.fromisoformat(job["created"])
    assert timedelta(days=7) - timedelta(minutes=1) < kept <= timedelta(days=7, minutes=1)  # Medable's seven days
    assert job["dataFile"]["url"] == f"http://testserver/{org}/v2/exports/{job['_id']}/dataFile"
    data = client.get(job["dataFile"]["url"])
    assert data.status_code == 200 and data.headers["content-type"] == "application/zip"
    assert job["dataFile"]["size"] == len(data.content)
    archive = zipfile.ZipFile(io.BytesIO(data.content))
    assert sorted(archive.namelist()) == [
        "c_patients.csv",
        "files/c_patients/c_scan/1.png",
        "files/c_patients/c_scan/3.bin",
    ]
    assert archive.read("files/c_patients/c_scan/1.png").startswith(b"\x89PNG")
    assert archive.read("files/c_patients/c_scan/3.bin") == b"\x00\xff"
    rows = list(csv.reader(io.StringIO(archive.read("c_patients.csv").decode())))
    assert [r[1] for r in rows] == ["c_name", "ann", "bob", "cyd"]
    # the list, then DELETE: the export and its archive are gone
    listed = client.get(f"/{org}/v2/exports").json()
    assert (
        listed["object"] == "list" and listed["hasMore"] is False and [j["_id"] for j in listed["data"]] == [job["_id"]]
    )
    assert client.delete(f"/{org}/v2/exports/{job['_id']}").json() == {"object": "result", "data": True}
    assert client.get(f"/{org}/v2/exports/{job['_id']}").status_code == 404
    assert client.get(job["dataFile"]["url"]).status_code == 404


def test_paths_where_and_zipped_files(client, org):
    body = {
        "label": "adults",
        "objects": "c_patients",
        "format": "application/x-ndjson",
        "paths": ["c_name"],
        "include": ["c_scan"],
        "where": '{"c_age": {"$gte": 18}, "c_scan": {"$exists": true}}',
        "exportFiles": True,
        "zipFiles": True,
    }
    job = client.post(f"/{org}/v2/exports", json=body).json()
    job = finished(client, f"/{org}/v2/exports/{job['_id']}")
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["dataFile"]["url"]).content))
    assert sorted(archive.namelist()) == ["c_patients.ndjson", "files.zip"]
    lines = [json.loads(line) for line in archive.read("c_patients.ndjson").decode().splitlines()]
    assert [line["c_name"] for line in lines] == ["ann", "cyd"] and set(lines[0]) == {"c_name", "c_scan"}
    inner = zipfile.ZipFile(io.BytesIO(archive.read("files.zip")))
    assert sorted(inner.namelist()) == ["c_patients/c_scan/1.png", "c_patients/c_scan/3.bin"]
    assert job["paths"] == ["c_name"] and job["where"] == body["where"] and job["zipFiles"] is True


def test_medable_fields_on_our_own_exports_route(client, org):
    """format and exportFiles were ignored there; label stands for name."""
    asset = client.post(f"/api/dbs/{org}/assets", json={"filename": "consent.pdf"}).json()
    client.put(f"/api/dbs/{org}/assets/{asset['id']}", content=b"%PDF-1.4 consent")
    client.patch(f"/api/dbs/{org}/assets/{asset['id']}", json={"is_uploaded": True})
    created = client.post(
        "/api/exports",
        json={
            "label": "sites",
            "description": "d",
            "format": "text/csv",
            "exportFiles": True,
            "databases": [org],
            "tables": ["c_sites"],
        },
    )
    assert created.status_code == 202, created.text
    job = finished(client, f"/api/exports/{created.json()['id']}")
    assert job["status"] == "SUCCESS" and job["state"] == "ready" and job["format"] == "text/csv"
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["data"]).content))
    assert sorted(archive.namelist()) == ["c_sites.csv", f"files/assets/{asset['id']}-consent.pdf"]
    assert archive.read("c_sites.csv").decode().splitlines() == ["id,c_city", "1,Oslo"]


def test_refusals_and_other_callers(client, org):
    base = f"/{org}/v2/exports"
    for body, message in [
        ({"objects": "c_patients"}, "name (or label) must be a non-empty string"),
        ({"label": "x", "format": "text/html"}, "must be one of"),
        ({"label": "x", "objects": "c_nope"}, "the table(s) 'c_nope'"),
        ({"label": "x", "objects": "c_patients", "paths": ["c_nope"]}, "has no column(s) 'c_nope'"),
        ({"label": "x", "objects": "c_patients", "where": "{not json"}, "where must be a JSON object"),
        (
            {"label": "x", "objects": "c_patients", "where": {"c_age": {"$regex": "1"}}},
            "operator '$regex' is not supported",
        ),
        ({"label": "x", "objects": "c_patients", "where": {"$or": []}}, "'$or' is not supported"),
        ({"label": "x", "expand": ["c_site"]}, "expand is not supported"),
        ({"label": "x", "afterScript": "return 1"}, "afterScript is not supported"),
        ({"label": "x", "principal": "5a1f00000000000000000000"}, "principal is not supported"),
        ({"label": "x", "exportFiles": "yes"}, "exportFiles must be true or false"),
        ({"label": "x", "databases": ["other"]}, "Unknown field 'databases'"),
    ]:
        answer = client.post(base, json=body)
        assert answer.status_code == 400 and message in answer.json()["errors"][0], (body, answer.text)
    assert client.get(base).json()["data"] == []
    job = client.post(base, json={"label": "mine", "objects": "c_sites"}).json()
    mallory = {"Authorization": "Bearer " + sign_up_and_login(client, "mallory")}
    assert client.get(base, headers=mallory).status_code == 404  # cannot see the org
    assert client.post(base, headers=mallory, json={"label": "x"}).status_code == 404
    other_org = create_db(client, "CREATE TABLE t(a)", name="elsewhere")
    assert client.get(f"/{other_org}/v2/exports/{job['_id']}").status_code == 404  # not an export of that org
    assert client.delete(f"/{other_org}/v2/exports/{job['_id']}").status_code == 404
    assert client.get(f"/{org}/v2/exports/{job['_id']}").status_code == 200
    assert client.post(base, json={"label": "x"}, headers={"Authorization": ""}).status_code == 401
