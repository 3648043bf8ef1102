"""GraphiQL and the API docs link back to the app (issue 21's polish): GraphiQL to its database's page, or to
the read-only view when opened from a read-only link (without naming the real id), and home; the docs home."""

from __future__ import annotations

import re

from tests.helpers import create_db

HTML = {"Accept": "text/html"}


def test_graphiql_links_back_to_its_database_and_home(client):
    db_id = create_db(client, "CREATE TABLE t(a)", name="Shop <i>")
    for path in (f"/dbs/{db_id}/graphql", f"/dbs/{db_id}/graphiql"):
        page = client.get(path, headers=HTML).text
        assert re.search(rf'<a id="back-to-database" href="/dbs/{db_id}">← Shop &lt;i&gt;</a>', page), path
        assert '<a class="brand" href="/">' in page


def test_graphiql_of_a_readonly_link_links_back_to_the_readonly_view(client):
    db_id = create_db(client, "CREATE TABLE t(a)")
    rid = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
    page = client.get(f"/readonly/{rid}/graphql", headers={**HTML, "Authorization": ""}).text
    assert f'<a id="back-to-database" href="/readonly/{rid}">' in page
    assert db_id not in page


def test_api_docs_link_home(client):
    page = client.get("/api/docs", headers=HTML).text
    assert '<a href="/">← airsequel</a>' in page
