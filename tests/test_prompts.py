"""The AI prompt routes, end to end through the `llm` library with real models that need no weights:
llm-echo's `echo` (it answers with what it was sent, or with the `raw` answer a JSON prompt names),
and a few models of this test's own, registered as an llm plugin (slow, endless, failing, waiting)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import llm
import pytest
from llm.plugins import pm

from tests.helpers import acme_team, bearer, sql

SCHEMA = (
    "CREATE TABLE authors(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE books(id INTEGER PRIMARY KEY, title TEXT DEFAULT 'untitled',"
    " author_id INTEGER REFERENCES authors(id));"
    "INSERT INTO authors(name) VALUES ('Ursula Secretname');"
    "INSERT INTO books(title, author_id) VALUES ('The Dispossessed', 1)"
)

RELEASE = threading.Event()
PIECES = {"endless": 0}


class WeightlessModel(llm.Model):
    can_stream = True

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def execute(self, prompt, stream, response, conversation=None):  # type: ignore[no-untyped-def]
        if self.model_id == "test-slow":
            for _ in range(200):
                time.sleep(0.1)
                yield "SELECT 1 "
        elif self.model_id == "test-endless":
            while True:
                PIECES["endless"] += 1
                yield "words and words "
        elif self.model_id == "test-failing":
            raise RuntimeError("connection refused by the model server")
        elif self.model_id == "test-reference":
            if "You design SQLite databases" in (prompt.system or ""):
                yield '{"name": "Users", "sql": "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)", "explanation": "u"}'
            else:
                yield "Here it is:\n```sql\nINSERT INTO authors(name) VALUES ('A new user')\n```\nIt adds one row."
        elif self.model_id == "test-waiting":
            RELEASE.wait(10)
            yield '{"sql": "SELECT 2 AS two", "explanation": "two"}'


class ModelsOfThisTest:
    @llm.hookimpl
    def register_models(self, register):  # type: ignore[no-untyped-def]
        for name in ("test-slow", "test-endless", "test-failing", "test-waiting", "test-reference"):
            register(WeightlessModel(name))


@pytest.fixture(scope="module", autouse=True)
def test_models() -> Iterator[None]:
    plugin = ModelsOfThisTest()
    pm.register(plugin, name="airsequel-test-models")
    yield
    pm.unregister(plugin)


def use_model(client, model: str | None, **more: object) -> None:
    response = client.patch("/api/settings", json={"llmModel": model, **more})
    assert response.status_code == 200, response.text


def answering(sql_text: str, explanation: str = "because") -> str:
    """A prompt echo answers with this SQL proposal."""
    return json.dumps({"prompt": "anything", "raw": json.dumps({"sql": sql_text, "explanation": explanation})})


def new_db(client, name: str = "library", team: str | None = None) -> str:
    body = {"name": name, "query": SCHEMA, **({"team": team} if team else {})}
    response = client.post("/api/dbs", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def rows(client, db_id: str, query: str = "SELECT * FROM books ORDER BY id") -> list:
    return sql(client, db_id, query).json()["rows"]


def test_without_a_model_every_prompt_route_says_how_to_configure_one(client):
    db_id = new_db(client)
    for path, body in [
        (f"/api/dbs/{db_id}/prompt", {"prompt": "how many books?"}),
        (f"/api/dbs/{db_id}/prompt/describe-database", {}),
        (f"/api/dbs/{db_id}/prompt/describe-table", {"tableName": "books"}),
        ("/api/prompt/create-database", {"prompt": "a library"}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 501, (path, response.text)
        assert "AIRSEQUEL_LLM_MODEL" in response.json()["errors"][0]


def test_an_unknown_model_is_a_501_that_names_it(client):
    db_id = new_db(client)
    use_model(client, "no-such-model-anywhere")
    response = client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": "how many books?"})
    assert response.status_code == 501
    assert "'no-such-model-anywhere'" in response.json()["errors"][0]


def test_a_read_proposal_runs_and_returns_its_rows(client):
    db_id = new_db(client)
    use_model(client, "echo")
    response = client.post(
        f"/api/dbs/{db_id}/prompt", json={"prompt": answering("SELECT title FROM books", "the titles")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sql"] == "SELECT title FROM books"
    assert body["explanation"] == "the titles"
    assert (body["model"], body["writes"], body["executed"], body["errors"]) == ("echo", False, True, [])
    assert body["result"]["rows"] == [{"title": "The Dispossessed"}]


def test_a_proposed_write_is_only_proposed_until_execute_and_never_runs_for_a_reader(client):
    sessions = acme_team(client)
    db_id = new_db(client, team="acme")
    use_model(client, "echo")
    write = answering("INSERT INTO books(title) VALUES ('Written by the model')")
    before = rows(client, db_id)

    # Proposed to an Editor without execute: returned, not run.
    proposed = client.post(f"/api/dbs/{db_id}/prompt", headers=sessions["eddie"], json={"prompt": write})
    assert proposed.status_code == 200, proposed.text
    assert (proposed.json()["writes"], proposed.json()["executed"], proposed.json()["result"]) == (True, False, None)
    assert "execute" in proposed.json()["warnings"][0]
    assert rows(client, db_id) == before

    # A Viewer sending it on with execute: refused, nothing written.
    for headers in (sessions["vera"],):
        refused = client.post(f"/api/dbs/{db_id}/prompt", headers=headers, json={"prompt": write, "execute": True})
        assert refused.status_code == 200, refused.text
        assert refused.json()["executed"] is False
        assert "read-only" in refused.json()["errors"][0]
        assert rows(client, db_id) == before

    # The Editor with execute: it runs, as their own POST /sql would.
    executed = client.post(
        f"/api/dbs/{db_id}/prompt", headers=sessions["eddie"], json={"prompt": write, "execute": True}
    )
    assert executed.status_code == 200, executed.text
    assert (executed.json()["writes"], executed.json()["executed"]) == (True, True)
    assert executed.json()["result"]["affectedTables"] == ["books"]
    assert [r["title"] for r in rows(client, db_id)] == ["The Dispossessed", "Written by the model"]


def test_a_read_only_token_never_gets_a_write_executed(client):
    sessions = acme_team(client)
    db_id = new_db(client, team="acme")
    use_model(client, "echo")
    response = client.post(
        "/api/tokens",
        headers=sessions["adam"],
        json={"name": "reader", "team_name": "acme", "permissions": [{"db_id": db_id, "name": "read"}]},
    )
    assert response.status_code == 201, response.text
    reader = bearer(response.json()["body"])
    before = rows(client, db_id)
    refused = client.post(
        f"/api/dbs/{db_id}/prompt",
        headers=reader,
        json={"prompt": answering("DELETE FROM books"), "execute": True},
    )
    assert refused.status_code == 200
    assert refused.json()["executed"] is False and refused.json()["errors"]
    assert rows(client, db_id) == before


def test_refused_sql_comes_back_as_an_error(client):
    db_id = new_db(client)
    use_model(client, "echo")
    for bad, expected in [("SELEC nonsense", "syntax error"), ("ATTACH 'x.db' AS x", "not allowed")]:
        response = client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": answering(bad)})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["executed"] is False
        assert any(expected in e.lower() for e in body["errors"]), body["errors"]


def test_an_answer_without_sql_is_a_422_that_shows_what_the_model_said(client):
    db_id = new_db(client)
    use_model(client, "echo")
    response = client.post(
        f"/api/dbs/{db_id}/prompt", json={"prompt": json.dumps({"prompt": "x", "raw": "I cannot help with that."})}
    )
    assert response.status_code == 422
    assert "I cannot help with that." in response.json()["errors"][0]


def test_the_schema_reaches_the_model_but_row_data_only_when_the_operator_allows_it(client):
    db_id = new_db(client)
    use_model(client, "echo")
    described = client.post(f"/api/dbs/{db_id}/prompt/describe-database", json={})
    assert described.status_code == 200, described.text
    seen = json.loads(described.json()["description"])["system"]  # echo answers with what it was sent
    for fact in (
        "Table authors:",
        "name TEXT NOT NULL",
        "author_id INTEGER REFERENCES authors(id)",
        "DEFAULT 'untitled'",
    ):
        assert fact in seen, (fact, seen)
    assert "Secretname" not in seen
    assert described.json()["stored"] is False

    use_model(client, "echo", llmSampleRows=1)
    sampled = client.post(f"/api/dbs/{db_id}/prompt/describe-database", json={})
    assert "Ursula Secretname" in json.loads(sampled.json()["description"])["system"]


def test_a_description_is_stored_only_when_asked_by_a_caller_who_may_write(client):
    sessions = acme_team(client)
    db_id = new_db(client, team="acme")
    use_model(client, "echo")
    wanted = json.dumps({"prompt": "x", "raw": "A shelf of books and their authors."})
    # describe-table with store: the prompt is the server's own, so echo says back a JSON of it; a
    # raw answer needs the model to see our prompt as JSON: the table variant is checked through GET.
    refused = client.post(
        f"/api/dbs/{db_id}/prompt/describe-table", headers=sessions["vera"], json={"tableName": "books", "store": True}
    )
    assert refused.status_code == 403
    table = client.get(f"/api/dbs/{db_id}/tables/books").json()
    assert table.get("description") is None

    stored = client.post(
        f"/api/dbs/{db_id}/prompt/describe-table", headers=sessions["eddie"], json={"tableName": "books", "store": True}
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] is True
    assert client.get(f"/api/dbs/{db_id}/tables/books").json()["description"] == stored.json()["description"]
    assert "Table books:" in stored.json()["description"]
    assert "Table authors:" not in stored.json()["description"]  # describe-table sends only its table

    # A database's description is changed by those who manage it (PATCH /api/dbs/:dbId), so it is stored for them only.
    refused = client.post(f"/api/dbs/{db_id}/prompt/describe-database", headers=sessions["eddie"], json={"store": True})
    assert refused.status_code == 403
    assert client.get(f"/api/dbs/{db_id}").json()["description"] is None
    db = client.post(f"/api/dbs/{db_id}/prompt/describe-database", headers=sessions["adam"], json={"store": True})
    assert db.status_code == 200
    assert client.get(f"/api/dbs/{db_id}").json()["description"] == db.json()["description"]
    assert wanted  # (the raw form is exercised by create-database below)


def test_describe_table_refuses_an_unknown_table(client):
    db_id = new_db(client)
    use_model(client, "echo")
    response = client.post(f"/api/dbs/{db_id}/prompt/describe-table", json={"tableName": "nope"})
    assert response.status_code == 404
    assert "'nope'" in response.json()["errors"][0]


def test_create_database_builds_the_proposed_schema_in_the_callers_team(client):
    use_model(client, "echo")
    raw = json.dumps(
        {
            "name": "Recipes",
            "sql": "CREATE TABLE recipes(id INTEGER PRIMARY KEY, title TEXT NOT NULL); CREATE INDEX r_title ON recipes(title)",
            "explanation": "Recipes by title.",
        }
    )
    response = client.post("/api/prompt/create-database", json={"prompt": json.dumps({"prompt": "x", "raw": raw})})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["ownerName"], body["model"]) == ("Recipes", "alice", "echo")
    assert sql(client, body["id"], "SELECT name FROM sqlite_master ORDER BY name").json()["rows"] == [
        {"name": "r_title"},
        {"name": "recipes"},
    ]
    assert client.get(f"/api/dbs/{body['id']}").json()["description"] == "Recipes by title."


@pytest.mark.parametrize(
    "script, sample_rows, named",
    [
        ("CREATE TABLE t(a); DROP TABLE t", False, "DROP TABLE t"),
        ("CREATE TABLE t(a); INSERT INTO t VALUES (1)", False, "INSERT INTO t"),
        ("CREATE TABLE t(a); ATTACH 'other.db' AS o", True, "ATTACH"),
        (
            "CREATE TABLE t AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) SELECT x FROM c",
            False,
            "CREATE TABLE t AS",
        ),
        ('CREATE TABLE IF NOT EXISTS "a b" AS SELECT 1', False, 'CREATE TABLE IF NOT EXISTS "a b" AS'),
        ("CREATE TABLE t(a); CREATE TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM t; END", True, "CREATE TRIGGER"),
    ],
)
def test_create_database_refuses_a_script_that_is_not_schema_and_creates_nothing(client, script, sample_rows, named):
    use_model(client, "echo")
    before = client.get("/api/dbs").json()["numberOfDatabases"]
    raw = json.dumps({"sql": script, "explanation": "x"})
    response = client.post(
        "/api/prompt/create-database",
        json={"prompt": json.dumps({"prompt": "x", "raw": raw}), "sampleRows": sample_rows},
    )
    assert response.status_code == 422, response.text
    assert named in response.json()["errors"][0]
    assert client.get("/api/dbs").json()["numberOfDatabases"] == before


def test_create_database_with_sample_rows(client):
    use_model(client, "echo")
    raw = json.dumps({"sql": "CREATE TABLE t(a TEXT); INSERT INTO t VALUES ('x'), ('y')", "explanation": "t"})
    response = client.post(
        "/api/prompt/create-database",
        json={"prompt": json.dumps({"prompt": "x", "raw": raw}), "sampleRows": True, "name": "Samples"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Samples"
    assert sql(client, response.json()["id"], "SELECT count(*) AS n FROM t").json()["rows"] == [{"n": 2}]


def test_bad_prompts_are_refused_before_the_model_is_asked(client):
    db_id = new_db(client)
    use_model(client, "echo", llmMaxPromptChars=2_000)
    for body, message in [
        ({"prompt": ""}, "prompt must be a non-empty text"),
        ({"prompt": 42}, "prompt must be a non-empty text"),
        ({"prompt": "x" * 501}, "more than the limit of 500"),
        ({"prompt": "x", "execute": "yes"}, "'execute' must be true or false"),
        ({"prompt": "x", "surprise": 1}, "surprise"),
    ]:
        response = client.post(f"/api/dbs/{db_id}/prompt", json=body)
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["errors"][0], (body, response.json())


def test_an_insert_only_token_may_not_prompt(client):
    sessions = acme_team(client)
    db_id = new_db(client, team="acme")
    use_model(client, "echo")
    response = client.post(
        "/api/tokens",
        headers=sessions["adam"],
        json={"name": "forms", "team_name": "acme", "permissions": [{"db_id": db_id, "name": "insert"}]},
    )
    inserter = bearer(response.json()["body"])
    refused = client.post(f"/api/dbs/{db_id}/prompt", headers=inserter, json={"prompt": answering("SELECT 1")})
    assert refused.status_code == 403
    described = client.post(f"/api/dbs/{db_id}/prompt/describe-database", headers=inserter, json={})
    assert described.status_code == 403


def test_the_prompt_and_the_model_are_in_the_audit_log(client):
    db_id = new_db(client)
    assert client.patch(f"/api/dbs/{db_id}/settings", json={"auditing": True}).status_code == 200
    use_model(client, "echo")
    prompt = answering("SELECT count(*) FROM books")
    assert client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": prompt}).status_code == 200
    entries = client.get(f"/api/dbs/{db_id}/audit").json()["entries"]
    assert entries[0]["kind"] == "prompt"
    assert entries[0]["statement"] == f"model echo: {prompt}"
    assert entries[0]["actor"] == "user:alice"


@pytest.mark.slow
def test_a_model_past_the_time_limit_is_a_504_and_its_slot_comes_back(client):
    db_id = new_db(client)
    use_model(client, "test-slow", llmTimeoutSeconds=1, llmTeamConcurrency=1)
    started = time.monotonic()
    response = client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": "slowly"})
    assert response.status_code == 504
    assert "within 1 s" in response.json()["errors"][0]
    assert time.monotonic() - started < 3
    prompts = client.app.state.services.prompts
    deadline = time.monotonic() + 2
    while prompts.slots.running("alice") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert prompts.slots.running("alice") == 0  # the model's thread stopped at its next piece


def test_an_endless_answer_is_cut_while_it_streams(client):
    db_id = new_db(client)
    use_model(client, "test-endless", llmMaxAnswerChars=200)
    PIECES["endless"] = 0
    response = client.post(f"/api/dbs/{db_id}/prompt/describe-database", json={})
    assert response.status_code == 200, response.text
    assert len(response.json()["description"]) <= 200
    assert PIECES["endless"] <= 14  # 16 characters a piece: stopped at the cap, not read on


def test_a_failing_model_is_a_502_with_its_reason(client):
    db_id = new_db(client)
    use_model(client, "test-failing")
    response = client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": "anything"})
    assert response.status_code == 502
    assert "connection refused by the model server" in response.json()["errors"][0]


def test_a_team_has_a_bounded_number_of_prompts_running(client):
    db_id = new_db(client)
    use_model(client, "test-waiting", llmTeamConcurrency=1)
    RELEASE.clear()
    first: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: first.update(r=client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": "one"}))
    )
    worker.start()
    prompts = client.app.state.services.prompts
    deadline = time.monotonic() + 5
    while not prompts.slots.running("alice") and time.monotonic() < deadline:
        time.sleep(0.02)
    second = client.post(f"/api/dbs/{db_id}/prompt", json={"prompt": "two"})
    assert second.status_code == 429
    assert "limit" in second.json()["errors"][0]
    RELEASE.set()
    worker.join(10)
    assert first["r"].status_code == 200  # type: ignore[attr-defined]
    assert first["r"].json()["result"]["rows"] == [{"two": 2}]  # type: ignore[attr-defined]


REFERENCE_BODY = {"funcId": "01hg5j9esf8xvwvrjej58feybn", "prompt": "Insert a new user", "tableName": None}


def test_the_reference_request_bodies_work_unchanged(client):
    db_id = new_db(client)
    use_model(client, "test-reference")
    before = rows(client, db_id, "SELECT * FROM authors")
    proposed = client.post(f"/api/dbs/{db_id}/prompt", json=REFERENCE_BODY)
    assert proposed.status_code == 200, proposed.text
    body = proposed.json()
    assert body["sql"] == "INSERT INTO authors(name) VALUES ('A new user')"  # read from a fenced block
    assert body["explanation"] == "Here it is:\n\nIt adds one row."
    assert (body["writes"], body["executed"]) == (True, False)
    assert rows(client, db_id, "SELECT * FROM authors") == before

    described = client.post(f"/api/dbs/{db_id}/prompt/describe-database", json=REFERENCE_BODY)
    assert described.status_code == 200, described.text
    no_table = client.post(f"/api/dbs/{db_id}/prompt/describe-table", json=REFERENCE_BODY)
    assert no_table.status_code == 400
    assert "tableName" in no_table.json()["errors"][0]
    created = client.post("/api/prompt/create-database", json=REFERENCE_BODY)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Users"


def test_the_pages_offer_ask_in_words_only_with_a_model(client):
    db_id = new_db(client)
    for path in (f"/dbs/{db_id}", f"/dbs/{db_id}/sql"):
        assert 'id="ask-form"' not in client.get(path).text
    use_model(client, "echo")
    for path in (f"/dbs/{db_id}", f"/dbs/{db_id}/sql"):
        page = client.get(path).text
        assert 'id="ask-form"' in page and "/static/ask_in_words.js" in page


def test_describe_function_sends_the_functions_source_to_its_managers_only(client):
    sessions = acme_team(client)
    db_id = new_db(client, team="acme")
    use_model(client, "echo")
    source = "export default function (ctx) { return { data: 'shelf count' } }"
    created = client.post(
        f"/api/dbs/{db_id}/functions", headers=sessions["eddie"], json={"name": "Shelf counter", "content": source}
    )
    assert created.status_code == 201, created.text
    func_id = created.json()["id"]
    body = {**REFERENCE_BODY, "funcId": func_id}
    described = client.post(f"/api/dbs/{db_id}/prompt/describe-function", headers=sessions["eddie"], json=body)
    assert described.status_code == 200, described.text
    assert described.json()["funcId"] == func_id
    seen = json.loads(described.json()["description"])["system"]
    assert source in seen and "'Shelf counter'" in seen
    refused = client.post(f"/api/dbs/{db_id}/prompt/describe-function", headers=sessions["vera"], json=body)
    assert refused.status_code == 403  # a Viewer may not see a function's source
    unknown = client.post(f"/api/dbs/{db_id}/prompt/describe-function", json={"funcId": "nope"})
    assert unknown.status_code == 404


def test_a_visitor_of_a_public_database_may_not_spend_the_operators_model(client, anonymous):
    db_id = new_db(client)
    assert client.patch(f"/api/dbs/{db_id}/settings", json={"visibility": "public"}).status_code == 200
    use_model(client, "echo")
    del anonymous.headers["Authorization"]  # the same server's client, without alice's token
    assert anonymous.post(f"/dbs/{db_id}/sql", json={"query": "SELECT 1"}).status_code == 200  # it may read
    for path, body in [
        (f"/api/dbs/{db_id}/prompt", {"prompt": answering("SELECT 1")}),
        (f"/api/dbs/{db_id}/prompt/describe-database", {}),
    ]:
        refused = anonymous.post(path, json=body)
        assert refused.status_code == 401, refused.text
        assert refused.json()["errors"] == ["AI prompts need a login or an API token"]


def test_a_long_explanation_is_cut_to_a_description_not_refused(client):
    use_model(client, "echo")
    raw = json.dumps({"sql": "CREATE TABLE t(a)", "explanation": "word " * 600})
    response = client.post("/api/prompt/create-database", json={"prompt": json.dumps({"prompt": "x", "raw": raw})})
    assert response.status_code == 201, response.text
    assert len(client.get(f"/api/dbs/{response.json()['id']}").json()["description"]) == 2000
