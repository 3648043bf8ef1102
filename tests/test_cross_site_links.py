"""Routes that change something on GET (links in the web pages) refuse a cross-site request that
carries the session cookie, and change nothing; from this site they work."""

from __future__ import annotations

import pytest

from tests.helpers import PASSWORD, sign_up_and_login


@pytest.fixture
def cookie_client(anonymous):
    sign_up_and_login(anonymous, "carol")
    anonymous.post("/api/login", json={"username": "carol", "password": PASSWORD})  # sets the cookie
    db = anonymous.post("/api/dbs", json={"name": "c"}, headers={"Origin": "http://testserver"}).json()["id"]
    return anonymous, db


@pytest.mark.parametrize("action", ["regenerate-db-id", "regenerate-readonly-id", "duplicate"])
def test_a_cross_site_get_changes_nothing(cookie_client, action):
    client, db = cookie_client
    before = client.get(f"/api/dbs/{db}").json()
    count = client.get("/api/dbs").json()["numberOfDatabases"]
    refused = client.get(f"/dbs/{db}/{action}", headers={"Referer": "https://evil.example/page"})
    assert refused.status_code == 403
    assert refused.json() == {
        "errors": ["Cross-site request refused: cookie-authenticated changes must come from this site"]
    }
    after = client.get(f"/api/dbs/{db}").json()
    assert (after["id"], after["readonlyId"]) == (before["id"], before["readonlyId"])
    assert client.get("/api/dbs").json()["numberOfDatabases"] == count


def test_the_same_link_from_this_site_works(cookie_client):
    client, db = cookie_client
    answer = client.get(
        f"/dbs/{db}/regenerate-readonly-id",
        headers={"Referer": f"http://testserver/dbs/{db}", "Accept": "application/json"},
    )
    assert answer.status_code == 200 and answer.json()["readonlyId"]
