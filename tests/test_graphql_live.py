"""Live queries: GraphQL subscriptions over WebSocket (graphql-transport-ws), against a real server.

A subscription sends its result at once, then again after each commit that changes it (through /sql,
the other worker of `serve --workers 2`, or sqlite3 on the file itself), and nothing after a commit
that does not. Its caller is checked again on every run; bounds, heartbeats and the protocol's close
codes hold."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from websockets.exceptions import InvalidStatus

from tests.helpers import setup_key_from_log, sign_up_and_login
from tests.live_socket import LiveSocket
from tests.server_process import running_server
from tests.worker_processes import Pinned, _server_socket_inode, one_per_worker, wait_for_workers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TITLES = "subscription { songs(order_by: [{id: ASC}]) { id title } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A one-process server with small bounds, its data directory, and alice's (admin) and bob's sessions."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    env = {
        "AIRSEQUEL_GRAPHQL_MAX_SUBSCRIPTIONS_PER_PRINCIPAL": "3",
        "AIRSEQUEL_GRAPHQL_MAX_SUBSCRIPTIONS_PER_DATABASE": "4",
    }
    with running_server(data_dir, env) as base:
        with httpx2.Client(base_url=base, timeout=30) as http:
            sessions = {"alice": sign_up_and_login(http, "alice", setup_key=setup_key_from_log(data_dir))}
            sessions["bob"] = sign_up_and_login(http, "bob")
        yield base, data_dir, sessions


def client(base: str, session: str) -> httpx2.Client:
    return httpx2.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {session}"})


def new_songs_db(http: httpx2.Client, name: str = "songs") -> str:
    response = http.post(
        "/api/dbs",
        json={
            "name": name,
            "query": "CREATE TABLE songs(id INTEGER PRIMARY KEY, title TEXT);"
            "CREATE TABLE other(x);"
            "INSERT INTO songs(title) VALUES ('Intro')",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def run_sql(http: httpx2.Client, db_id: str, query: str) -> None:
    response = http.post(f"/dbs/{db_id}/sql", json={"query": query})
    assert response.status_code == 200, response.text


def test_a_live_query_sends_its_result_then_each_change_and_nothing_for_other_commits(server, tmp_path):
    base, _data_dir, sessions = server
    with client(base, sessions["alice"]) as http:
        db_id = new_songs_db(http)
        with LiveSocket(base, f"/dbs/{db_id}/graphql", headers={"Authorization": f"Bearer {sessions['alice']}"}) as ws:
            ws.init()
            ws.subscribe("1", TITLES)
            assert ws.next_data("1") == {"songs": [{"id": 1, "title": "Intro"}]}
            run_sql(http, db_id, "INSERT INTO songs(title) VALUES ('Outro')")
            assert ws.next_data("1") == {"songs": [{"id": 1, "title": "Intro"}, {"id": 2, "title": "Outro"}]}
            # Commits that leave the result as it was: another table, an update to the same value.
            run_sql(http, db_id, "INSERT INTO other VALUES (1)")
            run_sql(http, db_id, "UPDATE songs SET title = 'Intro' WHERE id = 1")
            assert ws.silent_for(1.0)
            # A GraphQL mutation over HTTP is seen too.
            done = http.post(
                f"/dbs/{db_id}/graphql",
                json={
                    "query": 'mutation { update_songs(where: {id: {_eq: 2}}, _set: {title: "Coda"}) { affected_rows } }'
                },
            )
            assert done.status_code == 200 and "errors" not in done.json(), done.text
            assert ws.next_data("1")["songs"][1] == {"id": 2, "title": "Coda"}
            ws.send({"type": "complete", "id": "1"})
            run_sql(http, db_id, "DELETE FROM songs")
            assert ws.silent_for(0.8)  # completed: nothing more


def test_a_write_made_with_sqlite3_on_the_file_itself_is_seen(server):
    base, data_dir, sessions = server
    with client(base, sessions["bob"]) as http:
        db_id = new_songs_db(http, "outside")
        run_sql(http, db_id, "UPDATE songs SET title = 'Found' WHERE id = 1")
        (path,) = [p for p in (data_dir / "dbs").glob("*/main.sqlite") if _has_title(p, "Found")]
        with LiveSocket(base, f"/dbs/{db_id}/graphql") as ws:
            ws.init({"Authorization": f"Bearer {sessions['bob']}"})  # the caller in connection_init
            ws.subscribe("a", "subscription { songs_aggregate { count } }")
            assert ws.next_data("a") == {"songs_aggregate": {"count": 1}}
            marker = f"outside-{time.monotonic_ns()}"
            with sqlite3.connect(path) as conn:
                conn.execute("INSERT INTO songs(title) VALUES (?)", (marker,))
            assert ws.next_data("a") == {"songs_aggregate": {"count": 2}}
            assert _has_title(path, marker)


def _has_title(path: Path, title: str) -> bool:
    with sqlite3.connect(path) as conn:
        try:
            return bool(conn.execute("SELECT 1 FROM songs WHERE title = ?", (title,)).fetchone())
        except sqlite3.OperationalError:
            return False


def test_queries_and_mutations_over_the_socket_are_answered_once(server):
    base, _data_dir, sessions = server
    with client(base, sessions["alice"]) as http:
        db_id = new_songs_db(http, "once")
        with LiveSocket(base, f"/dbs/{db_id}/graphql").init({"Authorization": f"Bearer {sessions['alice']}"}) as ws:
            ws.subscribe("q", "{ songs { title } }")
            assert ws.next_data("q") == {"songs": [{"title": "Intro"}]}
            assert ws.receive() == {"type": "complete", "id": "q"}
            ws.subscribe("m", 'mutation { insert_songs(objects: [{title: "Two"}]) { affected_rows } }')
            assert ws.next_data("m") == {"insert_songs": {"affected_rows": 1}}
            assert ws.receive() == {"type": "complete", "id": "m"}
            ws.subscribe("s", "query Schema { __schema { subscriptionType { fields { name } } } }")
            fields = {f["name"] for f in ws.next_data("s")["__schema"]["subscriptionType"]["fields"]}
            assert ws.receive() == {"type": "complete", "id": "s"}
            assert {"songs", "songs_by_pk", "songs_aggregate", "other"} <= fields
            # A document that does not validate: the protocol's error message, nothing else.
            ws.subscribe("bad", "subscription { nope { id } }")
            refused = ws.receive()
            assert refused["type"] == "error" and refused["id"] == "bad", refused
            assert "nope" in refused["payload"][0]["message"]
            ws.subscribe("syntax", "subscription {")
            refused = ws.receive()
            assert refused["type"] == "error" and "Syntax Error" in refused["payload"][0]["message"], refused
            # The socket still works.
            ws.send({"type": "ping"})
            assert ws.receive() == {"type": "pong"}


def test_a_write_through_the_other_worker_is_seen(tmp_path):
    data_dir = tmp_path / "data"
    started: list[subprocess.Popen[bytes]] = []
    with running_server(data_dir, workers=2, started=started) as base:
        workers = wait_for_workers(started[0].pid, 2)
        with httpx2.Client(base_url=base, timeout=30) as http:
            session = sign_up_and_login(http, "root", setup_key=setup_key_from_log(data_dir))
        auth = {"Authorization": f"Bearer {session}"}
        with client(base, session) as http:
            db_id = new_songs_db(http, "workers")
        with LiveSocket(base, f"/dbs/{db_id}/graphql", headers=auth).init() as ws:
            ws.subscribe("w", "subscription { songs(order_by: [{id: DESC}], limit: 1) { title } }")
            assert ws.next_data("w") == {"songs": [{"title": "Intro"}]}
            port = int(base.rsplit(":", 1)[1])
            mine = _worker_of(ws, port, workers)
            others = {pid: conn for pid, conn in one_per_worker(base, workers, auth).items() if pid != mine}
            other: Pinned = next(iter(others.values()))
            status, answer = other.request(
                "POST", f"/dbs/{db_id}/sql", {"query": "INSERT INTO songs(title) VALUES ('B')"}
            )
            assert status == 200, answer
            assert ws.next_data("w") == {"songs": [{"title": "B"}]}


def _worker_of(ws: LiveSocket, port: int, workers: set[int]) -> int:
    inode = _server_socket_inode(port, ws.ws.socket.getsockname()[1])
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if fd.readlink().as_posix() == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no worker holds the socket")


def test_a_revoked_token_ends_its_subscriptions(server):
    base, _data_dir, sessions = server
    with client(base, sessions["bob"]) as http:
        db_id = new_songs_db(http, "revoked")
        made = http.post(
            "/api/tokens",
            json={"name": "live", "team_name": "bob", "permissions": [{"db_id": db_id, "name": "read"}]},
        )
        assert made.status_code == 201, made.text
        token = made.json()
        with LiveSocket(base, f"/dbs/{db_id}/graphql").init({"Authorization": f"Bearer {token['body']}"}) as ws:
            ws.subscribe("t", TITLES)
            assert ws.next_data("t") == {"songs": [{"id": 1, "title": "Intro"}]}
            assert http.delete(f"/api/tokens/{token['id']}").status_code == 200
            ended = ws.receive()
            assert ended["type"] == "error" and ended["id"] == "t", ended
            assert "token" in ended["payload"][0]["message"].lower(), ended
            code, reason = ws.closed_with()
            assert code == 4403 and reason.startswith("Forbidden"), (code, reason)
        # The token no longer opens a socket either.
        with LiveSocket(base, f"/dbs/{db_id}/graphql") as ws:
            ws.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token['body']}"}})
            assert ws.closed_with()[0] == 4403


def test_insert_only_callers_cannot_subscribe(server):
    base, _data_dir, sessions = server
    with client(base, sessions["bob"]) as http:
        db_id = new_songs_db(http, "insert-only")
        made = http.post(
            "/api/tokens",
            json={"name": "ins", "team_name": "bob", "permissions": [{"db_id": db_id, "name": "insert"}]},
        )
        assert made.status_code == 201, made.text
        with LiveSocket(base, f"/dbs/{db_id}/graphql").init({"Authorization": f"Bearer {made.json()['body']}"}) as ws:
            ws.subscribe("i", TITLES)
            refused = ws.receive()
            assert refused == {
                "type": "error",
                "id": "i",
                "payload": [{"message": "Cannot read field using the provided token"}],
            }
            ws.subscribe("s", "{ __schema { subscriptionType { name } } }")
            assert ws.next_data("s") == {"__schema": {"subscriptionType": None}}


def test_the_read_only_link_subscribes_and_ends_when_turned_off(server):
    base, _data_dir, sessions = server
    with client(base, sessions["alice"]) as http:
        db_id = new_songs_db(http, "link")
        readonly_id = http.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
        with LiveSocket(base, f"/readonly/{readonly_id}/graphql").init() as ws:
            ws.subscribe("r", TITLES)
            assert ws.next_data("r") == {"songs": [{"id": 1, "title": "Intro"}]}
            run_sql(http, db_id, "INSERT INTO songs(title) VALUES ('More')")
            assert len(ws.next_data("r")["songs"]) == 2
            ws.subscribe("m", 'mutation { insert_songs(objects: [{title: "No"}]) { affected_rows } }')
            refused = ws.receive()
            assert refused["id"] == "m" and "errors" in refused["payload"], refused
            assert ws.receive() == {"type": "complete", "id": "m"}
            assert http.delete(f"/api/dbs/{db_id}/readonly-id").status_code in (200, 204)
            ended = ws.receive()
            assert (
                ended["type"] == "error" and ended["id"] == "r" and "does not exist" in ended["payload"][0]["message"]
            )
        songs = http.post(f"/dbs/{db_id}/graphql", json={"query": "{ songs { title } }"}).json()["data"]["songs"]
        assert [s["title"] for s in songs] == ["Intro", "More"]  # the refused mutation wrote nothing


def test_the_bounds_refuse_the_next_subscription_with_a_clear_error(server):
    base, _data_dir, sessions = server
    with client(base, sessions["alice"]) as http:
        db_id = new_songs_db(http, "bounds")
        readonly_id = http.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
        with LiveSocket(base, f"/dbs/{db_id}/graphql").init({"Authorization": f"Bearer {sessions['alice']}"}) as ws:
            for n in range(3):
                ws.subscribe(str(n), TITLES)
                assert ws.next_data(str(n))["songs"][0]["title"] == "Intro"
            ws.subscribe("3", TITLES)
            refused = ws.receive()
            assert refused["type"] == "error" and refused["id"] == "3", refused
            assert refused["payload"][0]["message"] == (
                "Too many live queries open for this caller (at most 3): complete one first"
            )
            # Per database, all callers together (4): the read-only link's holder gets one more, then no more.
            with LiveSocket(base, f"/readonly/{readonly_id}/graphql").init() as link:
                link.subscribe("a", TITLES)
                assert link.next_data("a")["songs"][0]["title"] == "Intro"
                link.subscribe("b", TITLES)
                refused = link.receive()
                assert refused["payload"][0]["message"] == (
                    "Too many live queries open on this database (at most 4): try again later"
                )
            # Completing one frees its place.
            ws.send({"type": "complete", "id": "0"})
            time.sleep(0.2)
            ws.subscribe("4", TITLES)
            assert ws.next_data("4")["songs"][0]["title"] == "Intro"


def test_protocol_errors_get_the_protocols_close_codes(server):
    base, _data_dir, sessions = server
    with client(base, sessions["alice"]) as http:
        db_id = new_songs_db(http, "protocol")
    path = f"/dbs/{db_id}/graphql"
    auth = {"Authorization": f"Bearer {sessions['alice']}"}
    cases: list[tuple[list[dict | str], int, str]] = [
        (["not json"], 4400, "Invalid message received"),
        ([{"type": "connection_init"}, {"no": "type"}], 4400, "Invalid message received"),
        ([{"type": "connection_init"}, {"type": "shout"}], 4400, "Invalid message received: unknown type 'shout'"),
        ([{"type": "subscribe", "id": "1", "payload": {"query": "{ songs { id } }"}}], 4401, "Unauthorized"),
        ([{"type": "connection_init"}, {"type": "connection_init"}], 4429, "Too many initialisation requests"),
        ([{"type": "connection_init", "payload": {"Authorization": "Basic x"}}], 4403, "Forbidden: use"),
        ([{"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}], 4403, "Forbidden: "),
        ([{"type": "connection_init"}, {"type": "subscribe", "id": "1"}], 4400, "Invalid message received"),
    ]
    for messages, code, reason in cases:
        with LiveSocket(base, path, headers=auth) as ws:
            for message in messages:
                ws.send(message)
            closed = ws.closed_with()
            assert closed[0] == code and closed[1].startswith(reason), (messages, closed)
    with LiveSocket(base, path, headers=auth).init() as ws:
        ws.subscribe("x", TITLES)
        assert ws.next_data("x")["songs"]
        ws.subscribe("x", TITLES)
        assert ws.closed_with() == (4409, "Subscriber for x already exists")
    with LiveSocket(base, path, headers=auth, subprotocols=["graphql-ws"]) as ws:
        assert ws.closed_with() == (4406, "Subprotocol not acceptable")
    with LiveSocket(base, path, headers=auth) as ws:
        ws.send({"type": "ping", "payload": {"at": 1}})
        assert ws.receive() == {"type": "pong"}  # a ping is answered before connection_init too
        assert ws.closed_with(timeout=6) == (4408, "Connection initialisation timeout")


def test_a_cookie_only_subscribes_from_this_sites_origin(server):
    base, _data_dir, sessions = server
    with httpx2.Client(base_url=base, timeout=30) as http:
        assert (
            http.post("/api/login", json={"username": "alice", "password": "correct horse battery"}).status_code == 200
        )
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    with client(base, sessions["alice"]) as http:
        db_id = new_songs_db(http, "cookie")
    path = f"/dbs/{db_id}/graphql"
    with pytest.raises(InvalidStatus) as refused:
        LiveSocket(base, path, headers={"Cookie": cookie}, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        LiveSocket(base, path, headers={"Cookie": cookie})  # a cookie without an Origin
    with LiveSocket(base, path, headers={"Cookie": cookie}, origin=base).init() as ws:
        ws.subscribe("c", TITLES)
        assert ws.next_data("c")["songs"][0]["title"] == "Intro"
    # No cookie: a page elsewhere connects as anonymous, who sees no private database.
    with LiveSocket(base, path, origin="http://evil.example").init() as ws:
        ws.subscribe("c", TITLES)
        refused_message = ws.receive()
        assert refused_message["type"] == "error" and "does not exist" in refused_message["payload"][0]["message"]
