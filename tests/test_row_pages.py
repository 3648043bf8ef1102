"""The row page, the schema page and the table page's foreign-key data (issue 21, "Browsing"): what
each shows, their refusals (400, 404) as pages that change nothing, read-only links, names with "/"."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import quote

import pytest

from tests.helpers import create_db, sign_up_and_login, sql

SCHEMA = """
CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER DEFAULT 1900);
CREATE TABLE "a/b albums"(id INTEGER PRIMARY KEY, title TEXT UNIQUE, artist_id INTEGER REFERENCES artists(id) ON DELETE CASCADE,
  CHECK (length(title) < 200));
CREATE INDEX albums_by_artist ON "a/b albums"(artist_id);
CREATE TABLE tags(code TEXT PRIMARY KEY, label TEXT, parent TEXT REFERENCES tags) WITHOUT ROWID;
CREATE TRIGGER no_empty_names BEFORE INSERT ON artists WHEN new.name = '' BEGIN SELECT RAISE(ABORT, 'empty'); END;
CREATE VIEW names AS SELECT name FROM artists;
INSERT INTO artists VALUES (1, 'Nina Simone', 1933), (2, 'Miles <b>Davis</b>', 1926);
INSERT INTO "a/b albums"(title, artist_id) VALUES ('Pastel Blues', 1), ('Wild Is the Wind', 1), ('Kind of Blue', 2);
INSERT INTO tags VALUES ('jazz', 'Jazz', NULL), ('bebop/hard', 'Hard bop', 'jazz');
"""


@pytest.fixture
def music(client):
    return create_db(client, SCHEMA, name="music")


def page(client, path: str, **query: str):
    return client.get(path, params=query, headers={"Accept": "text/html"})


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_a_row_page_shows_every_column_its_links_and_the_rows_that_reference_it(client, music):
    answer = page(client, f"/dbs/{music}/rows/artists", rowid="1")
    assert answer.status_code == 200
    html = answer.text
    shown = text_of(html)
    assert "Nina Simone" in shown and "1933" in shown and "row 1" in shown
    # The referencing table (its name holds a "/") with the count, the first rows, and the filtered table's address.
    assert "2 rows in a/b albums" in shown
    assert "Pastel Blues" in shown and "Wild Is the Wind" in shown and "Kind of Blue" not in shown
    assert f'href="/dbs/{music}/tables/a%2Fb%20albums?eq%3Aartist_id=1"' in html
    assert f'href="/dbs/{music}/rows/a%2Fb%20albums?rowid=1"' in html
    assert f'href="/dbs/{music}/schema/artists"' in html


def test_a_row_page_escapes_values_and_links_foreign_keys_with_the_label(client, music):
    html = page(client, f"/dbs/{music}/rows/artists", rowid="2").text
    assert "Miles &lt;b&gt;Davis&lt;/b&gt;" in html and "<b>Davis</b>" not in html
    album = page(client, f"/dbs/{music}/rows/a/b albums", rowid="3")
    assert album.status_code == 200
    key = quote(json.dumps({"id": 2}, separators=(",", ":")), safe="")
    assert f'href="/dbs/{music}/rows/artists?key={key}"' in album.text
    assert 'class="label">Miles &lt;b&gt;Davis&lt;/b&gt;</span>' in album.text
    assert "No table has a foreign key to a/b albums" in text_of(album.text)


def test_the_key_addresses_rows_of_without_rowid_tables_and_unique_columns(client, music):
    key = json.dumps({"code": "bebop/hard"})
    answer = page(client, f"/dbs/{music}/rows/tags", key=key)
    assert answer.status_code == 200
    assert "Hard bop" in answer.text
    assert 'tags <small class="muted">code = &#34;bebop/hard&#34;</small>' in answer.text
    # Its parent (a key without a column list: the primary key) links by key, labelled.
    parent = quote(json.dumps({"code": "jazz"}, separators=(",", ":")), safe="")
    assert f'href="/dbs/{music}/rows/tags?key={parent}"' in answer.text
    jazz = page(client, f"/dbs/{music}/rows/tags", key=json.dumps({"code": "jazz"}))
    assert "1 row in tags" in text_of(jazz.text)
    # A UNIQUE column names one row too.
    by_title = page(client, f"/dbs/{music}/rows/a/b albums", key=json.dumps({"title": "Kind of Blue"}))
    assert by_title.status_code == 200 and "Kind of Blue" in by_title.text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({}, 400, "Name one row: ?rowid="),
        ({"rowid": "1", "key": '{"id": 1}'}, 400, "Name one row"),
        ({"rowid": "one"}, 400, "The rowid must be a whole number, not &#39;one&#39;"),
        ({"key": "{nope"}, 400, "The key must be a JSON object"),
        ({"key": "[1]"}, 400, "The key must be a JSON object of column names and values"),
        ({"key": '{"born": 1933}'}, 400, "must hold the primary key or a UNIQUE index"),
        ({"key": '{"nope": 1}'}, 400, "has no column &#39;nope&#39;"),
        ({"key": '{"id": [1]}'}, 400, "must be a number or a text"),
        ({"rowid": "99"}, 404, "has no such row"),
        ({"key": '{"id": null}'}, 404, "has no such row"),
    ],
)
def test_a_row_that_cannot_be_named_or_found_is_a_clear_error_page(client, music, query, status, message):
    before = sql(client, music, "SELECT count(*) AS n FROM artists").json()["rows"]
    answer = page(client, f"/dbs/{music}/rows/artists", **query)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text
    assert sql(client, music, "SELECT count(*) AS n FROM artists").json()["rows"] == before


def test_unknown_tables_views_and_rowless_tables_are_refused(client, music):
    assert page(client, f"/dbs/{music}/rows/nope", rowid="1").status_code == 404
    view = page(client, f"/dbs/{music}/rows/names", rowid="1")
    assert view.status_code == 404 and "is a view" in view.text
    rowless = page(client, f"/dbs/{music}/rows/tags", rowid="1")
    assert rowless.status_code == 400 and "has no rowid" in rowless.text
    assert page(client, f"/dbs/{music}/schema/nope").status_code == 404
    # An API client gets the same refusals as JSON.
    answer = client.get(f"/dbs/{music}/rows/artists", params={"rowid": "99"})
    assert answer.status_code == 404 and answer.json() == {"errors": ["'artists' has no such row"]}


def test_the_schema_page_shows_columns_constraints_indexes_triggers_and_keys_both_ways(client, music):
    artists = text_of(page(client, f"/dbs/{music}/schema/artists").text)
    assert "CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER DEFAULT 1900)" in artists
    assert "no_empty_names" in artists and "RAISE(ABORT, 'empty')" in artists
    assert "a/b albums (artist_id) → id" in artists and "on delete CASCADE" in artists
    html = page(client, f"/dbs/{music}/schema/a/b albums").text
    albums = text_of(html)
    assert "albums_by_artist" in albums and "CREATE INDEX albums_by_artist" in albums
    assert "UNIQUE constraint" in albums  # title's automatic index
    assert "length(title) < 200" in albums
    assert "artist_id → artists (id)" in albums
    row = re.search(r'<tr data-column="title">(.*?)</tr>', html, re.S)
    assert row is not None and text_of(row.group(1)).split() == ["title", "TEXT", "yes"]
    view = page(client, f"/dbs/{music}/schema/names")
    assert view.status_code == 200 and "CREATE VIEW names" in view.text


def test_foreign_keys_json_names_the_referenced_table_and_its_label(client, music):
    answer = client.get(f"/dbs/{music}/foreign-keys/a/b albums")
    assert answer.status_code == 200
    assert answer.json() == {
        "foreignKeys": [{"columns": ["artist_id"], "table": "artists", "targetColumns": ["id"], "labelColumn": "name"}],
        "primaryKey": ["id"],
    }
    assert client.get(f"/dbs/{music}/foreign-keys/{quote('a/b albums', safe='')}").json() == answer.json()
    tags = client.get(f"/dbs/{music}/foreign-keys/tags").json()
    assert tags == {
        "foreignKeys": [{"columns": ["parent"], "table": "tags", "targetColumns": ["code"], "labelColumn": "label"}],
        "primaryKey": ["code"],
    }
    assert client.get(f"/dbs/{music}/foreign-keys/nope").status_code == 404


def test_long_values_are_cut_and_blobs_measured(client):
    db = create_db(client, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, data BLOB)")
    sql(client, db, "INSERT INTO notes VALUES (1, ?, randomblob(3000))", [("x" * 150_000) + "END"])
    html = page(client, f"/dbs/{db}/rows/notes", rowid="1").text
    assert "END" not in html and "x" * 1000 in html
    assert "150,003 characters in all" in html
    assert "BLOB, 3,000 bytes" in html


def test_read_only_links_show_the_pages_under_their_own_address(client, anonymous, music):
    readonly = client.post(f"/api/dbs/{music}/readonly-id").json()["readonlyId"]
    visitor = anonymous.__class__(anonymous.app)  # no Authorization header
    answer = visitor.get(f"/readonly/{readonly}/rows/artists", params={"rowid": "1"}, headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert "Nina Simone" in answer.text
    assert f"/readonly/{readonly}/tables/a%2Fb%20albums?eq%3Aartist_id=1" in answer.text
    assert music not in answer.text  # the database's real id stays hidden
    schema = visitor.get(f"/readonly/{readonly}/schema/a/b albums", headers={"Accept": "text/html"})
    assert schema.status_code == 200 and music not in schema.text
    links = visitor.get(f"/readonly/{readonly}/foreign-keys/a/b albums")
    assert links.status_code == 200 and links.json()["foreignKeys"][0]["labelColumn"] == "name"
    # Off: the link is gone.
    client.delete(f"/api/dbs/{music}/readonly-id")
    gone = visitor.get(f"/readonly/{readonly}/rows/artists", params={"rowid": "1"}, headers={"Accept": "text/html"})
    assert gone.status_code == 404 and "Nina" not in gone.text


def test_a_private_database_is_not_found_for_others(client, anonymous, music):
    other = sign_up_and_login(client, "mallory")
    for path in (
        f"/dbs/{music}/rows/artists?rowid=1",
        f"/dbs/{music}/schema/artists",
        f"/dbs/{music}/foreign-keys/artists",
    ):
        answer = client.get(path, headers={"Authorization": f"Bearer {other}"})
        assert answer.status_code == 404, path
        assert "Nina" not in answer.text


def test_foreign_keys_spelled_in_another_case_still_link_and_filter(client):
    db = create_db(
        client,
        "CREATE TABLE Owners(ID INTEGER PRIMARY KEY, Name TEXT);"
        "CREATE TABLE pets(id INTEGER PRIMARY KEY, OWNER INTEGER, FOREIGN KEY (owner) REFERENCES owners(id));"
        "INSERT INTO Owners VALUES (7, 'Ada'); INSERT INTO pets VALUES (1, 7)",
    )
    links = client.get(f"/dbs/{db}/foreign-keys/pets").json()["foreignKeys"]
    assert links == [{"columns": ["OWNER"], "table": "Owners", "targetColumns": ["ID"], "labelColumn": "Name"}]
    owner = page(client, f"/dbs/{db}/rows/Owners", rowid="7").text
    assert f'href="/dbs/{db}/tables/pets?eq%3AOWNER=7"' in owner and "1 row in pets" in text_of(owner)
    pet = page(client, f"/dbs/{db}/rows/pets", rowid="1").text
    assert 'class="label">Ada</span>' in pet


def test_a_key_beyond_64_bits_is_a_400(client, music):
    answer = page(client, f"/dbs/{music}/rows/artists", key='{"id": 18446744073709551615}')
    assert answer.status_code == 400 and "too large" in answer.text


def test_a_row_of_a_2000_column_table_is_read_a_slice_of_columns_at_a_time(client):
    columns = ", ".join(f"c{i} TEXT" for i in range(2000))
    db = create_db(client, f"CREATE TABLE wide({columns}); INSERT INTO wide(c0, c1999) VALUES ('first', 'last')")
    html = page(client, f"/dbs/{db}/rows/wide", rowid="1").text
    shown = {
        name: text_of(cells).split()[-1]
        for name, cells in re.findall(r'<tr data-column="(c0|c1|c1999)">(.*?)</tr>', html, re.S)
    }
    assert shown == {"c0": "first", "c1": "NULL", "c1999": "last"}
