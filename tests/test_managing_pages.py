"""The data of the managing pages (issue 21): the teams Create and Upload offer (the user's own first, a
Viewer's team not at all), the last Admin flagged on the team page, and the dashboards' charts."""

from __future__ import annotations

import pytest

from airsequel.core.auth.access import Principal
from airsequel.core.content.dashboard_pages import dashboard_page
from airsequel.core.errors import NotAuthenticated, NotFound
from tests.test_core_access import acme, again  # noqa: F401 - the fixture: bob Admin of acme, vera its Viewer


def test_create_and_upload_offer_the_users_own_team_first_and_no_viewers_team(services, acme):  # noqa: F811
    services.teams.create(acme["vera"], "aardvarks")  # sorts before vera's own team
    services.teams.set_roles(again(services, "vera"), "aardvarks", "bob", ["Editor"])
    vera, bob = again(services, "vera"), again(services, "bob")
    assert services.pages.home(vera)["create_teams"] == ["vera", "aardvarks"]  # not acme: she is its Viewer
    assert services.pages.home(bob)["create_teams"] == ["bob", "aardvarks", "acme"]


def test_the_team_page_flags_the_last_admin_only_while_there_is_one(services, acme):  # noqa: F811
    members = services.pages.team(acme["bob"], "acme")["members"]
    assert [(m["username"], m["last_admin"]) for m in members] == [("bob", True), ("vera", False)]
    services.teams.set_roles(acme["bob"], "acme", "vera", ["Admin"])
    members = services.pages.team(acme["bob"], "acme")["members"]
    assert [(m["username"], m["last_admin"]) for m in members] == [("bob", False), ("vera", False)]


def test_the_dashboards_list_the_charts_of_readable_databases(services, acme):  # noqa: F811
    shared = services.catalog.create(acme["bob"], "acme", "shared", description=None, query="CREATE TABLE t(a, b)")
    own = services.catalog.create(acme["bob"], None, "own", description=None, query="CREATE TABLE u(c)")
    first = services.charts.create("charts", shared, {"table": "t", "headers": ["a", "b"], "aggregate": "sum"})
    second = services.charts.create("charts", own, {"table": "u"})
    every = dashboard_page(services.pages, acme["bob"])
    assert sorted((db.name, chart["ulid"]) for db, chart in every["charts"]) == [
        ("own", second["ulid"]),
        ("shared", first["ulid"]),
    ]
    assert [chart["ulid"] for _, chart in dashboard_page(services.pages, acme["vera"])["charts"]] == [first["ulid"]]
    one = dashboard_page(services.pages, acme["vera"], shared)
    assert (one["db"].id, one["can_write"], [c["ulid"] for _, c in one["charts"]]) == (
        shared.id,
        False,
        [first["ulid"]],
    )
    with pytest.raises(NotFound):
        dashboard_page(services.pages, acme["otto"], shared)
    with pytest.raises(NotAuthenticated):
        dashboard_page(services.pages, Principal.anonymous())


def test_a_locked_schema_offers_no_table_creation_on_the_database_page(client):
    db_id = client.post("/api/dbs", json={"name": "locked", "query": "CREATE TABLE t(a)"}).json()["id"]
    assert 'id="new-table-form"' in client.get(f"/dbs/{db_id}").text
    assert client.patch(f"/api/dbs/{db_id}/settings", json={"schemaLocked": True}).status_code == 200
    page = client.get(f"/dbs/{db_id}").text
    assert 'id="new-table-form"' not in page and "data-delete-table" not in page
    assert "The schema is locked: unlock it in the settings to create, rename or delete tables." in page
