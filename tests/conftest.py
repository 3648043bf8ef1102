"""Shared fixtures: real data directories in tmp_path, real SQLite files, the real app."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.http.app import create_app

# Cheap argon2 for every server the suite starts, in this process and (inherited) in the server
# subprocesses of the end-to-end tests. test_password_hashing.py checks that the default stays strong.
os.environ["AIRSEQUEL_PASSWORD_HASHING"] = "fast-insecure-for-tests"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(data_dir=tmp_path / "data", sql_time_limit_seconds=1.0, secret_key="test-secret")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    started = Services.start(settings)
    yield started
    started.stop()


PASSWORD = "correct horse battery"


@pytest.fixture
def anonymous(settings: Settings) -> Iterator[TestClient]:
    """A client of a fresh server that has not logged in."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(anonymous: TestClient) -> TestClient:
    """A client logged in as `alice`, the first user (and so server admin) of a fresh server."""
    token = sign_up_and_login(anonymous, "alice")
    anonymous.headers["Authorization"] = f"Bearer {token}"
    return anonymous


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
