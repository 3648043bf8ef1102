"""Issue 16, point 23: GET /api/status told anyone the number of databases and the replica URL. Only
server admins see those now; anyone else gets the status and the version."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx2
import pytest

from tests.helpers import create_db, setup_key_from_log, sign_up_and_login
from tests.server_process import running_server

MINIMAL = {"status", "version"}  # what anyone but a server admin gets


def test_only_server_admins_see_counts(client):
    db = create_db(client)
    admin = client.get("/api/status").json()
    assert admin["numberOfDatabases"] == 1 and admin["replication"] == {"enabled": False}
    bob = "Bearer " + sign_up_and_login(client, "bob")
    created = client.post(
        "/api/tokens",
        json={
            "name": "t",
            "team_name": "alice",
            "expiration_utc": None,
            "permissions": [{"db_id": db, "name": "write"}],
        },
    )
    assert created.status_code == 201, created.text
    del client.headers["Authorization"]
    for name, authorization in [("anonymous", None), ("bob", bob), ("token", "Bearer " + created.json()["body"])]:
        answer = client.get("/api/status", headers={"Authorization": authorization} if authorization else {})
        assert answer.status_code == 200, name
        assert answer.json() == {"status": "ok", "version": admin["version"]}, name


@pytest.mark.e2e
@pytest.mark.skipif(
    not Path(sys.executable).with_name("litestream").exists() and not shutil.which("litestream"), reason="litestream"
)
def test_the_replica_url_is_for_server_admins(tmp_path):
    replica = tmp_path / "secret-replica-place"
    data_dir = tmp_path / "data"
    with running_server(data_dir, env={"AIRSEQUEL_REPLICA_URL": replica.as_uri()}) as base:
        http = httpx2.Client(base_url=base, timeout=30)
        anonymous = http.get("/api/status?replication=details")
        assert anonymous.status_code == 200 and set(anonymous.json()) == MINIMAL
        assert "secret-replica-place" not in anonymous.text
        token = sign_up_and_login(http, "root", setup_key=setup_key_from_log(data_dir))
        admin = http.get("/api/status", headers={"Authorization": f"Bearer {token}"}).json()
        assert admin["replication"]["replica"].endswith("secret-replica-place")
        assert admin["numberOfDatabases"] == 0
