"""Helpers for tests: sign up and log in, make SQLite files, create databases, run SQL.

Import them from here (`from tests.helpers import ...`); tests/conftest.py holds only fixtures.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from starlette.testclient import TestClient

from airsequel.config import Settings

PASSWORD = "correct horse battery"


def sign_up_and_login(client: TestClient, username: str, *, setup_key: str | None = None) -> str:
    """Sign `username` up (password PASSWORD) and return a session token.

    The first user signed up on a fresh in-process server (a TestClient) becomes its server admin,
    as the suite has always assumed: through the setup link's key, which is how an operator makes
    the first admin (a sign-up without the key never makes one). Pass `setup_key` to use a given
    key; a plain POST /api/users signs up a first user who is not admin."""
    body = {"username": username, "email_address": f"{username}@example.org", "password": PASSWORD}
    if setup_key is None and isinstance(client, TestClient):
        accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
        if not accounts.control.query("SELECT 1 FROM users LIMIT 1"):
            setup_key = accounts.setup_key()
    if setup_key is not None:
        body["setupKey"] = setup_key
    response = client.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return response.json()["sessionToken"]


def setup_key_from_log(data_dir: Path) -> str:
    """The key of the setup link a real server (tests/server_process.py) printed into its log at start."""
    from tests.server_process import server_log

    deadline = time.monotonic() + 10
    while True:
        found = re.search(r"http://\S+/setup/(\S+) ", server_log(data_dir).read_text())
        if found:
            return found[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no setup link in the log: {server_log(data_dir).read_text()[-2000:]}")
        time.sleep(0.05)


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
    """Every file under the data directory except the control plane, the secret key and the server's
    lock file, relative, sorted."""
    root = settings.data_dir
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("control.sqlite") and p.name not in ("secret_key", "server.lock")
    )


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def acme_team(client: TestClient) -> dict[str, dict[str, str]]:
    """Users adam (Admin of team acme, its creator), eddie (Editor), vera (Viewer) and otto (no
    member); their session headers by name. Sign the first user (server admin) up before."""
    sessions = {name: bearer(sign_up_and_login(client, name)) for name in ("adam", "eddie", "vera", "otto")}
    assert client.post("/api/teams", headers=sessions["adam"], json={"name": "acme"}).status_code == 201
    for username, role in (("eddie", "Editor"), ("vera", "Viewer")):
        response = client.patch(f"/api/teams/acme/members/{username}", headers=sessions["adam"], json={"roles": [role]})
        assert response.status_code == 200, response.text
    return sessions
