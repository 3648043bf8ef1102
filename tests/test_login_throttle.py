"""Issue 16, point 8: login throttling that forged addresses cannot dodge and nobody can use to lock
an account.

Found: X-Forwarded-For was believed from any client (uvicorn trusts a loopback peer by default), so
failures spread over forged addresses never got a 429, nor did password-reset requests; and five
wrong guesses locked the right password out for five minutes from everywhere."""

from __future__ import annotations

import time

import httpx2
import pytest

from airsequel.core.auth.login_throttle import LoginThrottle, TooManyAttempts
from airsequel.core.errors import NotAuthenticated
from tests.helpers import PASSWORD
from tests.server_process import running_server


def sessions(services) -> int:
    return services.control.query("SELECT count(*) FROM sessions")[0][0]


def wrong(services, address: str, username: str = "alice") -> None:
    with pytest.raises(NotAuthenticated):
        services.accounts.login(username, "wrong password", client_address=address)


def test_guesses_from_many_addresses_never_lock_the_owner_out(services):
    services.accounts.create_user("alice", "alice@example.org", PASSWORD)
    throttle = services.login_throttle
    attackers = [f"198.51.100.{n}" for n in range(throttle.max_username_failures + 5)]
    for address in attackers:
        wrong(services, address)
    # The username is over its limit: an address that failed for it waits, right password or not ...
    with pytest.raises(TooManyAttempts):
        services.accounts.login("alice", PASSWORD, client_address=attackers[0])
    assert sessions(services) == 0
    # ... and the owner, from an address without failures, logs in at once.
    assert services.accounts.login("alice", PASSWORD, client_address="192.0.2.10").user.username == "alice"
    assert sessions(services) == 1


def test_one_address_guessing_one_account_waits_after_five(services):
    services.accounts.create_user("alice", "alice@example.org", PASSWORD)
    for _ in range(5):
        wrong(services, "198.51.100.1")
    with pytest.raises(TooManyAttempts) as raised:
        services.accounts.login("alice", PASSWORD, client_address="198.51.100.1")
    assert 290 <= raised.value.retry_after <= 301
    assert sessions(services) == 0


def test_one_address_trying_many_accounts_waits(services):
    throttle = services.login_throttle
    for n in range(throttle.max_address_failures):
        wrong(services, "198.51.100.1", username=f"user{n}")
    services.accounts.create_user("zoe", "zoe@example.org", PASSWORD)
    with pytest.raises(TooManyAttempts):
        services.accounts.login("zoe", PASSWORD, client_address="198.51.100.1")
    assert services.accounts.login("zoe", PASSWORD, client_address="192.0.2.10")


def test_a_success_forgets_that_addresses_failures():
    throttle = LoginThrottle(window=300)
    for _ in range(4):
        throttle.login_failed("alice", "192.0.2.1")
    throttle.login_succeeded("alice", "192.0.2.1")
    for _ in range(4):
        throttle.login_failed("alice", "192.0.2.1")
    throttle.check_login("alice", "192.0.2.1")  # 4 since the success: not refused


def test_failures_age_out_of_the_window():
    throttle = LoginThrottle(window=0.05)
    for _ in range(5):
        throttle.login_failed("alice", "192.0.2.1")
    with pytest.raises(TooManyAttempts):
        throttle.check_login("alice", "192.0.2.1")
    time.sleep(0.06)
    throttle.check_login("alice", "192.0.2.1")


def login(http: httpx2.Client, password: str, forwarded_for: str) -> httpx2.Response:
    return http.post(
        "/api/login", json={"username": "alice", "password": password}, headers={"X-Forwarded-For": forwarded_for}
    )


@pytest.mark.e2e
def test_forged_forwarded_for_is_ignored_without_trusted_proxies(tmp_path):
    """The attack as found, against a real server reached over loopback: every guess names another
    address in X-Forwarded-For. The server counts the peer's address, so the sixth guess is a 429;
    password-reset requests likewise."""
    with running_server(tmp_path / "data") as base:
        http = httpx2.Client(base_url=base, timeout=10)
        assert http.post(
            "/api/users", json={"username": "alice", "email_address": "alice@example.org", "password": PASSWORD}
        ).is_success
        answers = [login(http, "wrong password", f"203.0.113.{n}").status_code for n in range(7)]
        assert answers == [401] * 5 + [429] * 2
        resets = [
            http.post(
                "/api/users/reset-password",
                json={"email": "alice@example.org"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(7)
        ]
        assert resets == [200] * 5 + [429] * 2
    outbox = tmp_path / "data" / "outbox"
    assert len(list(outbox.iterdir())) == 5  # the refused requests wrote no message


@pytest.mark.e2e
def test_behind_a_named_proxy_the_forwarded_client_counts(tmp_path):
    """With trusted_proxies naming the loopback peer, X-Forwarded-For is the client: one client's
    failures make that client wait, and the owner behind the same proxy still logs in."""
    env = {"AIRSEQUEL_TRUSTED_PROXIES": "127.0.0.1"}
    with running_server(tmp_path / "data", env) as base:
        http = httpx2.Client(base_url=base, timeout=10)
        assert http.post(
            "/api/users", json={"username": "alice", "email_address": "alice@example.org", "password": PASSWORD}
        ).is_success
        answers = [login(http, "wrong password", "203.0.113.7").status_code for _ in range(6)]
        assert answers == [401] * 5 + [429]
        assert login(http, PASSWORD, "203.0.113.7").status_code == 429
        assert login(http, PASSWORD, "192.0.2.44").status_code == 200
