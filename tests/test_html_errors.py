"""Issue 21, "Polish": a browser opening an address that fails gets an HTML page (the status, the
message, a link home), while every API client keeps today's JSON answer, status and body alike;
`?next=` after login follows paths of this server only; "Forgot password?" without script."""

from __future__ import annotations

import pytest

from airsequel.http.next_page import safe_next
from tests.helpers import create_db

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
API_CLIENTS = [{"Accept": "application/json"}, {"Accept": "*/*"}, {}]
NOT_FOUND = {"errors": ["Not Found"]}


def is_html_page(response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"].startswith("text/html")
        and 'href="/"' in response.text
        and "{" not in response.text.split("<main", 1)[1][:20]
    )


@pytest.mark.parametrize("headers", API_CLIENTS)
def test_an_unknown_address_stays_json_for_api_clients(client, headers):
    response = client.get("/no/such/page", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_an_unknown_address_is_a_page_for_a_browser(client):
    response = client.get("/no/such/page", headers=BROWSER)
    assert is_html_page(response, 404)
    assert "There is no page at this address" in response.text
    assert "Log out alice" in response.text  # the header still knows who is there


def test_api_paths_and_posts_stay_json_even_for_a_browser(client):
    response = client.get("/api/no/such/thing", headers=BROWSER)
    assert response.status_code == 404 and response.json() == NOT_FOUND
    response = client.get("/api/dbs/nope", headers=BROWSER)
    assert response.status_code == 404 and response.json() == {"errors": ["Database 'nope' does not exist"]}
    response = client.post("/dbs/nope/sql", json={"query": "SELECT 1"}, headers=BROWSER)
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    plain = client.post("/dbs/nope/sql", json={"query": "SELECT 1"}).json()
    assert {**response.json(), "runtimeSeconds": 0} == {**plain, "runtimeSeconds": 0}
    assert response.json()["errors"] == ["Database 'nope' does not exist"]


def test_an_old_read_only_link_is_json_for_clients_and_a_page_for_browsers(client):
    db_id = create_db(client, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    old = client.post(f"/api/dbs/{db_id}/readonly-id").json()["readonlyId"]
    assert client.get(f"/readonly/{old}/graphql", headers=BROWSER).status_code == 200
    client.delete(f"/api/dbs/{db_id}/readonly-id")
    for headers in API_CLIENTS:
        response = client.get(f"/readonly/{old}/graphql", headers=headers)
        assert response.status_code == 404, headers
        assert response.headers["content-type"] == "application/json"
        [error] = response.json()["errors"]
        assert set(error) == {"message"} and error["message"]
    page = client.get(f"/readonly/{old}/graphql", headers=BROWSER)
    assert is_html_page(page, 404)
    assert error["message"] in page.text.replace("&#39;", "'")


def test_a_download_refused_is_json_for_clients_and_a_page_for_browsers(client, anonymous):
    db_id = create_db(client, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    del client.headers["Authorization"]  # the same server, logged out
    response = anonymous.get(f"/dbs/{db_id}/download")
    assert response.status_code == 404
    assert response.json() == {"errors": [f"Database {db_id!r} does not exist"]}
    page = anonymous.get(f"/dbs/{db_id}/download", headers=BROWSER)
    assert is_html_page(page, 404)
    assert f'href="/login?next=/dbs/{db_id}/download"' in page.text  # logging in may show it


def test_messages_on_the_page_are_escaped(client):
    response = client.get("/readonly/<script>x</script>/graphql", headers=BROWSER)
    assert response.status_code == 404
    assert "<script>x" not in response.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/dbs/abc", "/dbs/abc"),
        ("/dbs/abc/tables/t?page=2", "/dbs/abc/tables/t?page=2"),
        ("//evil.example/x", None),
        ("https://evil.example/x", None),
        ("/\\evil.example", None),
        ("\\\\evil.example", None),
        ("javascript:alert(1)", None),
        ("evil.example", None),
        ("/\t/evil.example", None),
        ("", None),
        (None, None),
    ],
)
def test_next_is_a_path_of_this_server_or_nothing(value, expected):
    assert safe_next(value) == expected


def test_a_logged_in_user_on_the_login_page_is_sent_on(client, anonymous):
    for address, target in [
        ("/login", "/"),
        ("/signup", "/"),
        ("/login?next=/dbs/abc", "/dbs/abc"),
        ("/login?next=//evil.example/x", "/"),
        ("/login?next=https://evil.example/x", "/"),
    ]:
        response = client.get(address, follow_redirects=False)
        assert response.status_code == 303, address
        assert response.headers["location"] == target, address
    del client.headers["Authorization"]
    response = anonymous.get("/login?next=/dbs/abc", follow_redirects=False)
    assert response.status_code == 200 and 'id="auth-form"' in response.text
    assert 'href="/password-reset"' in response.text and "Forgot password?" in response.text


def test_home_follows_the_next_of_the_login_page_it_came_from(client):
    here = "http://testserver"
    cases = [
        (f"{here}/login?next=/dbs/abc", 303, "/dbs/abc"),
        (f"{here}/signup?next=%2Fteams%2Facme", 303, "/teams/acme"),
        (f"{here}/login?next=//evil.example/x", 200, None),
        (f"{here}/login", 200, None),
        (f"{here}/dbs/abc?next=/elsewhere", 200, None),  # only the login pages' next
        ("http://evil.example/login?next=/dbs/abc", 200, None),  # only our own pages
    ]
    for referer, status, location in cases:
        response = client.get("/", headers={"Referer": referer}, follow_redirects=False)
        assert response.status_code == status, referer
        assert response.headers.get("location") == location, referer


def test_forgot_password_form_writes_the_reset_message(anonymous, client, settings):
    del client.headers["Authorization"]
    page = anonymous.get("/password-reset")
    assert page.status_code == 200 and 'action="/password-reset"' in page.text
    outbox = settings.data_dir / "outbox"
    here = {"Origin": "http://testserver"}
    for elsewhere in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x"}, {}):
        cross = anonymous.post("/password-reset", data={"email": "alice@example.org"}, headers=elsewhere)
        assert cross.status_code == 403 and "Cross-site request refused" in cross.text, elsewhere
    assert not list(outbox.glob("*-password-reset-*.txt"))
    refused = anonymous.post("/password-reset", data={"email": "  "}, headers=here)
    assert refused.status_code == 400 and "Enter the email address" in refused.text
    assert not list(outbox.glob("*-password-reset-*.txt"))
    unknown = anonymous.post("/password-reset", data={"email": "nobody@example.org"}, headers=here)
    assert unknown.status_code == 200 and 'id="reset-sent"' in unknown.text
    assert not list(outbox.glob("*-password-reset-*.txt"))
    sent = anonymous.post("/password-reset", data={"email": "alice@example.org"}, headers=here)
    assert sent.status_code == 200 and 'id="reset-sent"' in sent.text
    [message] = outbox.glob("*-password-reset-alice.txt")
    key = message.read_text().splitlines()[4]
    changed = anonymous.post("/api/users/reset-password/submit", json={"resetKey": key, "password": "x" * 12})
    assert changed.status_code == 200


def test_a_table_whose_name_has_a_slash_opens(client):
    db_id = create_db(client, 'CREATE TABLE "a/b" (id INTEGER PRIMARY KEY)')
    page = client.get(f"/dbs/{db_id}/tables/a%2Fb")
    assert page.status_code == 200 and "a/b" in page.text
    assert client.get(f"/dbs/{db_id}/tables/a/b").status_code == 200
    missing = client.get(f"/dbs/{db_id}/tables/a/c", headers=BROWSER)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


def test_the_favicon_is_served(anonymous):
    icon = anonymous.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")
    assert 'rel="icon" href="/static/favicon.svg"' in anonymous.get("/login").text
    moved = anonymous.get("/favicon.ico", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/static/favicon.svg"
