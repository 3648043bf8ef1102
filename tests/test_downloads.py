"""An uploaded SQLite file that was never changed downloads as the very bytes uploaded (GET
/dbs/:dbId/download, and a duplicate's copy), whatever SQLite wrote it and whatever its header says;
a changed file downloads as a consistent copy holding the change.

The files are real: made by Python's sqlite3 and by the sqlite3 CLI, and headers as other writers
leave them (an older SQLite's version number at byte 96, schema format 1 at byte 44, a stale
in-header page count at byte 28), which hosting a file (the switch to WAL mode) or a copy through
SQLite's backup API would rewrite."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.core.storage.uploaded_bytes import RECORD_NAME
from tests.helpers import make_sqlite_file, sql

SCRIPT = (
    "CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER);"
    "CREATE INDEX albums_year ON albums(year);"
    "INSERT INTO albums(title, year) VALUES ('Kind of Blue', 1959), ('Blue Train', 1957), ('Giant Steps', 1960);"
)


def _patch(path: Path, offset: int, value: bytes) -> bytes:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))
    return bytes(data)


def python_file(path: Path) -> bytes:
    return make_sqlite_file(path, SCRIPT)


def cli_file(path: Path) -> bytes:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 CLI is not installed")
    subprocess.run(["sqlite3", str(path), SCRIPT], check=True)
    return path.read_bytes()


def cli_wal_file(path: Path) -> bytes:
    """A file the CLI left in WAL mode (header bytes 18-19 = 2), closed cleanly (no -wal beside it)."""
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 CLI is not installed")
    subprocess.run(["sqlite3", str(path), "PRAGMA journal_mode=WAL;" + SCRIPT], check=True, capture_output=True)
    assert path.read_bytes()[18:20] == b"\x02\x02"
    return path.read_bytes()


def older_sqlite_file(path: Path) -> bytes:
    """Last written by SQLite 3.8.0 (byte 96: SQLITE_VERSION_NUMBER 3008000)."""
    python_file(path)
    return _patch(path, 96, (3008000).to_bytes(4, "big"))


def schema_format_1_file(path: Path) -> bytes:
    """Schema format 1 at byte 44 (no descending indexes, no 0/1 integers stored without bytes)."""
    make_sqlite_file(
        path,
        "CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER);"
        "INSERT INTO albums(id, title, year) VALUES (7, 'Kind of Blue', 1959), (9, 'Giant Steps', 1960);",
    )
    return _patch(path, 44, (1).to_bytes(4, "big"))


def stale_size_file(path: Path) -> bytes:
    """An in-header page count (byte 28) that is stale: version-valid-for (92) differs from the change
    counter (24), as a writer that does not keep byte 28 leaves it; SQLite then trusts the file size."""
    data = python_file(path)
    counter = int.from_bytes(data[24:28], "big")
    _patch(path, 28, (1).to_bytes(4, "big"))
    return _patch(path, 92, (counter + 5).to_bytes(4, "big"))


def big_page_file(path: Path) -> bytes:
    return make_sqlite_file(path, "PRAGMA page_size=65536;" + SCRIPT)


def several_megabytes_file(path: Path) -> bytes:
    """Larger than the copy's 1 MiB chunks, and written by an older SQLite (the header differs)."""
    make_sqlite_file(path, SCRIPT + "CREATE TABLE blobs(b BLOB); INSERT INTO blobs VALUES (randomblob(3500000));")
    return _patch(path, 96, (3031001).to_bytes(4, "big"))


FILES: dict[str, Callable[[Path], bytes]] = {
    "python": python_file,
    "cli": cli_file,
    "cli-wal": cli_wal_file,
    "sqlite-3.8.0-at-96": older_sqlite_file,
    "schema-format-1-at-44": schema_format_1_file,
    "stale-size-at-28": stale_size_file,
    "page-size-65536": big_page_file,
    "several-megabytes": several_megabytes_file,
}


def _upload(client: TestClient, path: Path) -> str:
    with open(path, "rb") as handle:
        response = client.post("/dbs", files={"file": (path.name, handle, "application/vnd.sqlite3")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _download(client: TestClient, db_id: str) -> bytes:
    response = client.get(f"/dbs/{db_id}/download")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.sqlite3"
    return response.content


def _titles(tmp_path: Path, data: bytes) -> list[str]:
    path = tmp_path / "downloaded.sqlite"
    path.write_bytes(data)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [row[0] for row in conn.execute("SELECT title FROM albums ORDER BY id")]
    finally:
        conn.close()


def _hosted_file(client: TestClient, db_id: str) -> Path:
    services = client.app.state.services  # type: ignore[attr-defined]
    return services.hosting.file_path(services.hosting.get(db_id))


@pytest.mark.parametrize("kind", list(FILES))
def test_an_unchanged_upload_downloads_as_the_bytes_uploaded(client: TestClient, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.sqlite"
    uploaded = FILES[kind](path)
    db_id = _upload(client, path)
    if uploaded[18] == 1:  # being hosted rewrote the header (WAL mode, the change counter, the version, ...)
        assert _hosted_file(client, db_id).read_bytes()[:100] != uploaded[:100]
    # Reading through every API in between changes nothing.
    assert sql(client, db_id, "SELECT count(*) AS n FROM albums").json()["rows"][0]["n"] >= 2
    assert client.get(f"/api/dbs/{db_id}/tables/albums").status_code == 200
    assert _download(client, db_id) == uploaded
    assert _download(client, db_id) == uploaded  # and again
    # A duplicate is made from the same copy.
    copy = client.post(f"/dbs/{db_id}/duplicate", headers={"Accept": "application/json"}).json()["id"]
    assert _hosted_file(client, copy).stat().st_size == len(uploaded)


def test_a_raw_body_upload_downloads_as_uploaded(client: TestClient, tmp_path: Path) -> None:
    uploaded = older_sqlite_file(tmp_path / "raw.sqlite")
    response = client.post("/dbs?name=Raw", content=uploaded, headers={"Content-Type": "application/vnd.sqlite3"})
    assert response.status_code == 201, response.text
    assert _download(client, response.json()["id"]) == uploaded


def test_a_replaced_file_downloads_as_the_replacement(client: TestClient, tmp_path: Path) -> None:
    python_file(tmp_path / "first.sqlite")
    db_id = _upload(client, tmp_path / "first.sqlite")
    replacement = schema_format_1_file(tmp_path / "second.sqlite")
    with open(tmp_path / "second.sqlite", "rb") as handle:
        assert client.put(f"/dbs/{db_id}", files={"file": ("second.sqlite", handle)}).status_code == 200
    assert _download(client, db_id) == replacement


@pytest.mark.parametrize(
    "change",
    [
        lambda client, db_id: sql(client, db_id, "INSERT INTO albums(title, year) VALUES ('Ascension', 1965)"),
        lambda client, db_id: client.post(
            f"/dbs/{db_id}/graphql",
            json={"query": 'mutation { insert_albums(objects: [{title: "Ascension", year: 1965}]) { affected_rows } }'},
        ),
    ],
    ids=["sql", "graphql"],
)
def test_a_changed_file_downloads_with_its_change(client: TestClient, tmp_path: Path, change) -> None:
    uploaded = older_sqlite_file(tmp_path / "changed.sqlite")
    db_id = _upload(client, tmp_path / "changed.sqlite")
    hosted = _hosted_file(client, db_id)
    assert (hosted.parent / RECORD_NAME).exists()
    response = change(client, db_id)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json() or not response.json()["errors"], response.text
    assert not (hosted.parent / RECORD_NAME).exists()  # forgotten before the change committed
    downloaded = _download(client, db_id)
    assert downloaded != uploaded
    assert downloaded[18:20] == b"\x01\x01"  # rollback-journal mode, like an upload
    assert _titles(tmp_path, downloaded) == ["Kind of Blue", "Blue Train", "Giant Steps", "Ascension"]


def test_vacuum_makes_the_file_a_changed_one(client: TestClient, tmp_path: Path) -> None:
    uploaded = stale_size_file(tmp_path / "vacuumed.sqlite")
    db_id = _upload(client, tmp_path / "vacuumed.sqlite")
    assert client.post(f"/api/dbs/{db_id}/vacuum").status_code == 200
    downloaded = _download(client, db_id)
    assert downloaded != uploaded
    assert _titles(tmp_path, downloaded) == ["Kind of Blue", "Blue Train", "Giant Steps"]


def test_a_write_behind_the_servers_back_is_not_covered_up(client: TestClient, tmp_path: Path) -> None:
    """A writer outside the server (as Litestream is) writes to the WAL: the main file still holds the
    uploaded bytes, but the download must hold the change."""
    uploaded = python_file(tmp_path / "outside.sqlite")
    db_id = _upload(client, tmp_path / "outside.sqlite")
    outside = sqlite3.connect(_hosted_file(client, db_id), isolation_level=None)
    try:
        assert outside.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        outside.execute("INSERT INTO albums(title, year) VALUES ('Ascension', 1965)")
        downloaded = _download(client, db_id)
    finally:
        outside.close()
    assert downloaded != uploaded
    assert _titles(tmp_path, downloaded)[-1] == "Ascension"


def test_a_main_file_changed_in_place_fails_the_hash_and_is_copied(client: TestClient, tmp_path: Path) -> None:
    uploaded = python_file(tmp_path / "edited.sqlite")
    db_id = _upload(client, tmp_path / "edited.sqlite")
    hosted = _hosted_file(client, db_id)
    data = bytearray(hosted.read_bytes())
    at = data.index(b"Giant Steps")
    data[at : at + 5] = b"Great"
    hosted.write_bytes(bytes(data))
    downloaded = _download(client, db_id)
    assert downloaded != uploaded
    assert not (hosted.parent / RECORD_NAME).exists()
    assert b"Great Steps" in downloaded


def test_a_csv_upload_downloads_as_the_file_built_from_it(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/dbs", files={"file": ("people.csv", b"name,age\nada,36\n", "text/csv")})
    assert response.status_code == 201, response.text
    downloaded = _download(client, response.json()["id"])
    path = tmp_path / "people.sqlite"
    path.write_bytes(downloaded)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT name, age FROM people").fetchall() == [("ada", 36)]
    finally:
        conn.close()
