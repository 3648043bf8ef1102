"""The forms an upload of a database may take (docs/files.md): multipart or a raw body; a CSV or a
SQLite file told apart by the file name, else the declared Content-Type, else the SQLite header."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.helpers import make_sqlite_file, sql

CSV = b"name,age\nada,36\ngrace,45\n"


def _databases(client: TestClient) -> int:
    return client.get("/api/dbs").json()["numberOfDatabases"]


def _tmp_files(client: TestClient) -> list[Path]:
    return list(client.app.state.services.hosting.tmp_dir.iterdir())  # type: ignore[attr-defined]


def _rows(client: TestClient, db_id: str, table: str) -> list[dict[str, object]]:
    response = sql(client, db_id, f'SELECT * FROM "{table}" ORDER BY 1')
    assert response.status_code == 200, response.text
    return response.json()["rows"]


@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8", "application/csv", "TEXT/CSV"])
def test_a_raw_csv_needs_only_its_content_type(client: TestClient, content_type: str) -> None:
    response = client.post("/dbs?name=people", content=CSV, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text
    db_id = response.json()["id"]
    assert _rows(client, db_id, "people") == [{"name": "ada", "age": 36}, {"name": "grace", "age": 45}]
    shown = client.get(f"/api/dbs/{db_id}").json()
    assert (shown["name"], shown["fileFormat"], shown["fileName"]) == ("people", "csv", "people.csv")


def test_a_raw_csv_without_a_name_makes_the_table_data(client: TestClient) -> None:
    response = client.post("/dbs", content=CSV, headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    assert _rows(client, response.json()["id"], "data")[0] == {"name": "ada", "age": 36}


def test_the_filename_parameter_still_names_a_raw_csv(client: TestClient) -> None:
    response = client.post("/dbs?filename=staff.csv", content=CSV, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    assert len(_rows(client, response.json()["id"], "staff")) == 2


def test_a_multipart_csv_part_without_a_csv_name_is_known_by_its_type(client: TestClient) -> None:
    response = client.post("/dbs", files={"file": ("export", CSV, "text/csv")}, data={"name": "crew"})
    assert response.status_code == 201, response.text
    assert len(_rows(client, response.json()["id"], "export")) == 2  # the table is named after the file
    assert client.get(f"/api/dbs/{response.json()['id']}").json()["name"] == "crew"


def test_a_multipart_part_without_a_name_or_type_is_known_by_its_header(client: TestClient, tmp_path: Path) -> None:
    data = make_sqlite_file(tmp_path / "m.sqlite", "CREATE TABLE songs(title TEXT);")
    response = client.post("/dbs", files={"file": ("blob", data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    refused = client.post("/dbs", files={"file": ("notes.txt", CSV, "application/octet-stream")})
    assert refused.status_code == 422
    assert "not a SQLite database" in refused.json()["errors"][0]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/vnd.sqlite3",
        "application/x-sqlite3",
        "application/octet-stream",
        "application/x-www-form-urlencoded",  # what curl --data-binary sends unless told otherwise
        None,
    ],
)
def test_a_raw_sqlite_file_is_known_by_its_type_or_its_header(
    client: TestClient, tmp_path: Path, content_type: str | None
) -> None:
    data = make_sqlite_file(
        tmp_path / "m.sqlite", "CREATE TABLE songs(title TEXT); INSERT INTO songs VALUES ('So What');"
    )
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/dbs?name=Music", content=data, headers=headers)
    assert response.status_code == 201, response.text
    db_id = response.json()["id"]
    assert _rows(client, db_id, "songs") == [{"title": "So What"}]
    assert client.get(f"/api/dbs/{db_id}").json()["fileFormat"] == "sqlite"
    assert client.get(f"/dbs/{db_id}/download").content == data


@pytest.mark.parametrize("content_type", ["application/octet-stream", None, "text/plain"])
def test_a_body_that_is_neither_is_refused_naming_the_forms(client: TestClient, content_type: str | None) -> None:
    before = _databases(client)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/dbs?name=people", content=CSV, headers=headers)
    assert response.status_code == 422
    message = response.json()["errors"][0]
    assert "Content-Type: text/csv" in message and ".csv" in message and "SQLite header" in message
    assert _databases(client) == before
    assert _tmp_files(client) == []  # the streamed body is gone


def test_a_declared_sqlite_body_that_is_not_one_is_refused(client: TestClient) -> None:
    before = _databases(client)
    response = client.post("/dbs", content=CSV, headers={"Content-Type": "application/vnd.sqlite3"})
    assert response.status_code == 422
    assert "not a SQLite database" in response.json()["errors"][0]
    assert _databases(client) == before
    assert _tmp_files(client) == []


def test_replacing_with_a_raw_csv_needs_only_its_content_type(client: TestClient, tmp_path: Path) -> None:
    data = make_sqlite_file(tmp_path / "first.sqlite", "CREATE TABLE first(x TEXT);")
    db_id = client.post("/dbs", content=data, headers={"Content-Type": "application/vnd.sqlite3"}).json()["id"]
    response = client.put(f"/dbs/{db_id}?name=people", content=CSV, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert len(_rows(client, db_id, "people")) == 2
    refused = client.put(f"/dbs/{db_id}", content=CSV, headers={"Content-Type": "text/plain"})
    assert refused.status_code == 422
    assert len(_rows(client, db_id, "people")) == 2  # the content stayed as it was
