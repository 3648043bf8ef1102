"""What the SQL guard refuses beyond the caller's own rows (issue 16, points 12, 16 and 18)."""

from __future__ import annotations

import sqlite3
import threading
import time

from tests.helpers import create_db, sql

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
TEMP_FILLER = f"SELECT count(*) AS n FROM (SELECT randomblob(1000000) AS b FROM ({ENDLESS} SELECT x FROM c) GROUP BY b)"


def services_of(client):
    return client.app.state.services


def test_a_query_filling_temp_files_is_stopped_at_the_temp_space_limit(client):
    """Grouping 1 MB blobs of an endless CTE writes a sort file without end (3.6 GB in 10 s);
    past max_temp_bytes (64 MiB here) the statement is stopped, long before the time limit."""
    services = services_of(client)
    services.live.apply({"max_temp_bytes": 64 * 1024 * 1024, "sql_time_limit_seconds": 20.0})
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1)")
    started = time.monotonic()
    answer = sql(client, db, TEMP_FILLER)
    took = time.monotonic() - started
    assert answer.status_code == 413, answer.text
    assert "temporary disk space" in answer.json()["errors"][0]
    assert took < 10, took  # the time limit (20 s) was not what stopped it
    assert sql(client, db, "SELECT a FROM t").json()["rows"] == [{"a": 1}]
    print(f"temp filler stopped after {took:.2f} s")


def test_the_temp_limit_stops_the_filler_not_a_later_quick_query(client):
    services = services_of(client)
    services.live.apply({"max_temp_bytes": 64 * 1024 * 1024, "sql_time_limit_seconds": 20.0})
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1)")
    answers = {}
    filler = threading.Thread(target=lambda: answers.setdefault("filler", sql(client, db, TEMP_FILLER)))
    filler.start()
    quick = []
    while filler.is_alive():
        quick.append(sql(client, db, "SELECT a FROM t").status_code)
        time.sleep(0.05)
    filler.join()
    assert "temporary disk space" in answers["filler"].json()["errors"][0]
    assert quick and set(quick) == {200}


def test_sqlite_stmt_does_not_show_other_connections_statements(client):
    db = create_db(client, "CREATE TABLE t(a)")
    answer = sql(client, db, "SELECT sql FROM sqlite_stmt")
    assert answer.status_code == 200
    assert answer.json()["errors"] == ["sqlite_stmt is not available: it shows what other connections run"]


def hosted_file(client, db_id):
    services = services_of(client)
    return services.hosting.file_path(services.hosting.get(db_id))


def test_litestreams_tables_cannot_be_read_or_changed(client):
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1)")
    path = hosted_file(client, db)
    # What Litestream creates in every file it replicates, written the way it writes them.
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);"
        "CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);"
        "INSERT INTO _litestream_seq VALUES (1, 42);"
    )
    conn.close()
    denial = "Tables named _litestream_* belong to the server's continuous backups: they cannot be read or changed"
    for query in [
        "SELECT * FROM _litestream_seq",
        "DROP TABLE _litestream_seq",
        "DELETE FROM _litestream_seq",
        "UPDATE _litestream_seq SET seq = 0",
        "INSERT INTO _litestream_lock VALUES (1)",
        "CREATE INDEX i ON _litestream_seq(seq)",
        "CREATE TABLE IF NOT EXISTS _LITESTREAM_LOCK(a)",
        "CREATE TABLE _litestream_mine(a)",
        "ALTER TABLE _litestream_seq ADD COLUMN b",
    ]:
        answer = sql(client, db, query)
        assert (answer.status_code, answer.json()["errors"]) == (200, [denial]), (query, answer.text)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, seq FROM _litestream_seq").fetchall() == [(1, 42)]
    assert conn.execute("SELECT count(*) FROM _litestream_lock").fetchone() == (0,)
    assert [c[1] for c in conn.execute("PRAGMA table_info(_litestream_lock)")] == ["id"]
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = '_litestream_mine'").fetchone() == (0,)
    conn.close()
    assert sql(client, db, "SELECT a FROM t").json()["rows"] == [{"a": 1}]
