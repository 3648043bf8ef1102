"""The access decisions that HTTP routes used to make, now made by the core: each core method,
called directly with the wrong principal, refuses with the exact error and writes nothing."""

from __future__ import annotations

import pytest

from airsequel.core.auth.access import Action, Principal, PrincipalKind, authorize
from airsequel.core.auth.login_throttle import TooManyAttempts
from airsequel.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from airsequel.core.services import Services
from tests.helpers import PASSWORD

TOKEN = Principal(PrincipalKind.TOKEN, token_id=1, token_team="alice")


def user(services: Services, username: str) -> Principal:
    """A user of the control plane (the first is server admin), as the principal of their session."""
    created = services.accounts.create_user(username, f"{username}@example.org", PASSWORD)
    return services.principals.for_user(created)


def count(services: Services, table: str) -> int:
    return services.control.query(f"SELECT count(*) FROM {table}")[0][0]


def refused(error: type[Exception], message: str, call, *args, **kwargs) -> None:
    with pytest.raises(error) as raised:
        call(*args, **kwargs)
    assert type(raised.value) is error
    assert str(raised.value) == message


# --- accounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [Principal.anonymous(), "bob", TOKEN])
def test_closed_sign_up_refuses_anyone_but_a_server_admin(services, caller):
    user(services, "alice")  # the server admin
    if caller == "bob":
        caller = user(services, "bob")
    services.live.apply({"signup": "closed"})
    users, teams = count(services, "users"), count(services, "teams")
    refused(
        Forbidden,
        "Sign-up is closed on this server: ask a server admin to create your account",
        services.accounts.sign_up,
        caller,
        "newbie",
        "newbie@example.org",
        PASSWORD,
    )
    assert (count(services, "users"), count(services, "teams")) == (users, teams)
    assert services.accounts.user_by_name("newbie") is None


def test_closed_sign_up_lets_a_server_admin_create_users(services):
    admin = user(services, "alice")
    services.live.apply({"signup": "closed"})
    assert services.accounts.sign_up(admin, "newbie", "newbie@example.org", PASSWORD).username == "newbie"


def test_a_profile_is_for_its_user_and_server_admins_only(services):
    admin, bob = user(services, "alice"), user(services, "bob")
    refused(NotAuthenticated, "Log in to see a user", services.accounts.profile, Principal.anonymous(), "bob")
    refused(NotFound, "User 'alice' does not exist", services.accounts.profile, bob, "alice")
    refused(NotFound, "User 'bob' does not exist", services.accounts.profile, TOKEN, "bob")
    assert services.accounts.profile(bob, "BOB")["username"] == "bob"
    assert services.accounts.profile(admin, "bob")["serverRoles"] == []


@pytest.mark.parametrize("caller", [Principal.anonymous(), TOKEN])
def test_logout_by_anyone_but_the_sessions_user_ends_nothing(services, caller):
    user(services, "alice")
    token = services.accounts.login("alice", PASSWORD, client_address="test").session_token
    services.accounts.logout(caller, token)
    assert count(services, "sessions") == 1
    assert services.accounts.session(token) is not None


def test_login_is_throttled_by_username_and_address(services):
    user(services, "alice")
    for _ in range(services.login_throttle.max_failures):
        with pytest.raises(NotAuthenticated):
            services.accounts.login("alice", "wrong password", client_address="192.0.2.1")
    with pytest.raises(TooManyAttempts) as raised:
        services.accounts.login("alice", PASSWORD, client_address="192.0.2.1")
    assert str(raised.value).startswith("Too many failed logins: try again in ")
    assert count(services, "sessions") == 0
    # Failures from one address never stop the right password from another (issue 16, point 8).
    services.accounts.login("alice", PASSWORD, client_address="192.0.2.2")
    assert count(services, "sessions") == 1


def test_password_reset_requests_are_throttled_by_address(services):
    user(services, "alice")
    for _ in range(services.login_throttle.max_failures):
        services.accounts.request_password_reset("nobody@example.org", client_address="192.0.2.1")
    with pytest.raises(TooManyAttempts):
        services.accounts.request_password_reset("alice@example.org", client_address="192.0.2.1")
    assert count(services, "password_resets") == 0


# --- teams ----------------------------------------------------------------------------------------


def again(services: Services, username: str) -> Principal:
    """The user's principal as a new session would see it now (with the roles given since)."""
    found = services.accounts.user_by_name(username)
    assert found is not None
    return services.principals.for_user(found)


@pytest.fixture
def acme(services):
    """Team acme: bob is its Admin, vera a Viewer; alice (server admin) and otto are not members."""
    for name in ("alice", "bob", "vera", "otto"):
        user(services, name)
    services.teams.create(again(services, "bob"), "acme")
    services.teams.set_roles(again(services, "bob"), "acme", "vera", ["Viewer"])
    return {name: again(services, name) for name in ("alice", "bob", "vera", "otto")}


def memberships(services: Services) -> list[tuple[str, str, str]]:
    return [
        tuple(row)
        for row in services.control.query(
            "SELECT teams.name, users.username, memberships.role FROM memberships"
            " JOIN teams ON teams.id = memberships.team_id JOIN users ON users.id = memberships.user_id"
            " ORDER BY 1, 2, 3"
        )
    ]


@pytest.mark.parametrize(
    ("caller", "error", "message"),
    [
        (Principal.anonymous(), NotAuthenticated, "Log in to do this"),
        (TOKEN, Forbidden, "This needs a logged-in user, not an API token or read-only id"),
    ],
)
def test_only_users_create_teams(services, caller, error, message):
    teams = count(services, "teams")
    refused(error, message, services.teams.create, caller, "newteam")
    assert count(services, "teams") == teams


def test_who_sees_a_team(services, acme):
    for call in (services.teams.view, services.teams.members):
        refused(NotFound, "Team 'acme' does not exist", call, acme["otto"], "acme")
        refused(NotAuthenticated, "Log in to do this", call, Principal.anonymous(), "acme")
        refused(Forbidden, "API tokens and read-only ids cannot manage teams, tokens or databases", call, TOKEN, "acme")
        assert call(acme["vera"], "acme")
        assert call(acme["alice"], "acme")


def test_a_viewer_cannot_change_rename_or_delete_a_team(services, acme):
    before = services.teams.get("acme")
    message = "Your roles in team 'acme' do not allow this (administer)"
    refused(Forbidden, message, services.teams.update, acme["vera"], "acme", name="vera-team", billing={})
    refused(Forbidden, message, services.teams.update, acme["vera"], "acme", billing={"billing_plan": "free"})
    refused(Forbidden, message, services.teams.delete, acme["vera"], "acme")
    refused(NotFound, "Team 'acme' does not exist", services.teams.delete, acme["otto"], "acme")
    assert services.teams.get("acme") == before


def test_a_viewer_cannot_add_change_or_remove_members(services, acme):
    before = memberships(services)
    message = "Your roles in team 'acme' do not allow this (administer)"
    refused(Forbidden, message, services.teams.set_roles, acme["vera"], "acme", "otto", ["Viewer"])
    refused(Forbidden, message, services.teams.set_roles, acme["vera"], "acme", "vera", ["Admin"])
    refused(Forbidden, message, services.teams.remove_member, acme["vera"], "acme", "bob")
    refused(NotFound, "Team 'acme' does not exist", services.teams.remove_member, acme["otto"], "acme", "vera")
    refused(NotFound, "Team 'acme' does not exist", services.teams.remove_member, acme["otto"], "acme", "otto")
    assert memberships(services) == before
    services.teams.remove_member(acme["vera"], "acme", "VERA")  # leaving is a member's own right
    assert ("acme", "vera", "Viewer") not in memberships(services)


# --- tokens ---------------------------------------------------------------------------------------


def new_token(services: Services, caller: Principal) -> dict:
    """A token of acme reading its database (made by bob, acme's Admin, on first use): a token needs a permission."""
    rows = services.control.query("SELECT id FROM databases WHERE owner = 'acme'")
    db_id = (
        rows[0]["id"]
        if rows
        else services.catalog.create(again(services, "bob"), "acme", "tokens", description=None, query=None).id
    )
    permissions = [{"db_id": db_id, "name": "read"}]
    return services.tokens.create(
        caller, "acme", name="ci", description=None, expiration_utc=None, permissions=permissions
    )


@pytest.mark.parametrize(
    ("who", "error", "message"),
    [
        ("vera", Forbidden, "Your roles in team 'acme' do not allow this (administer)"),
        ("otto", NotFound, "Team 'acme' does not exist"),
        ("token", Forbidden, "API tokens and read-only ids cannot manage teams, tokens or databases"),
        ("anonymous", NotAuthenticated, "Log in to do this"),
    ],
)
def test_only_a_team_admin_creates_or_lists_its_tokens(services, acme, who, error, message):
    caller = {"token": TOKEN, "anonymous": Principal.anonymous()}.get(who) or acme[who]
    refused(error, message, new_token, services, caller)
    refused(error, message, services.tokens.of_team, caller, "acme")
    assert count(services, "tokens") == 0
    assert new_token(services, acme["bob"])["created_utc"]
    assert new_token(services, acme["alice"])["team_name"] == "acme"  # a server admin may too


def test_a_token_of_a_team_one_does_not_administer_is_refused(services, acme):
    token = new_token(services, acme["bob"])
    raw = str(token["id"])
    for call, args in (
        (services.tokens.show, ()),
        (services.tokens.change, ({"name": "stolen"},)),
        (services.tokens.revoke, ()),
    ):
        refused(NotFound, f"Token {raw!r} does not exist", call, acme["otto"], raw, *args)
        refused(Forbidden, "Your roles in team 'acme' do not allow this (administer)", call, acme["vera"], raw, *args)
        refused(NotFound, "Token 999 does not exist", call, acme["bob"], "999", *args)
        refused(NotFound, "Token 'x1' does not exist", call, acme["bob"], "x1", *args)
    refused(
        InvalidInput,
        "A token cannot move to another team",
        services.tokens.change,
        acme["bob"],
        raw,
        {"name": "moved"},
        team_name="bob",
    )
    assert services.tokens.show(acme["bob"], raw) == token | {"body": token["body"][:12] + "…"}
    assert count(services, "tokens") == 1


# --- exports --------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [Principal.anonymous(), Principal(PrincipalKind.READONLY_ID, readonly_file_key="x")])
def test_only_users_and_tokens_export(services, caller):
    message = "Log in or send an API token to export"
    refused(NotAuthenticated, message, services.exports.create, caller, {"name": "e", "databases": ["nope"]})
    refused(NotAuthenticated, message, services.exports.create, caller, {"name": ""})  # refused before the body
    refused(NotAuthenticated, message, services.exports.for_caller, caller)
    for call in (services.exports.get, services.exports.delete, services.exports.artifact):
        refused(NotAuthenticated, message, call, caller, "01j0000000000000000000000")
    assert count(services, "export_jobs") == 0


# --- charts ---------------------------------------------------------------------------------------


def test_a_chart_is_checked_and_drawn_by_the_core(services):
    owner = user(services, "alice")
    record = services.catalog.create(owner, None, "d", description=None, query="CREATE TABLE t(a, b)")
    refused(InvalidInput, "table must name a table", services.charts.create, "charts", record, {"table": ""})
    refused(
        InvalidInput,
        "charts must be a list of chart ids",
        services.charts.create,
        "dashboards",
        record,
        {"charts": [1]},
    )
    assert count(services, "charts") == count(services, "dashboards") == 0
    refused(NotFound, "No such chart", services.charts.svg, record, "nope")
    chart = services.charts.create("charts", record, {"table": "t", "headers": ["a", "b"]})
    assert "No data" in services.charts.svg(record, chart["ulid"])


# --- web pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "error", "message"),
    [
        (Principal.anonymous(), NotAuthenticated, "Log in to do this"),
        (TOKEN, Forbidden, "This needs a logged-in user, not an API token or read-only id"),
    ],
)
def test_the_home_page_is_for_users(services, caller, error, message):
    refused(error, message, services.pages.home, caller)
    assert services.pages.navigation(caller) == {"user": None, "teams": []}


def test_a_team_page_shows_tokens_and_databases_to_its_admins_only(services, acme):
    new_token(services, acme["bob"])
    refused(NotFound, "Team 'acme' does not exist", services.pages.team, acme["otto"], "acme")
    refused(NotAuthenticated, "Log in to do this", services.pages.team, Principal.anonymous(), "acme")
    seen = services.pages.team(acme["vera"], "acme")
    assert (seen["is_admin"], seen["tokens"], seen["team_databases"]) == (False, [], [])
    assert [m["username"] for m in seen["members"]] == ["bob", "vera"]
    assert seen["user"] == "vera" and [t["name"] for t in seen["teams"]] == ["acme", "vera"]
    administered = services.pages.team(acme["bob"], "acme")
    assert administered["is_admin"] and [t["name"] for t in administered["tokens"]] == ["ci"]


def test_a_database_page_offers_what_the_caller_may_do(services, acme):
    record = services.catalog.create(acme["bob"], "acme", "d", description=None, query="CREATE TABLE t(a)")
    for page, args in ((services.pages.database, ()), (services.pages.sql, ()), (services.pages.table, ("t",))):
        refused(NotFound, f"Database {record.id!r} does not exist", page, acme["otto"], record, *args)
        refused(NotFound, f"Database {record.id!r} does not exist", page, Principal.anonymous(), record, *args)
    viewer = services.pages.database(acme["vera"], record)
    assert (viewer["can_write"], viewer["can_manage"], viewer["can_create"]) == (False, False, True)
    columns = [{"name": "a", "type": "", "summable": True}]  # for the chart form: an untyped column sums
    assert viewer["tables"] == [{"name": "t", "tableType": "Table", "rows": 0, "columns": columns}]
    admin = services.pages.database(acme["bob"], record)
    assert (admin["can_write"], admin["can_manage"], admin["can_edit_schema"]) == (True, True, True)
    assert viewer["can_edit_schema"] is False
    assert services.pages.table(acme["vera"], record, "t")["editable"] is False
    assert services.pages.table(acme["bob"], record, "t")["editable"] is True
    assert services.pages.sql(acme["vera"], record)["default_query"] == 'SELECT * FROM "t" LIMIT 10;'


def test_the_database_page_counts_rows_without_changing_the_shared_record(client):
    """The counts once landed in the cached record's tables, and so in GET /api/dbs/:id."""
    db = client.post("/api/dbs", json={"name": "d", "query": "CREATE TABLE t(a)"}).json()["id"]
    assert "0 rows" in client.get(f"/dbs/{db}").text
    assert client.get(f"/api/dbs/{db}").json()["tables"] == [{"name": "t", "tableType": "Table"}]


# --- backups and the read-only link (issue 16, points 5 and 6) ---------------------------------------


def test_restoring_a_past_state_is_for_managers_only(services, acme):
    """Called directly, without the route's check: a Viewer, a reader of a public database and a
    token are refused before the replica is asked (this server has none) and no copy is made."""
    record = services.hosting.create("d", description=None, query="CREATE TABLE t(x)", owner="acme", created_by="bob")
    services.database_settings.update(record, {"visibility": "public"})
    record = services.hosting.get(record.id)
    read_token = Principal(
        PrincipalKind.TOKEN, token_id=1, token_team="acme", token_permissions={record.file_key: "read"}
    )
    databases = count(services, "databases")
    for caller, error in (
        (acme["vera"], Forbidden),
        (acme["otto"], Forbidden),
        (read_token, Forbidden),
        (Principal.anonymous(), NotAuthenticated),
    ):
        for as_new in (True, False):
            with pytest.raises(error) as raised:
                services.backups.restore(record, caller, "2020-01-01T00:00:00Z", as_new=as_new, team=None)
            assert type(raised.value) is error
        with pytest.raises(error):
            services.backups.window(record, caller)
    assert count(services, "databases") == databases
    with pytest.raises(NotFound, match="Backups are off"):
        services.backups.restore(record, acme["bob"], None, as_new=True, team=None)


def test_the_read_only_id_is_disclosed_to_managers_while_the_link_is_on(services, acme):
    from airsequel.core.auth.access import disclosure

    record = services.hosting.create("d", description=None, query=None, owner="acme", created_by="bob")
    insert_token = Principal(
        PrincipalKind.TOKEN, token_id=1, token_team="acme", token_permissions={record.file_key: "insert"}
    )
    assert disclosure(acme["bob"], record).readonly_id is None  # off until turned on
    services.hosting.regenerate_readonly_id(record)
    record = services.hosting.get(record.id)
    assert disclosure(acme["bob"], record).readonly_id == record.readonly_id
    assert disclosure(acme["alice"], record).readonly_id == record.readonly_id  # server admin manages all
    assert disclosure(acme["vera"], record).readonly_id is None and disclosure(acme["vera"], record).contents
    shown = disclosure(insert_token, record)
    assert shown.readonly_id is None and not shown.contents
    link = Principal.for_readonly_id(record)
    services.hosting.turn_off_readonly_id(record)
    refused(
        NotFound,
        f"Database {record.id!r} does not exist",
        authorize,
        link,
        Action.READ,
        services.hosting.get(record.id),
    )
