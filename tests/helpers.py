"""Helpers for tests: sign up and log in, make SQLite files, create databases, run SQL.

Import them from here (`from tests.helpers import ...`); tests/conftest.py holds only fixtures.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from starlette.testclient import TestClient

from airsequel.config import Settings

PASSWORD = "correct horse battery"


def sign_up_and_login(client: TestClient, username: str) -> str:
    """Sign `username` up (password PASSWORD) and return a session token."""
    response = client.post(
        "/api/users", json={"username": username, "email_address": f"{username}@example.org", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return response.json()["sessionToken"]


def make_sqlite_file(path: Path, script: str) -> bytes:
    """Create a rollback-journal SQLite file from `script`; return its bytes."""
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path.read_bytes()


def create_db(client: TestClient, query: str | None = None, name: str = "test") -> str:
    body = {"name": name}
    if query:
        body["query"] = query
    response = client.post("/api/dbs", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def sql(client: TestClient, db_id: str, query: str, params=None):
    body = {"query": query}
    if params is not None:
        body["params"] = params
    return client.post(f"/dbs/{db_id}/sql", json=body)


def data_files(settings: Settings) -> list[str]:
    """Every file under the data directory except the control plane, relative, sorted."""
    root = settings.data_dir
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("control.sqlite") and p.name != "secret_key"
    )
