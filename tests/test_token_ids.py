"""API token ids are never given twice, so the audit actor `token:<id>` names one token; and the
control-plane migration that made them so keeps every token, permission and export job."""

from __future__ import annotations

import sqlite3

import pytest

from airsequel.core.registry.control_plane import MIGRATIONS, ControlPlane
from tests.helpers import bearer, create_db, sql


def new_token(client, db: str, name: str) -> dict:
    created = client.post(
        "/api/tokens",
        json={"name": name, "team_name": "alice", "permissions": [{"db_id": db, "name": "write"}]},
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_create_delete_create_gives_a_new_id_and_the_audit_log_tells_the_tokens_apart(client):
    db = create_db(client, "CREATE TABLE t(note TEXT)")
    assert client.patch(f"/api/dbs/{db}/settings", json={"auditing": True}).status_code == 200
    first = new_token(client, db, "first")
    assert sql(client, db, "INSERT INTO t VALUES ('by the first')", None).status_code == 200  # alice, a user
    assert (
        client.post(
            f"/dbs/{db}/sql", headers=bearer(first["body"]), json={"query": "INSERT INTO t VALUES ('first token')"}
        ).json()["errors"]
        == []
    )
    assert client.delete(f"/api/tokens/{first['id']}").status_code == 200
    second = new_token(client, db, "second")  # the newest token was deleted: its id would come again
    assert isinstance(second["id"], int) and second["id"] > first["id"]
    assert client.get(f"/api/tokens/{first['id']}").status_code == 404  # the old id stays unknown
    assert (
        client.post(
            f"/dbs/{db}/sql", headers=bearer(second["body"]), json={"query": "INSERT INTO t VALUES ('second token')"}
        ).json()["errors"]
        == []
    )
    entries = client.get(f"/api/dbs/{db}/audit").json()["entries"]
    by_statement = {entry["statement"]: entry["actor"] for entry in entries}
    assert by_statement["INSERT INTO t VALUES ('first token')"] == f"token:{first['id']}"
    assert by_statement["INSERT INTO t VALUES ('second token')"] == f"token:{second['id']}"
    assert f"token:{first['id']}" != f"token:{second['id']}"


@pytest.mark.sqlite_control_plane
def test_ids_are_not_reused_after_a_restart_either(tmp_path):
    path = tmp_path / "control.sqlite"
    control = ControlPlane(path)
    team = _team(control)
    first = _insert_token(control, team, "a")
    control.execute("DELETE FROM tokens WHERE id = ?", (first,))
    control.close()
    again = ControlPlane(path)
    try:
        assert _insert_token(again, team, "b") == first + 1
    finally:
        again.close()


@pytest.mark.sqlite_control_plane
def test_the_migration_keeps_tokens_permissions_and_jobs_and_counts_past_ids_seen_in_the_audit_log(tmp_path):
    path = tmp_path / "control.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    before = MIGRATIONS.index(next(m for m in MIGRATIONS if "AUTOINCREMENT" in m))
    for number, script in enumerate(MIGRATIONS[:before], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version={number}")
    now = "2026-01-01T00:00:00.000Z"
    conn.execute("INSERT INTO teams(id, name, created_utc) VALUES (1, 'acme', ?)", (now,))
    conn.execute(
        "INSERT INTO databases(file_key, id, readonly_id, name, owner, created_utc, ownership_utc,"
        " last_modified_utc) VALUES ('fk', 'db1', 'ro1', 'shop', 'acme', ?, ?, ?)",
        (now, now, now),
    )
    for token_id in (1, 2, 3):
        conn.execute(
            "INSERT INTO tokens(id, team_id, name, token_hash, masked_body, created_utc) VALUES (?, 1, ?, ?, 'ast_…', ?)",
            (token_id, f"t{token_id}", f"hash{token_id}", now),
        )
    conn.execute("INSERT INTO token_permissions VALUES (2, 'fk', 'read'), (3, 'fk', 'write')")
    conn.execute(
        "INSERT INTO export_jobs(id, name, token_id, team, request_json, status, created_utc)"
        " VALUES ('job', 'nightly', 3, 'acme', '{}', 'SUCCESS', ?)",
        (now,),
    )
    # token 5 was made and deleted before the upgrade: only the audit log remembers it
    conn.execute(
        "INSERT INTO audit_log(file_key, at_utc, actor, kind, affected_tables_json, rows)"
        " VALUES ('fk', ?, 'token:5', 'sql', '[]', 1), ('fk', ?, 'user:alice', 'sql', '[]', 1)",
        (now, now),
    )
    conn.execute("DELETE FROM tokens WHERE id = 1")
    conn.close()

    control = ControlPlane(path)
    try:
        assert control.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        assert [tuple(r) for r in control.query("SELECT id, name FROM tokens ORDER BY id")] == [(2, "t2"), (3, "t3")]
        assert [tuple(r) for r in control.query("SELECT * FROM token_permissions ORDER BY token_id")] == [
            (2, "fk", "read"),
            (3, "fk", "write"),
        ]
        assert [tuple(r) for r in control.query("SELECT id, token_id FROM export_jobs")] == [("job", 3)]
        assert control.query("SELECT count(*) FROM sqlite_master WHERE name LIKE 'kept_%'")[0][0] == 0
        assert control.query("PRAGMA foreign_key_check") == []
        assert _insert_token(control, 1, "new") == 6  # past 5, which the audit log names
        control.execute("DELETE FROM tokens WHERE id = 3")  # permissions and the job still cascade
        assert control.query("SELECT count(*) FROM token_permissions WHERE token_id = 3")[0][0] == 0
        assert control.query("SELECT count(*) FROM export_jobs")[0][0] == 0
    finally:
        control.close()


def _team(control: ControlPlane) -> int:
    control.execute("INSERT INTO teams(name, created_utc) VALUES ('acme', '2026-01-01T00:00:00Z')")
    return int(control.query("SELECT id FROM teams WHERE name = 'acme'")[0][0])


def _insert_token(control: ControlPlane, team: int, name: str) -> int:
    with control.transaction() as conn:
        token_id = conn.execute(
            "INSERT INTO tokens(team_id, name, token_hash, masked_body, created_utc) VALUES (?, ?, ?, 'ast_…', ?)",
            (team, name, f"hash-{name}", "2026-01-01T00:00:00Z"),
        ).lastrowid
    assert token_id is not None
    return token_id
