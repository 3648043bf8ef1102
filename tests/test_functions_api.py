"""Managing cloud functions: /api/dbs/:dbId/functions with the reference's bodies, who may, the
immutable versions and republish, Deno's diagnostics when a version is saved, and each refusal
(status, message, nothing changed). Calls are in test_functions_calls.py (a real server)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import acme_team, bearer, create_db

# The reference's example bodies, as its clients send them.
REFERENCE_POST = {
    "content": 'export default function() { \n console.info("Hello World!") \n}',
    "description": "This is an awesome function",
    "name": "Awesome Function",
    "runtime": "deno",
}
HELLO = "export default () => ({ data: 'hello' })"


def listed(client, db: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = client.get(f"/api/dbs/{db}/functions", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["functions"]


@pytest.mark.slow
def test_the_reference_bodies_create_patch_and_republish(client):
    db = create_db(client)
    assert listed(client, db) == []
    created = client.post(f"/api/dbs/{db}/functions", json=REFERENCE_POST)
    assert created.status_code == 201, created.text
    function = created.json()
    assert function["name"] == "Awesome Function" and function["runtime"] == "deno"
    assert function["content"] == REFERENCE_POST["content"] and function["description"] == "This is an awesome function"
    assert function["diagnostics"] == [] and function["permission"] == "read" and function["public"] is False
    first = function["versions"][0]
    assert function["versions"] == [first] == [function["version"]]
    fid = function["id"]

    changed = {**REFERENCE_POST, "content": 'export default () => ({ data: "v2" })', "name": "Renamed"}
    patched = client.patch(f"/api/dbs/{db}/functions/{fid}", json=changed)
    assert patched.status_code == 200, patched.text
    assert set(patched.json()) == {"diagnostics", "id"} and patched.json()["diagnostics"] == []
    second = patched.json()["id"]
    shown = client.get(f"/api/dbs/{db}/functions/{fid}").json()
    assert shown["versions"] == [first, second] and shown["version"] == second and shown["name"] == "Renamed"
    assert shown["versionNumber"] == 2

    old = client.get(f"/api/dbs/{db}/functions/{fid}/versions/{first}")
    assert old.status_code == 200 and old.json()["content"] == REFERENCE_POST["content"]
    assert old.json()["name"] == "Awesome Function" and old.json()["versions"] == [first, second]

    republished = client.post(f"/api/dbs/{db}/functions/{fid}/republish", json={"runtime": "deno", "version": first})
    assert republished.status_code == 200, republished.text
    assert republished.json() == {"diagnostics": [], "id": first}
    shown = client.get(f"/api/dbs/{db}/functions/{fid}").json()
    assert shown["version"] == first and shown["content"] == REFERENCE_POST["content"]
    assert shown["versions"] == [first, second]  # nothing was deleted nor changed

    # permission and public alone change the function, not its code: no new version.
    settings = client.patch(f"/api/dbs/{db}/functions/{fid}", json={"public": True, "permission": "write"})
    assert settings.status_code == 200 and settings.json()["id"] == first
    shown = client.get(f"/api/dbs/{db}/functions/{fid}").json()
    assert shown["public"] is True and shown["permission"] == "write" and shown["versions"] == [first, second]

    assert client.get(f"/api/dbs/{db}/functions/{fid}/invocations").json() == {"invocations": []}
    assert client.delete(f"/api/dbs/{db}/functions/{fid}").json() == {}
    assert listed(client, db) == []
    assert client.get(f"/api/dbs/{db}/functions/{fid}").status_code == 404
    assert client.get(f"/fns/{fid}").status_code == 404


@pytest.mark.slow
def test_diagnostics_of_deno_check_and_lint_come_with_the_saved_version(client):
    db = create_db(client)
    code = "export default async (ctx) => {\n  const n: number = 'text';\n  return { data: ctx.data };\n}\n"
    created = client.post(f"/api/dbs/{db}/functions", json={"name": "typed", "content": code})
    assert created.status_code == 201, created.text
    diagnostics = created.json()["diagnostics"]
    check = [d for d in diagnostics if d["source"] == "check"]
    assert check and check[0]["code"] == "TS2322" and check[0]["line"] == 2 and check[0]["severity"] == "error"
    assert "not assignable to type 'number'" in check[0]["message"]
    assert {"no-unused-vars", "require-await"} <= {d["code"] for d in diagnostics if d["source"] == "lint"}
    # The version was saved anyway, with its diagnostics.
    assert listed(client, db)[0]["diagnostics"] == diagnostics

    local = "import secret from '../../../etc/hostname';\nexport default () => ({ data: secret });\n"
    patched = client.patch(f"/api/dbs/{db}/functions/{created.json()['id']}", json={"content": local})
    assert patched.status_code == 200, patched.text
    [refused] = [d for d in patched.json()["diagnostics"] if d["source"] == "check"]
    assert refused["code"] == "local-import" and "../../../etc/hostname" in refused["message"]


@pytest.mark.slow
def test_editors_and_admins_manage_viewers_tokens_and_strangers_do_not(client):
    sessions = acme_team(client)
    made = client.post("/api/dbs", headers=sessions["adam"], json={"name": "acme-db", "team": "acme"})
    assert made.status_code == 201, made.text
    db = made.json()["id"]
    by_editor = client.post(f"/api/dbs/{db}/functions", headers=sessions["eddie"], json={"name": "e", "content": HELLO})
    assert by_editor.status_code == 201, by_editor.text
    fid = by_editor.json()["id"]
    assert [f["id"] for f in listed(client, db, sessions["adam"])] == [fid]

    token = client.post(
        "/api/tokens",
        headers=sessions["adam"],
        json={"name": "w", "team_name": "acme", "permissions": [{"db_id": db, "name": "write"}]},
    )
    assert token.status_code == 201, token.text
    refusals = {
        "vera": (403, "Functions are managed by the team's Editors and Admins: your role here does not allow it"),
        "otto": (404, "does not exist"),
    }
    for who, (status, words) in refusals.items():
        for method, path, body in [
            ("GET", f"/api/dbs/{db}/functions", None),
            ("POST", f"/api/dbs/{db}/functions", {"name": "x", "content": HELLO}),
            ("PATCH", f"/api/dbs/{db}/functions/{fid}", {"content": "export default () => ({ data: 'x' })"}),
            ("DELETE", f"/api/dbs/{db}/functions/{fid}", None),
            ("POST", f"/api/dbs/{db}/functions/{fid}/republish", {"version": by_editor.json()["version"]}),
        ]:
            response = client.request(method, path, headers=sessions[who], json=body)
            assert response.status_code == status, (who, method, path, response.text)
            assert words.lower() in response.json()["errors"][0].lower(), (who, response.text)
    by_token = client.post(
        f"/api/dbs/{db}/functions", headers=bearer(token.json()["body"]), json={"name": "t", "content": HELLO}
    )
    assert by_token.status_code == 403
    assert by_token.json()["errors"] == [
        "Functions are managed by the team's Editors and Admins, logged in: not with an API token"
    ]
    anonymous = client.get(f"/api/dbs/{db}/functions", headers={"Authorization": ""})
    assert anonymous.status_code == 404
    # Nothing changed.
    [only] = listed(client, db, sessions["adam"])
    assert only["id"] == fid and only["versions"] == [by_editor.json()["version"]] and only["content"] == HELLO


def test_bad_bodies_are_refused_with_their_reason_and_nothing_is_saved(client):
    db = create_db(client)
    cases = [
        ({"content": HELLO}, "A function needs a name of 1 to 200 characters"),
        ({"name": "x", "content": "  "}, "A function needs content"),
        ({"name": "x", "content": HELLO, "runtime": "node"}, "runtime must be one of: deno"),
        ({"name": "x", "content": HELLO, "language": "python"}, "language must be one of: typescript, javascript"),
        ({"name": "x", "content": HELLO, "permission": "admin"}, "permission must be 'read' or 'write'"),
        ({"name": "x", "content": HELLO, "public": "yes"}, "public must be true"),
        ({"name": "x", "content": HELLO, "colour": "red"}, "colour"),
        ({"name": "x", "content": "x" * (256 * 1024 + 1)}, "at most 262144 characters"),
    ]
    for body, message in cases:
        response = client.post(f"/api/dbs/{db}/functions", json=body)
        assert response.status_code == 400, (body.keys(), response.text)
        assert message in response.json()["errors"][0], (message, response.text)
    assert listed(client, db) == []
    assert client.get(f"/api/dbs/{db}/functions/nope").status_code == 404
    assert client.get("/fns/nope").json() == {"errors": ["Function 'nope' does not exist"]}


@pytest.mark.slow
def test_bad_changes_are_refused_and_the_function_stays_as_it_was(client):
    db = create_db(client)
    other = create_db(client, name="other")
    made = client.post(f"/api/dbs/{db}/functions", json={"name": "x", "content": HELLO}).json()
    fid, version = made["id"], made["version"]
    cases = [
        ("PATCH", f"/api/dbs/{db}/functions/{fid}", {}, 400, "Nothing to change"),
        ("PATCH", f"/api/dbs/{db}/functions/{fid}", {"name": ""}, 400, "needs a name"),
        ("PATCH", f"/api/dbs/{db}/functions/{fid}", {"permission": "all"}, 400, "permission must be"),
        ("POST", f"/api/dbs/{db}/functions/{fid}/republish", {}, 400, "version"),
        ("POST", f"/api/dbs/{db}/functions/{fid}/republish", {"version": "nope"}, 404, "Version 'nope'"),
        ("GET", f"/api/dbs/{db}/functions/{fid}/versions/nope", None, 404, "Version 'nope'"),
        ("GET", f"/api/dbs/{other}/functions/{fid}", None, 404, "does not exist in this database"),
        ("DELETE", f"/api/dbs/{other}/functions/{fid}", None, 404, "does not exist in this database"),
    ]
    for method, path, body, status, message in cases:
        response = client.request(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)
        assert message in response.json()["errors"][0], (message, response.text)
    shown = client.get(f"/api/dbs/{db}/functions/{fid}").json()
    assert shown["versions"] == [version] and shown["content"] == HELLO and shown["permission"] == "read"


def test_invocations_keep_the_last_500_newest_first(client):
    db = create_db(client)
    fid = client.post(f"/api/dbs/{db}/functions", json={"name": "x", "content": HELLO}).json()["id"]
    functions = client.app.state.services.functions
    callable_function = functions.callable(fid)
    for n in range(505):
        functions.record_invocation(
            callable_function, method="POST", runtime_ms=1.0, ok=True, data_json=str(n), error=None, logs=[]
        )
    kept = client.get(f"/api/dbs/{db}/functions/{fid}/invocations").json()["invocations"]
    assert len(kept) == 500
    assert [i["data"] for i in kept[:2]] == ["504", "503"] and kept[-1]["data"] == "5"


def test_the_functions_page_is_for_managers_and_tells_others_who_manages(client):
    sessions = acme_team(client)
    db = client.post("/api/dbs", headers=sessions["adam"], json={"name": "acme-page", "team": "acme"}).json()["id"]
    editor = client.get(f"/dbs/{db}/functions", headers={**sessions["eddie"], "Accept": "text/html"})
    assert editor.status_code == 200 and 'id="fn-form"' in editor.text and 'data-may-manage="yes"' in editor.text
    viewer = client.get(f"/dbs/{db}/functions", headers={**sessions["vera"], "Accept": "text/html"})
    assert viewer.status_code == 200 and 'id="fn-form"' not in viewer.text
    assert "Functions are managed by the team's Editors and Admins" in viewer.text
    stranger = client.get(f"/dbs/{db}/functions", headers={**sessions["otto"], "Accept": "text/html"})
    assert stranger.status_code == 404
    page = client.get(f"/dbs/{db}", headers={**sessions["eddie"], "Accept": "text/html"})
    assert f'href="/dbs/{db}/functions"' in page.text
    assert f'href="/dbs/{db}/functions"' not in client.get(f"/dbs/{db}", headers=sessions["vera"]).text


def test_a_deleted_database_takes_its_functions_along(client):
    db = create_db(client)
    fid = client.post(f"/api/dbs/{db}/functions", json={"name": "x", "content": HELLO}).json()["id"]
    functions = client.app.state.services.functions
    assert functions.callable(fid) is not None
    assert client.delete(f"/api/dbs/{db}").status_code == 200
    assert functions.callable(fid) is None
    assert client.get(f"/fns/{fid}").status_code == 404


def test_invocations_take_a_limit(client):
    db = create_db(client)
    fid = client.post(f"/api/dbs/{db}/functions", json={"name": "x", "content": HELLO}).json()["id"]
    functions = client.app.state.services.functions
    for n in range(3):
        functions.record_invocation(
            functions.callable(fid), method="GET", runtime_ms=1.0, ok=True, data_json=str(n), error=None, logs=[]
        )
    path = f"/api/dbs/{db}/functions/{fid}/invocations"
    assert [i["data"] for i in client.get(path, params={"limit": "2"}).json()["invocations"]] == ["2", "1"]
    for bad in ("0", "501", "many"):
        refused = client.get(path, params={"limit": bad})
        assert refused.status_code == 400 and refused.json() == {"errors": ["limit is a whole number from 1 to 500"]}


@pytest.mark.slow
def test_with_auditing_on_each_change_of_a_function_is_recorded(client):
    db = create_db(client)
    assert client.patch(f"/api/dbs/{db}/settings", json={"auditing": True}).status_code == 200
    made = client.post(f"/api/dbs/{db}/functions", json={"name": "x", "content": HELLO}).json()
    fid, first = made["id"], made["version"]
    second = client.patch(f"/api/dbs/{db}/functions/{fid}", json={"content": "export default () => ({ data: 2 })"})
    client.patch(f"/api/dbs/{db}/functions/{fid}", json={"public": True})
    client.post(f"/api/dbs/{db}/functions/{fid}/republish", json={"version": first})
    client.delete(f"/api/dbs/{db}/functions/{fid}")
    entries = client.get(f"/api/dbs/{db}/audit").json()["entries"]
    found = [(e["kind"], e["statement"]) for e in entries if e["kind"].startswith("function-")]
    assert sorted(found) == sorted(
        [
            ("function-create", f"function {fid} version {first}"),
            ("function-publish", f"function {fid} version {second.json()['id']}"),
            ("function-settings", f"function {fid} version {second.json()['id']}: public 1"),
            ("function-republish", f"function {fid} version {first}"),
            ("function-delete", f"function {fid} version {first}"),
        ]
    )
    assert {e["actor"] for e in entries if e["kind"].startswith("function-")} == {"user:alice"}
