"""With the disk below min_free_disk_bytes, writes through /sql and table edits are a clear 507
and leave the file as it was; reads go on (issue 16, point 11). The full disk is real in the sense
that matters: the setting is put above the real free space of this filesystem."""

from __future__ import annotations

import shutil

from tests.helpers import create_db, sql


def fill_the_disk(client) -> None:
    services = client.app.state.services
    free = shutil.disk_usage(services.settings.data_dir).free
    services.live.apply({"min_free_disk_bytes": free + 1024**3})


def test_sql_writes_and_file_cells_are_507_and_nothing_is_written(client):
    db = create_db(client, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, f BLOB); INSERT INTO t(s) VALUES ('a')")
    fill_the_disk(client)
    for query in ["INSERT INTO t(s) VALUES ('b')", "UPDATE t SET s = 'z'", "CREATE TABLE u(a)"]:
        answer = sql(client, db, query)
        assert answer.status_code == 507, answer.text
        assert "disk is too full" in answer.json()["errors"][0] and "Nothing was written" in answer.json()["errors"][0]
    cell = client.put(f"/api/dbs/{db}/tables/t/columns/f/files/id/1", content=b"hello")
    assert cell.status_code == 507, cell.text
    # reads go on, and nothing changed
    assert sql(client, db, "SELECT id, s, f FROM t").json()["rows"] == [{"id": 1, "s": "a", "f": None}]
    assert sql(client, db, "SELECT name FROM sqlite_master WHERE name = 'u'").json()["rows"] == []
    client.app.state.services.live.apply({"min_free_disk_bytes": 0})
    assert sql(client, db, "INSERT INTO t(s) VALUES ('b')").status_code == 200
