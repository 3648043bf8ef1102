"""With `serve --workers 2`, a change made through one worker holds on the very next request that
the other worker answers: revoked tokens, removed members, regenerated ids, changed settings and new
tables. Each check warms the other worker's caches with the old state first, makes the change through
one worker's kept-alive connection, asks the other worker's at once, then asks CHECKS more times on
new connections (whichever worker takes them)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx2
import pytest

from tests.helpers import setup_key_from_log, sign_up_and_login
from tests.server_process import running_server
from tests.worker_processes import Pinned, one_per_worker, wait_for_workers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHECKS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, set[int], dict[str, str]]]:
    """A 2-worker server, its worker pids, and session headers of root (server admin), john and jane."""
    data_dir = tmp_path_factory.mktemp("workers") / "data"
    started: list[subprocess.Popen[bytes]] = []
    with running_server(data_dir, workers=2, started=started) as base:
        workers = wait_for_workers(started[0].pid, 2)
        with httpx2.Client(base_url=base, timeout=30) as http:
            sessions = {"root": sign_up_and_login(http, "root", setup_key=setup_key_from_log(data_dir))}
            sessions |= {name: sign_up_and_login(http, name) for name in ("john", "jane")}
        yield base, workers, {name: f"Bearer {token}" for name, token in sessions.items()}


def pair(base: str, workers: set[int]) -> tuple[Pinned, Pinned]:
    """A kept-alive connection to each of the two workers: (where changes go, where they are checked)."""
    pinned = one_per_worker(base, workers)
    first, second = sorted(pinned)
    return pinned[first], pinned[second]


def fresh(base: str, method: str, path: str, auth: str, body: object = None) -> tuple[int, object]:
    with httpx2.Client(base_url=base, timeout=30) as http:
        response = http.request(method, path, json=body, headers={"Authorization": auth, "Connection": "close"})
        return response.status_code, response.json()


def create_db(base: str, auth: str, **body: object) -> str:
    status, answer = fresh(base, "POST", "/api/dbs", auth, body)
    assert status == 201, answer
    assert isinstance(answer, dict)
    return answer["id"]


def test_a_revoked_token_is_refused_by_every_worker(server):
    base, workers, auth = server
    db_id = create_db(base, auth["john"], name="tokens", query="CREATE TABLE t(a)")
    status, token = fresh(
        base,
        "POST",
        "/api/tokens",
        auth["john"],
        {"name": "script", "team_name": "john", "permissions": [{"db_id": db_id, "name": "read"}]},
    )
    assert status == 201 and isinstance(token, dict)
    script = f"Bearer {token['body']}"
    changer, checker = pair(base, workers)
    query = {"query": "SELECT count(*) AS n FROM t"}
    assert checker.request("POST", f"/dbs/{db_id}/sql", query, {"Authorization": script})[0] == 200  # cached there
    status, _ = changer.request("DELETE", f"/api/tokens/{token['id']}", headers={"Authorization": auth["john"]})
    assert status in (200, 204)
    status, answer = checker.request("POST", f"/dbs/{db_id}/sql", query, {"Authorization": script})
    assert status == 401, answer
    for _ in range(CHECKS):
        assert fresh(base, "POST", f"/dbs/{db_id}/sql", script, query)[0] == 401


def test_a_removed_member_is_refused_by_every_worker(server):
    base, workers, auth = server
    assert fresh(base, "POST", "/api/teams", auth["john"], {"name": "acme"})[0] == 201
    status, _ = fresh(base, "PATCH", "/api/teams/acme/members/jane", auth["john"], {"roles": ["Editor"]})
    assert status == 200
    db_id = create_db(base, auth["john"], name="crm", team="acme", query="CREATE TABLE leads(email TEXT)")
    changer, checker = pair(base, workers)
    insert = {"query": "INSERT INTO leads VALUES ('a@example.org')"}
    assert checker.request("POST", f"/dbs/{db_id}/sql", insert, {"Authorization": auth["jane"]})[0] == 200
    status, _ = changer.request("DELETE", "/api/teams/acme/members/jane", headers={"Authorization": auth["john"]})
    assert status in (200, 204)
    status, answer = checker.request("POST", f"/dbs/{db_id}/sql", insert, {"Authorization": auth["jane"]})
    assert status == 404, answer
    for _ in range(CHECKS):
        assert fresh(base, "POST", f"/dbs/{db_id}/sql", auth["jane"], insert)[0] == 404
    count = fresh(base, "POST", f"/dbs/{db_id}/sql", auth["john"], {"query": "SELECT count(*) AS n FROM leads"})
    assert count[1]["rows"] == [{"n": 1}]  # type: ignore[index]


def test_a_regenerated_id_is_gone_from_every_worker(server):
    base, workers, auth = server
    old_id = create_db(base, auth["john"], name="renamed", query="CREATE TABLE t(a)")
    changer, checker = pair(base, workers)
    owner = {"Authorization": auth["john"]}
    assert checker.request("GET", f"/api/dbs/{old_id}", headers=owner)[0] == 200
    status, answer = changer.request("POST", f"/dbs/{old_id}/regenerate-db-id", headers=owner)
    assert status == 200 and isinstance(answer, dict)
    new_id = answer["id"]
    assert checker.request("GET", f"/api/dbs/{old_id}", headers=owner)[0] == 404
    assert checker.request("GET", f"/api/dbs/{new_id}", headers=owner)[0] == 200
    for _ in range(CHECKS):
        assert fresh(base, "GET", f"/api/dbs/{old_id}", auth["john"])[0] == 404
        assert fresh(base, "GET", f"/api/dbs/{new_id}", auth["john"])[0] == 200


def test_a_changed_setting_holds_on_every_worker(server):
    base, workers, auth = server
    db_id = create_db(
        base, auth["john"], name="rows", query="CREATE TABLE n(i); INSERT INTO n VALUES (1), (2), (3), (4), (5)"
    )
    changer, checker = pair(base, workers)
    select = {"query": "SELECT i FROM n ORDER BY i"}
    owner = {"Authorization": auth["john"]}
    assert len(checker.request("POST", f"/dbs/{db_id}/sql", select, owner)[1]["rows"]) == 5
    try:
        status, answer = changer.request(
            "PATCH", "/api/settings", {"maxRowsPerResponse": 2}, {"Authorization": auth["root"]}
        )
        assert status == 200, answer
        status, answer = checker.request("POST", f"/dbs/{db_id}/sql", select, owner)
        assert status == 200 and answer["rows"] == [{"i": 1}, {"i": 2}] and answer["truncated"] is True, answer
        assert (
            checker.request("GET", "/api/settings", headers={"Authorization": auth["root"]})[1]["maxRowsPerResponse"]
            == 2
        )
        for _ in range(CHECKS):
            status, answer = fresh(base, "POST", f"/dbs/{db_id}/sql", auth["john"], select)
            assert status == 200 and answer["rows"] == [{"i": 1}, {"i": 2}], answer  # type: ignore[index]
    finally:
        fresh(base, "PATCH", "/api/settings", auth["root"], {"maxRowsPerResponse": 10_000})


def test_a_table_made_through_sql_is_in_graphql_on_every_worker(server):
    base, workers, auth = server
    db_id = create_db(base, auth["john"], name="schema", query="CREATE TABLE first(id INTEGER PRIMARY KEY)")
    changer, checker = pair(base, workers)
    owner = {"Authorization": auth["john"]}
    status, answer = checker.request("POST", f"/dbs/{db_id}/graphql", {"query": "{ first { id } }"}, owner)
    assert status == 200 and answer == {"data": {"first": []}}, answer  # its schema is cached there now
    status, answer = changer.request(
        "POST",
        f"/dbs/{db_id}/sql",
        {"query": "CREATE TABLE second(id INTEGER PRIMARY KEY, label TEXT); INSERT INTO second VALUES (7, 'new')"},
        owner,
    )
    assert status == 200 and answer["errors"] == [], answer
    query = {"query": "{ second { id label } }"}
    status, answer = checker.request("POST", f"/dbs/{db_id}/graphql", query, owner)
    assert status == 200 and answer == {"data": {"second": [{"id": 7, "label": "new"}]}}, answer
    for _ in range(CHECKS):
        status, answer = fresh(base, "POST", f"/dbs/{db_id}/graphql", auth["john"], query)
        assert answer == {"data": {"second": [{"id": 7, "label": "new"}]}}, answer
        status, answer = fresh(base, "GET", f"/api/dbs/{db_id}", auth["john"])
        assert "second" in str(answer["tables"]), answer  # type: ignore[index]
