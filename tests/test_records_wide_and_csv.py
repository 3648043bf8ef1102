"""Records of a table as wide as SQLite allows, records as CSV with BLOBs, and date ranges by convention."""

from __future__ import annotations

import base64
import csv
import io

from tests.helpers import create_db, sql

WIDE_COLUMNS = 2000  # SQLite's most columns in a table and in a result


def test_a_2000_column_table_pages_through_its_records(client):
    columns = ", ".join(f"c{i} TEXT" for i in range(WIDE_COLUMNS))
    db = create_db(client, f"CREATE TABLE wide({columns})")
    sql(client, db, "INSERT INTO wide(c0, c1999) VALUES ('a', 'z'), ('b', NULL), ('c', 'y')")
    base = f"/api/dbs/{db}/tables/wide/records"
    first = client.get(base + "?limit=2")
    assert first.status_code == 200, first.text
    page = first.json()
    assert [(r["c0"], r["c1999"]) for r in page["records"]] == [("a", "z"), ("b", None)]
    assert len(page["records"][0]) == WIDE_COLUMNS and page["next"]
    second = client.get(base + f"?limit=2&next={page['next']}").json()
    assert [r["c0"] for r in second["records"]] == ["c"] and second["next"] is None
    assert [r["c0"] for r in client.get(base + "?c1999__isnull=false").json()["records"]] == ["a", "c"]
    assert client.get(base + "?c0=nothing").json() == {"records": [], "next": None}
    as_csv = client.get(base + "?limit=1", headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200 and len(next(csv.reader(io.StringIO(as_csv.text)))) == WIDE_COLUMNS
    assert client.get(f"/dbs/{db}/tables/wide").status_code == 200  # the web page


def test_records_as_csv_write_blobs_as_base64_like_the_table_export(client):
    db = create_db(client, "CREATE TABLE files(id INTEGER PRIMARY KEY, body BLOB, note TEXT)")
    sql(client, db, "INSERT INTO files(body, note) VALUES (x'deadbeef', 'one'), (x'', 'empty'), (NULL, 'none')")
    records = client.get(f"/api/dbs/{db}/tables/files/records", headers={"Accept": "text/csv"})
    exported = client.get(f"/api/dbs/{db}/tables/files/export")
    rows = list(csv.reader(io.StringIO(records.text)))
    assert rows == [
        ["id", "body", "note"],
        ["1", base64.b64encode(b"\xde\xad\xbe\xef").decode(), "one"],
        ["2", "", "empty"],
        ["3", "", "none"],
    ]
    assert records.text == exported.text and "b'" not in records.text


def test_date_ranges_use_created_at_or_the_one_date_column(client):
    db = create_db(
        client,
        "CREATE TABLE events(id INTEGER PRIMARY KEY, created_at, note TEXT);"
        "INSERT INTO events(created_at, note) VALUES ('2022-05-18T23:59:59Z', 'before'),"
        " ('2022-05-19 00:00:00', 'first second'), ('2022-05-19T22:30:00-02:00', 'next day in UTC'),"
        " (1653004800, 'unix 2022-05-20'), ('not a date', 'never'), (NULL, 'none');"
        "CREATE TABLE visits(id INTEGER PRIMARY KEY, day DATE, label TEXT);"
        "INSERT INTO visits(day, label) VALUES ('2024-01-01', 'a'), ('2024-02-01', 'b');"
        "CREATE TABLE plain(id INTEGER PRIMARY KEY, a DATE, b TIMESTAMP)",
    )

    def notes(table: str, query: str) -> list[str]:
        answer = client.get(f"/api/dbs/{db}/tables/{table}/records{query}")
        assert answer.status_code == 200, answer.text
        return [r.get("note") or r.get("label") for r in answer.json()["records"]]

    assert notes("events", "?start_date=2022-05-19") == ["first second", "next day in UTC", "unix 2022-05-20"]
    assert notes("events", "?end_date=2022-05-19") == ["before", "first second"]
    # timestamps are inclusive instants: 00:30 UTC on the 20th is after the end, the Unix second of midnight is not
    assert notes("events", "?start_date=2022-05-19T00:00:00%2B00:00&end_date=2022-05-20T00:00:00Z") == [
        "first second",
        "unix 2022-05-20",
    ]
    assert notes("visits", "?start_date=2024-01-15") == ["b"]
    answer = client.get(f"/api/dbs/{db}/tables/plain/records?start_date=2024-01-01")
    assert answer.status_code == 400
    assert "several date or time columns ('a', 'b')" in answer.json()["errors"][0]
    assert "date_column=<column>" in answer.json()["errors"][0]
    assert client.get(f"/api/dbs/{db}/tables/plain/records?start_date=2024-01-01&date_column=a").status_code == 200
    answer = client.get(f"/api/dbs/{db}/tables/events/records?start_date=yesterday")
    assert answer.status_code == 400 and "start_date must be a date like 2024-01-31" in answer.json()["errors"][0]
