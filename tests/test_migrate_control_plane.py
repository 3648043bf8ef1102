"""`airsequel migrate-control-plane --to postgresql://...`: a server's SQLite control plane copied into a real
PostgreSQL (the suite's own, tests/postgres_cluster.py), verified row for row, and served from there."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.http.app import create_app
from tests import control_planes
from tests.helpers import PASSWORD, bearer, create_db, sign_up_and_login, sql

pytestmark = pytest.mark.sqlite_control_plane  # the source is control.sqlite, whichever plane the run chose


def migrate(data_dir: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airsequel", "migrate-control-plane", "--to", url, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def sqlite_settings(data_dir: Path, control_plane: str = "") -> Settings:
    return Settings.from_env(data_dir=data_dir, secret_key="k", control_plane=control_plane)


def build_a_server(data_dir: Path) -> dict[str, object]:
    """A SQLite control plane with a bit of everything: users, a team, tokens (one deleted, so that
    SQLite's counter is past the highest id left), a database with a table, a setting."""
    with TestClient(create_app(sqlite_settings(data_dir)), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {sign_up_and_login(client, 'alice')}"
        sign_up_and_login(client, "bob")
        assert client.post("/api/teams", json={"name": "acme"}).status_code == 201
        db_id = create_db(client, "CREATE TABLE notes(body TEXT)", name="main")
        assert sql(client, db_id, "INSERT INTO notes VALUES ('kept')").json()["errors"] == []

        def token(name: str) -> dict[str, object]:
            response = client.post(
                "/api/tokens",
                json={"name": name, "team_name": "alice", "permissions": [{"db_id": db_id, "name": "read"}]},
            )
            assert response.status_code == 201, response.text
            return response.json()

        kept = token("kept")
        dropped = token("dropped")
        assert client.delete(f"/api/tokens/{dropped['id']}").status_code == 200
        assert client.patch("/api/settings", json={"maxRowsPerResponse": 777}).status_code == 200
        listing = client.get("/api/dbs").json()
    return {"db_id": db_id, "token": kept["body"], "dropped_id": dropped["id"], "listing": listing}


def table_rows(data_dir: Path, url: str) -> tuple[dict[str, list[tuple]], dict[str, list[tuple]]]:
    """Every copied table's rows, from the file and from PostgreSQL, each sorted."""
    file = sqlite3.connect(data_dir / "control.sqlite")
    tables = [
        name
        for (name,) in file.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if name != "control_generation"
    ]
    key = lambda row: tuple((v is None, 0 if v is None else v) for v in row)  # noqa: E731
    from_file = {t: sorted(file.execute(f"SELECT * FROM {t}").fetchall(), key=key) for t in tables}
    with psycopg.connect(url) as pg:
        from_pg = {}
        for table in tables:
            columns = [row[1] for row in file.execute(f"PRAGMA table_info({table})")]
            rows = pg.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            from_pg[table] = sorted((tuple(row) for row in rows), key=key)
    file.close()
    return from_file, from_pg


def test_the_control_plane_moves_to_postgresql_row_for_row_and_serves_from_there(tmp_path):
    data_dir = tmp_path / "data"
    before = build_a_server(data_dir)
    url = control_planes.new_database()

    done = migrate(data_dir, url)
    assert done.returncode == 0, done.stderr
    assert "verified them row for row" in done.stdout
    assert "users: 2 row(s) copied and verified" in done.stdout

    from_file, from_pg = table_rows(data_dir, url)
    assert from_file == from_pg
    assert from_pg["users"] and from_pg["tokens"] and from_pg["databases"] and from_pg["server_settings"]

    with TestClient(create_app(sqlite_settings(data_dir, url)), raise_server_exceptions=False) as client:
        # The same accounts, passwords, databases, tokens and settings.
        login = client.post("/api/login", json={"username": "alice", "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['sessionToken']}"
        assert client.get("/api/dbs").json() == before["listing"]
        read = client.post(
            f"/dbs/{before['db_id']}/sql", json={"query": "SELECT body FROM notes"}, headers=bearer(before["token"])
        )
        assert read.json()["rows"] == [{"body": "kept"}]
        assert client.get("/api/settings").json()["maxRowsPerResponse"] == 777
        # A new token never gets the id of one deleted before the move.
        response = client.post(
            "/api/tokens",
            json={"name": "new", "team_name": "alice", "permissions": [{"db_id": before["db_id"], "name": "read"}]},
        )
        assert response.status_code == 201, response.text
        assert int(response.json()["id"]) > int(before["dropped_id"])  # type: ignore[call-overload]
        assert client.app.state.services.control.engine == "postgresql"  # type: ignore[attr-defined]


def test_a_database_that_holds_a_control_plane_already_is_refused_and_left_as_it_was(tmp_path):
    data_dir = tmp_path / "data"
    build_a_server(data_dir)
    url = control_planes.new_database()
    assert migrate(data_dir, url).returncode == 0
    with psycopg.connect(url) as pg:
        pg.execute("UPDATE users SET email = 'moved@example.org' WHERE username = 'bob'")
    again = migrate(data_dir, url)
    assert again.returncode == 1
    assert "already holds a control plane" in again.stderr and "nothing was copied" in again.stderr
    assert "Traceback" not in again.stderr
    with psycopg.connect(url) as pg:
        assert pg.execute("SELECT count(*) FROM users").fetchone() == (2,)
        assert pg.execute("SELECT email FROM users WHERE username = 'bob'").fetchone() == ("moved@example.org",)


def test_a_running_server_is_not_copied_from(tmp_path):
    data_dir = tmp_path / "data"
    build_a_server(data_dir)
    url = control_planes.new_database()
    with TestClient(create_app(sqlite_settings(data_dir))):
        refused = migrate(data_dir, url)
    assert refused.returncode == 1
    assert "stop the server first" in refused.stderr
    with psycopg.connect(url) as pg:
        assert pg.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'").fetchone() == (
            0,
        )


def test_the_target_must_be_a_postgresql_url_and_reachable(tmp_path):
    data_dir = tmp_path / "data"
    build_a_server(data_dir)
    wrong = migrate(data_dir, "sqlite:///elsewhere.db")
    assert (wrong.returncode, wrong.stderr.strip()) == (2, "error: --to must be a postgresql:// URL")
    unreachable = migrate(data_dir, "postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode == 1
    assert "nothing was copied" in unreachable.stderr and "Traceback" not in unreachable.stderr
