"""The read-only view (issue 21): /readonly/:readonlyId, its table pages and its SQL page for anyone
holding the link, and POST /readonly/:readonlyId/sql, which reads and never writes, within every limit
of POST /dbs/:dbId/sql. A link turned off or replaced is a 404: an HTML page to a browser, JSON to
anyone else. Nothing on the pages names what a reader should not see (the real id, the team, tokens)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.http.app import create_app
from tests.control_planes import control_plane_flag
from tests.helpers import create_db, sign_up_and_login, sql

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SCHEMA = (
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT);"
    "INSERT INTO people(name) VALUES ('Ada'), ('Grace');"
    'CREATE TABLE "a/b"(x INTEGER); INSERT INTO "a/b" VALUES (1);'
    "CREATE TABLE big(n INTEGER);"
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1234) INSERT INTO big SELECT n FROM c;"
)
MAX_ROWS = 1000
MAX_QUERY_BYTES = 4096


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    return Settings.from_env(
        data_dir=data_dir,
        sql_time_limit_seconds=1.0,
        secret_key="test-secret",
        control_plane=control_plane_flag(data_dir),
        max_rows=MAX_ROWS,
        max_query_bytes=MAX_QUERY_BYTES,
    )


@pytest.fixture
def shared(client: TestClient) -> tuple[str, str]:
    """alice's database with its read-only link on: (database id, read-only id)."""
    db_id = create_db(client, SCHEMA, name="Shop <b>")
    response = client.post(f"/api/dbs/{db_id}/readonly-id")
    assert response.status_code == 200, response.text
    return db_id, response.json()["readonlyId"]


@pytest.fixture
def visitor(client: TestClient) -> TestClient:
    """Someone who holds the link and is not logged in: a client of the same server without alice's token."""
    return TestClient(client.app, raise_server_exceptions=False)


def assert_nothing_secret(page: str, db_id: str) -> None:
    assert db_id not in page
    assert "/dbs/" not in page and "/api/dbs" not in page
    assert "alice" not in page  # the owning team (alice's personal team), and its owner
    for button in ("add-row", "add-column", "vacuum", "regenerate-readonly", "settings-form", "new-table-form"):
        assert f'id="{button}"' not in page


def test_overview_lists_tables_with_counts_and_links_under_the_link(visitor, shared):
    db_id, rid = shared
    response = visitor.get(f"/readonly/{rid}", headers=HTML)
    assert response.status_code == 200
    page = response.text
    assert "Shop &lt;b&gt;" in page and "Shop <b>" not in page  # escaped
    assert f'data-db-base="/readonly/{rid}"' in page
    assert f'href="/readonly/{rid}/tables/people"' in page and "2 rows" in page
    assert f'href="/readonly/{rid}/tables/a%2Fb"' in page and "1 row<" in page
    assert "1,234 rows" in page
    assert f'href="/readonly/{rid}/sql"' in page and f'href="/readonly/{rid}/graphql"' in page
    assert "Copy to my databases" not in page  # a visitor who is not logged in cannot copy
    assert_nothing_secret(page, db_id)


def test_table_and_sql_pages_read_through_the_link(visitor, shared):
    db_id, rid = shared
    for path in ("tables/people", "tables/a/b", "tables/a%2Fb", "sql"):
        response = visitor.get(f"/readonly/{rid}/{path}", headers=HTML)
        assert response.status_code == 200, path
        page = response.text
        assert f'data-db-base="/readonly/{rid}"' in page
        assert f'href="/readonly/{rid}"' in page  # the way back is the overview of the link
        assert_nothing_secret(page, db_id)
    table_page = visitor.get(f"/readonly/{rid}/tables/people", headers=HTML).text
    assert 'data-editable="no"' in table_page and "2 rows" in table_page
    assert visitor.get(f"/readonly/{rid}/tables/nope", headers=HTML).status_code == 404


def test_a_logged_in_reader_sees_their_own_navigation_and_may_copy(client, shared):
    db_id, rid = shared
    page = client.get(f"/readonly/{rid}", headers=HTML).text
    assert "Log out alice" in page  # the viewer's own header...
    assert f'href="/readonly/{rid}/duplicate"' in page  # ...and the copy they may make
    assert db_id not in page  # even the owner's page of the link does not name the real id


def test_readonly_sql_reads(visitor, shared):
    _db_id, rid = shared
    response = visitor.post(
        f"/readonly/{rid}/sql", json={"query": "SELECT name FROM people WHERE id > ?", "params": [1]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["rows"] == [{"name": "Grace"}] and body["columns"] == ["name"] and body["errors"] == []


WRITES = [
    "INSERT INTO people(name) VALUES ('Mallory')",
    "UPDATE people SET name = 'x'",
    "DELETE FROM people",
    "DROP TABLE people",
    "CREATE TABLE evil(x)",
    "PRAGMA user_version = 7",
    "SELECT 1; DELETE FROM people",
    "WITH doomed AS (SELECT 1) DELETE FROM people",
]


@pytest.mark.parametrize("query", WRITES)
def test_a_write_through_the_link_is_refused_and_changes_nothing(client, visitor, shared, query):
    db_id, rid = shared
    before = client.get(f"/api/dbs/{db_id}/schema").text, sql(client, db_id, "SELECT * FROM people").json()["rows"]
    version = sql(client, db_id, "PRAGMA user_version").json()["rows"]
    for caller in (visitor, client):  # the owner too: through the link, a manager is only a reader
        response = caller.post(f"/readonly/{rid}/sql", json={"query": query})
        assert response.status_code == 403, response.text
        body = response.json()
        assert body["errors"] == ["This access is read-only: the query would write to the database"]
        assert body["rows"] == [] and body["numChanges"] == 0
    after = client.get(f"/api/dbs/{db_id}/schema").text, sql(client, db_id, "SELECT * FROM people").json()["rows"]
    assert after == before
    assert sql(client, db_id, "PRAGMA user_version").json()["rows"] == version


def test_the_limits_of_dbs_sql_apply(client, visitor, shared):
    db_id, rid = shared
    # Rows: capped and said so, as on /dbs/:dbId/sql.
    for path in (f"/readonly/{rid}/sql", f"/dbs/{db_id}/sql"):
        caller = visitor if path.startswith("/readonly") else client
        body = caller.post(path, json={"query": "SELECT n FROM big"}).json()
        assert len(body["rows"]) == MAX_ROWS and body["truncated"] is True, path
        assert body["warnings"] == [f"Only the first {MAX_ROWS} rows are returned: add a LIMIT or page with OFFSET"]
    # The size of the query.
    long_query = "SELECT 1 -- " + "x" * (MAX_QUERY_BYTES + 10)
    for path, caller in ((f"/readonly/{rid}/sql", visitor), (f"/dbs/{db_id}/sql", client)):
        response = caller.post(path, json={"query": long_query})
        assert response.status_code == 413, (path, response.text)
        assert response.json()["errors"] and response.json()["rows"] == []
    # A malformed body and bad parameters.
    response = visitor.post(f"/readonly/{rid}/sql", json={"query": "SELECT 1", "params": 3})
    assert response.status_code == 400
    assert response.json()["errors"] == ["params must be a list (for ?) or an object (for :name)"]
    response = visitor.post(f"/readonly/{rid}/sql", json={"qeury": "SELECT 1"})
    assert response.status_code == 400 and "qeury" in response.json()["errors"][0]
    # The guard: ATTACH is refused as on /dbs/:dbId/sql (an error of the SQL: 200 with errors).
    response = visitor.post(f"/readonly/{rid}/sql", json={"query": "ATTACH 'other.sqlite' AS other"})
    assert response.status_code == 200 and response.json()["errors"] == [
        "ATTACH, DETACH and VACUUM INTO are not allowed"
    ]


def test_the_time_limit_applies(visitor, shared):
    _db_id, rid = shared
    endless = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"
    response = visitor.post(f"/readonly/{rid}/sql", json={"query": endless})
    assert response.status_code == 504, response.text
    assert response.json()["errors"] and response.json()["rows"] == []


def test_a_link_turned_off_or_replaced_is_not_found(client, visitor, shared):
    db_id, rid = shared
    new_rid = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
    assert new_rid != rid
    for old in (rid, "0" * len(rid)):
        for path in ("", "/tables/people", "/sql"):
            page = visitor.get(f"/readonly/{old}{path}", headers=HTML)
            assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
            assert "Not found" in page.text and f"Read-only id &#39;{old}&#39; does not exist" in page.text
            assert "may have been turned off, or replaced by a new one" in page.text
            assert db_id not in page.text
            api = visitor.get(f"/readonly/{old}{path}", headers={"Accept": "application/json"})
            assert api.status_code == 404 and api.json() == {"errors": [f"Read-only id '{old}' does not exist"]}
        answer = visitor.post(f"/readonly/{old}/sql", json={"query": "SELECT 1"})
        assert answer.status_code == 404
        assert answer.json()["errors"] == [f"Read-only id '{old}' does not exist"] and answer.json()["rows"] == []
    assert visitor.get(f"/readonly/{new_rid}", headers=HTML).status_code == 200
    assert client.delete(f"/api/dbs/{db_id}/readonly-id").status_code == 200
    assert visitor.get(f"/readonly/{new_rid}", headers=HTML).status_code == 404
    assert visitor.post(f"/readonly/{new_rid}/sql", json={"query": "SELECT 1"}).status_code == 404


def test_the_sharing_card_links_to_the_readonly_view(client, shared):
    db_id, rid = shared
    page = client.get(f"/dbs/{db_id}", headers=HTML).text
    link = re.search(r'id="readonly-link"[^>]*value="([^"]+)"', page)
    assert link is not None and link[1].endswith(f"/readonly/{rid}")


@pytest.mark.slow
def test_the_callers_share_of_the_server_applies(tmp_path):
    """Link holders share the server as everyone does (by their address when not logged in): past their
    share, 429 with Retry-After, as on /dbs/:dbId/sql."""
    data_dir = tmp_path / "data"
    settings = Settings.from_env(
        data_dir=data_dir,
        sql_time_limit_seconds=1.0,
        secret_key="test-secret",
        control_plane=control_plane_flag(data_dir),
        tenant_max_concurrent_queries=1,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as owner:
        owner.headers["Authorization"] = f"Bearer {sign_up_and_login(owner, 'alice')}"
        db_id = create_db(owner, SCHEMA)
        rid = owner.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
        endless = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"
        answers: list[tuple[int, str | None]] = []

        def one() -> None:
            # not logged in (no token): on the event loop of this client, as concurrent requests of a server are
            response = owner.post(f"/readonly/{rid}/sql", json={"query": endless}, headers={"Authorization": ""})
            answers.append((response.status_code, response.headers.get("retry-after")))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(status for status, _ in answers)
        assert set(statuses) == {429, 504}, statuses
        assert {after for status, after in answers if status == 429} == {"1"}
        assert sql(owner, db_id, "SELECT count(*) AS n FROM people").json()["rows"] == [{"n": 2}]
