"""Issue 16, point 7: CSRF through GET. `GET /dbs/:id/regenerate-db-id`, `.../regenerate-readonly-id`
and `.../duplicate` used to act on the session cookie, which SameSite=Lax sends along with a link
followed from another site. A GET now changes nothing: it shows a confirmation page whose form
POSTs, and the POST must come from this site (Origin, else Referer)."""

from __future__ import annotations

import pytest

from tests.helpers import PASSWORD, sign_up_and_login

ACTIONS = ["regenerate-db-id", "regenerate-readonly-id", "duplicate"]
REFUSED = {"errors": ["Cross-site request refused: cookie-authenticated changes must come from this site"]}
OURS = {"Origin": "http://testserver"}


@pytest.fixture
def cookie_client(anonymous):
    sign_up_and_login(anonymous, "carol")
    anonymous.post("/api/login", json={"username": "carol", "password": PASSWORD})  # sets the cookie
    db = anonymous.post("/api/dbs", json={"name": "c"}, headers=OURS).json()["id"]
    # The read-only link on, so that its id is there to compare (it may be off by default).
    anonymous.post(f"/dbs/{db}/regenerate-readonly-id", headers=OURS)
    return anonymous, db


def state(client, db) -> tuple:
    record = client.get(f"/api/dbs/{db}").json()
    return record["id"], record.get("readonlyId"), client.get("/api/dbs").json()["numberOfDatabases"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "headers",
    [{"Referer": "https://evil.example/page"}, {}, OURS],
    ids=["from-another-site", "no-referer", "from-this-site"],
)
def test_a_get_only_asks_and_changes_nothing(cookie_client, action, headers):
    client, db = cookie_client
    before = state(client, db)
    page = client.get(f"/dbs/{db}/{action}", headers={"Accept": "text/html", **headers})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'<form method="post" action="/dbs/{db}/{action}"' in page.text
    assert state(client, db) == before


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://testserver"},  # same host, other scheme (point 20)
        {"Origin": "null"},
        {},
    ],
    ids=["origin", "referer", "other-scheme", "null-origin", "neither"],
)
def test_a_post_from_another_site_is_refused_and_changes_nothing(cookie_client, action, headers):
    client, db = cookie_client
    before = state(client, db)
    refused = client.post(f"/dbs/{db}/{action}", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == REFUSED
    assert state(client, db) == before


def test_the_confirmation_form_posted_from_this_site_acts(cookie_client):
    client, db = cookie_client
    _, readonly_before, count = state(client, db)
    answer = client.post(f"/dbs/{db}/regenerate-readonly-id", headers={**OURS, "Accept": "application/json"})
    assert answer.status_code == 200 and answer.json()["readonlyId"] not in (None, readonly_before)
    # A browser's form post (Accept: text/html) is sent on to the database page.
    copied = client.post(
        f"/dbs/{db}/duplicate",
        headers={"Referer": f"http://testserver/dbs/{db}/duplicate", "Accept": "text/html"},
        follow_redirects=False,
    )
    assert copied.status_code == 303 and copied.headers["location"].startswith("/dbs/")
    assert copied.headers["location"] != f"/dbs/{db}"
    assert client.get("/api/dbs").json()["numberOfDatabases"] == count + 1
    moved = client.post(f"/dbs/{db}/regenerate-db-id", headers={**OURS, "Accept": "text/html"}, follow_redirects=False)
    assert moved.status_code == 303
    new_id = moved.headers["location"].removeprefix("/dbs/")
    assert new_id != db and client.get(f"/api/dbs/{new_id}").status_code == 200
    assert client.get(f"/api/dbs/{db}").status_code == 404


def test_scripts_with_a_bearer_token_need_no_origin(anonymous):
    token = sign_up_and_login(anonymous, "dave")
    auth = {"Authorization": f"Bearer {token}"}
    db = anonymous.post("/api/dbs", json={"name": "d"}, headers=auth).json()["id"]
    answer = anonymous.post(f"/dbs/{db}/duplicate", headers=auth)
    assert answer.status_code == 200 and answer.json()["id"] != db


def test_the_confirmation_page_refuses_who_may_not_act(cookie_client):
    client, db = cookie_client
    client.cookies.clear()
    token = sign_up_and_login(client, "eve")
    page = client.get(f"/dbs/{db}/regenerate-db-id", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 404  # a private database of someone else: not even its name
    assert "New id for" not in page.text and '<form method="post"' not in page.text
