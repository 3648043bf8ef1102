"""The access decisions that HTTP routes used to make, now made by the core: each core method,
called directly with the wrong principal, refuses with the exact error and writes nothing."""

from __future__ import annotations

import pytest

from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.auth.login_throttle import TooManyAttempts
from airsequel.core.errors import Forbidden, NotAuthenticated, NotFound
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
        services.accounts.login("alice", PASSWORD, client_address="192.0.2.2")
    assert str(raised.value).startswith("Too many failed logins: try again in ")
    assert count(services, "sessions") == 0


def test_password_reset_requests_are_throttled_by_address(services):
    user(services, "alice")
    for _ in range(services.login_throttle.max_failures):
        services.accounts.request_password_reset("nobody@example.org", client_address="192.0.2.1")
    with pytest.raises(TooManyAttempts):
        services.accounts.request_password_reset("alice@example.org", client_address="192.0.2.1")
    assert count(services, "password_resets") == 0
