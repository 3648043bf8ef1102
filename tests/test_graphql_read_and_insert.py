"""An insert token on a public database may read (anyone may) and insert: GraphQL gives it both, and nothing that
changes existing rows (before, reading from public turned the token's insert right into a read-only schema)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.helpers import bearer, create_db


def _public_music(client: TestClient) -> tuple[str, dict[str, str]]:
    db = create_db(
        client,
        "CREATE TABLE albums(id INTEGER PRIMARY KEY, title TEXT NOT NULL); INSERT INTO albums(title) VALUES ('Kind of Blue')",
    )
    assert client.patch(f"/api/dbs/{db}/settings", json={"visibility": "public"}).status_code == 200
    made = client.post(
        "/api/tokens", json={"name": "ins", "team_name": "alice", "permissions": [{"db_id": db, "name": "insert"}]}
    )
    assert made.status_code == 201, made.text
    return db, bearer(made.json()["body"])


def _titles(client: TestClient, db: str) -> list[str]:
    rows = client.post(f"/dbs/{db}/sql", json={"query": "SELECT title FROM albums ORDER BY id"}).json()["rows"]
    return [row["title"] for row in rows]


def test_it_reads_and_inserts_with_returning(client: TestClient) -> None:
    db, token = _public_music(client)
    answer = client.post(
        f"/dbs/{db}/graphql",
        headers=token,
        json={
            "query": 'mutation { insert_albums(objects: [{title: "Blue Train"}]) { affected_rows returning { id title } } }'
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "data": {"insert_albums": {"affected_rows": 1, "returning": [{"id": 2, "title": "Blue Train"}]}}
    }
    read = client.post(f"/dbs/{db}/graphql", headers=token, json={"query": "{ albums { title } }"})
    assert read.json() == {"data": {"albums": [{"title": "Kind of Blue"}, {"title": "Blue Train"}]}}


def test_it_cannot_update_delete_or_upsert(client: TestClient) -> None:
    db, token = _public_music(client)
    for mutation in (
        'mutation { update_albums(where: {id: {_eq: 1}}, _set: {title: "x"}) { affected_rows } }',
        "mutation { delete_albums(where: {id: {_eq: 1}}) { affected_rows } }",
    ):
        answer = client.post(f"/dbs/{db}/graphql", headers=token, json={"query": mutation})
        assert answer.json()["data"] is None
        assert "Cannot query field" in answer.json()["errors"][0]["message"]
    upsert = client.post(
        f"/dbs/{db}/graphql",
        headers=token,
        json={
            "query": 'mutation { insert_albums(objects: [{id: 1, title: "x"}], '
            "on_conflict: [{constraint: id, update_columns: [title]}]) { affected_rows } }"
        },
    )
    assert upsert.status_code == 403, upsert.text
    assert upsert.json()["errors"][0]["message"].startswith("on_conflict is not allowed with insert access")
    assert _titles(client, db) == ["Kind of Blue"]
