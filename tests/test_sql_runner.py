"""Guarded SQL execution against real hosted files, without HTTP."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest

from airsequel.core.errors import Conflict, Forbidden, SqlError, TimedOut, TooLarge
from airsequel.core.services import Services

SCHEMA = """
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, avatar BLOB);
CREATE TABLE log(entry TEXT);
CREATE TRIGGER users_log AFTER INSERT ON users BEGIN INSERT INTO log VALUES (NEW.name); END;
INSERT INTO users(name) VALUES ('ada'), ('grace');
"""


@pytest.fixture
def db(services: Services):
    return services.hosting.create("runner", query=SCHEMA)


def count(services: Services, db, table: str = "users") -> int:
    rows = services.hosting.run_sql(db, f"SELECT count(*) AS n FROM {table}", may_write=False).rows
    return rows[0]["n"]


def test_select_returns_rows_keyed_by_column_in_order(services, db):
    result = services.hosting.run_sql(db, "SELECT name, id FROM users ORDER BY id", may_write=False)
    assert result.rows == [{"name": "ada", "id": 1}, {"name": "grace", "id": 2}]
    assert list(result.rows[0]) == ["name", "id"]
    assert result.affected_tables == [] and not result.wrote


def test_write_reports_affected_tables_including_trigger_targets(services, db):
    result = services.hosting.run_sql(db, "INSERT INTO users(name) VALUES ('linus')", may_write=True)
    assert result.affected_tables == ["users", "log"]
    assert result.num_changes == 2
    assert count(services, db, "log") == 3  # two from the schema script, one now


def test_script_is_all_or_nothing(services, db):
    with pytest.raises(SqlError, match="no such table: missing"):
        services.hosting.run_sql(db, "INSERT INTO users(name) VALUES ('x'); SELECT * FROM missing", may_write=True)
    assert count(services, db) == 2
    assert count(services, db, "log") == 2


def test_rows_of_last_statement_with_rows(services, db):
    result = services.hosting.run_sql(
        db, "INSERT INTO users(name) VALUES ('x') RETURNING id; UPDATE users SET name = upper(name)", may_write=True
    )
    assert result.rows == [{"id": 3}]


def test_read_only_access_cannot_write_and_nothing_changes(services, db):
    path = services.hosting.file_path(db)
    before = sqlite3.connect(path).execute("SELECT * FROM users").fetchall()
    for attack in [
        "INSERT INTO users(name) VALUES ('evil')",
        "PRAGMA query_only=OFF; DELETE FROM users",
        "WITH x AS (SELECT 1) INSERT INTO users(name) SELECT 'evil' FROM x",
        "DELETE FROM users RETURNING *",
        "CREATE TABLE evil(a)",
        "DROP TABLE users",
    ]:
        with pytest.raises((Forbidden, SqlError)):
            services.hosting.run_sql(db, attack, may_write=False)
    after = sqlite3.connect(path).execute("SELECT * FROM users").fetchall()
    assert before == after
    assert "evil" not in services.hosting.schema_text(services.hosting.get(db.id))


def test_pragma_table_valued_functions_work_for_readers(services, db):
    result = services.hosting.run_sql(db, "SELECT name FROM pragma_table_info('users')", may_write=False)
    assert [row["name"] for row in result.rows] == ["id", "name", "avatar"]


@pytest.mark.parametrize(
    "attack, message",
    [
        ("ATTACH DATABASE '/tmp/airsequel-attack.db' AS x", "ATTACH"),
        ("DETACH DATABASE main", "ATTACH"),
        ("VACUUM INTO '/tmp/airsequel-vacuum-into.db'", "VACUUM INTO is not allowed"),
        ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
        ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer"),
        ("PRAGMA writable_schema=ON", "writable_schema"),
        ("PRAGMA hard_heap_limit=1", "hard_heap_limit"),
        ("PRAGMA soft_heap_limit=1", "soft_heap_limit"),
        ("PRAGMA journal_mode=DELETE", "journal_mode"),
        ("PRAGMA max_page_count=1000000000", "max_page_count"),
        ("BEGIN; DELETE FROM users; COMMIT", "managed by the server"),
        ("CREATE TEMP TABLE t(a)", "Temporary"),
    ],
)
def test_dangerous_statements_are_refused_with_a_clear_error(services, db, attack, message):
    for may_write in (True, False):
        with pytest.raises((SqlError, Forbidden)) as caught:
            services.hosting.run_sql(db, attack, may_write=may_write)
        if may_write:
            assert message in str(caught.value)
    assert not os.path.exists("/tmp/airsequel-attack.db")
    assert not os.path.exists("/tmp/airsequel-vacuum-into.db")
    assert count(services, db) == 2


def test_runaway_query_is_aborted_and_the_connection_stays_usable(services, db):
    started = time.monotonic()
    with pytest.raises(TimedOut, match="time limit"):
        services.hosting.run_sql(
            db,
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            may_write=False,
        )
    assert time.monotonic() - started < 5
    assert count(services, db) == 2


def test_runaway_write_is_aborted_and_rolled_back(services, db):
    with pytest.raises(TimedOut, match="time limit"):
        services.hosting.run_sql(
            db,
            "INSERT INTO log WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
            may_write=True,
        )
    assert count(services, db, "log") == 2


def test_other_requests_are_served_while_a_query_runs_away(services, db):
    errors: list[Exception] = []

    def runaway():
        try:
            services.hosting.run_sql(
                db,
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                may_write=False,
            )
        except TimedOut as error:
            errors.append(error)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert count(services, db) == 2
    services.hosting.run_sql(db, "INSERT INTO users(name) VALUES ('meanwhile')", may_write=True)
    assert time.monotonic() - started < 0.5
    thread.join()
    assert len(errors) == 1


def test_giant_values_are_refused(services, db):
    with pytest.raises(SqlError, match="too big"):
        services.hosting.run_sql(db, "SELECT zeroblob(1000000000)", may_write=False)
    with pytest.raises(SqlError, match="too big"):
        services.hosting.run_sql(db, "SELECT randomblob(500000000)", may_write=False)


def test_row_cap_truncates_with_a_signal(services, db):
    services.live.apply({"max_rows": 5})
    result = services.hosting.run_sql(
        db,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT x FROM c",
        may_write=False,
    )
    assert result.truncated and [row["x"] for row in result.rows] == [1, 2, 3, 4, 5]


def test_response_byte_cap(services, db):
    services.live.apply({"max_response_bytes": 10_000})
    with pytest.raises(TooLarge):
        services.hosting.run_sql(
            db,
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT randomblob(1000) FROM c",
            may_write=False,
        )


def test_response_byte_cap_counts_text_and_column_names(services, db):
    services.live.apply({"max_response_bytes": 10_000})
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT {}) "
        "SELECT printf('%.100c', 'é') AS a_rather_long_column_name FROM c"
    )  # 200 bytes of UTF-8
    assert len(services.hosting.run_sql(db, query.format(30), may_write=False).rows) == 30  # ~7 KB of JSON
    with pytest.raises(TooLarge):
        services.hosting.run_sql(db, query.format(60), may_write=False)  # ~14 KB


def test_blobs_are_base64(services, db):
    services.hosting.run_sql(db, "UPDATE users SET avatar = x'00ff10' WHERE id = 1", may_write=True)
    rows = services.hosting.run_sql(db, "SELECT avatar FROM users WHERE id = 1", may_write=False).rows
    assert rows == [{"avatar": {"$base64": "AP8Q"}}]


def test_bound_parameters(services, db):
    rows = services.hosting.run_sql(db, "SELECT id FROM users WHERE name = ?", ["grace"], may_write=False).rows
    assert rows == [{"id": 2}]
    rows = services.hosting.run_sql(db, "SELECT id FROM users WHERE name = :n", {"n": "ada"}, may_write=False).rows
    assert rows == [{"id": 1}]
    with pytest.raises(SqlError, match="Parameters can only be used with a single statement"):
        services.hosting.run_sql(db, "SELECT 1; SELECT ?", [1], may_write=False)


def test_empty_and_oversized_queries(services, db):
    with pytest.raises(SqlError, match="The query is empty"):
        services.hosting.run_sql(db, "  -- nothing\n", may_write=True)
    with pytest.raises(TooLarge):
        services.hosting.run_sql(db, "SELECT 1 -- " + "x" * 2_000_000, may_write=True)


def test_schema_lock_refuses_schema_changes_with_conflict(services, db):
    services.control.update_database(db.file_key, schema_locked=True)
    locked = services.hosting.get(db.id)
    with pytest.raises(Conflict):
        services.hosting.run_sql(locked, "CREATE TABLE x(a)", may_write=True)
    services.hosting.run_sql(locked, "INSERT INTO users(name) VALUES ('data is fine')", may_write=True)
    assert count(services, db) == 3


def test_registry_learns_new_tables_after_ddl(services, db):
    services.hosting.run_sql(db, "CREATE TABLE later(a)", may_write=True)
    names = [table["name"] for table in services.hosting.get(db.id).tables]
    assert names == ["users", "log", "later"]
