"""The SQL page's data: the schema its editor completes from (tables, views and their columns, in order),
escaped where it sits in the page."""

from __future__ import annotations

import html
import json
import re

from tests.helpers import create_db


def page_schema(client, db: str) -> dict[str, list[str]]:
    response = client.get(f"/dbs/{db}/sql", headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    found = re.search(r"data-schema='([^']*)'", response.text)
    assert found, response.text
    return json.loads(html.unescape(found.group(1)))


def test_the_sql_page_carries_the_schema_for_autocomplete(client):
    db = create_db(
        client,
        "CREATE TABLE artists(id INTEGER PRIMARY KEY, name TEXT);"
        ' CREATE TABLE "it\'s <b>&"(x TEXT, "a\'b</script>" INTEGER);'
        " CREATE VIEW named AS SELECT name FROM artists",
    )
    schema = page_schema(client, db)
    assert schema == {"artists": ["id", "name"], "it's <b>&": ["x", "a'b</script>"], "named": ["name"]}
    # The names' quotes and brackets never end the attribute or open a tag.
    text = client.get(f"/dbs/{db}/sql", headers={"Accept": "text/html"}).text
    assert "<b>" not in text and "a'b" not in text


def test_an_empty_database_has_an_empty_schema(client):
    assert page_schema(client, create_db(client)) == {}


def test_the_code_editor_is_served_from_here_and_needs_no_eval(client):
    page = client.get(f"/dbs/{create_db(client)}/sql", headers={"Accept": "text/html"}).text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts[-3:] == [
        "/static/vendor/codemirror-6.0.2/codemirror.min.js",
        "/static/code_editor.js",
        "/static/pages/sql.js",
    ]
    bundle = client.get(scripts[-3])
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    # The pages' CSP has no 'unsafe-eval': the bundle must not need it.
    assert "CodeMirror" in bundle.text and "eval(" not in bundle.text and "new Function" not in bundle.text
