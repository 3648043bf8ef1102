"""Login throttling counts across worker processes: failures spread over two workers (two Services
over one data directory, or a separate process) hit the same limits as on one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from airsequel.config import Settings
from airsequel.core.auth.login_throttle import TooManyAttempts
from airsequel.core.errors import NotAuthenticated
from airsequel.core.services import Services
from tests.helpers import PASSWORD


@pytest.fixture
def second(settings: Settings, services: Services) -> Iterator[Services]:
    other = Services._start_locked(settings)
    yield other
    other.stop()


def wrong(services: Services, address: str, username: str = "alice") -> None:
    with pytest.raises(NotAuthenticated):
        services.accounts.login(username, "wrong password", client_address=address)


def sessions(services: Services) -> int:
    return int(services.control.query("SELECT count(*) FROM sessions")[0][0])


def test_five_failures_spread_over_two_workers_refuse_the_sixth_on_either(services, second):
    services.accounts.create_user("alice", "alice@example.org", PASSWORD)
    for number in range(5):
        wrong((services, second)[number % 2], "198.51.100.1")  # 3 on one, 2 on the other
    for worker in (services, second):
        with pytest.raises(TooManyAttempts) as raised:
            worker.accounts.login("alice", PASSWORD, client_address="198.51.100.1")
        assert raised.value.status == 429 and 290 <= (raised.value.retry_after or 0) <= 301
        assert str(raised.value).startswith("Too many failed logins: try again in ")
    assert sessions(services) == 0
    # The owner elsewhere is not locked out, through either worker.
    assert second.accounts.login("alice", PASSWORD, client_address="192.0.2.10").user.username == "alice"


def test_four_failures_are_not_refused_and_a_success_on_one_worker_forgets_them_on_the_other(services, second):
    services.accounts.create_user("alice", "alice@example.org", PASSWORD)
    for number in range(4):
        wrong((services, second)[number % 2], "198.51.100.1")
    assert second.accounts.login("alice", PASSWORD, client_address="198.51.100.1")  # the 5th try: allowed
    for _ in range(4):
        wrong(services, "198.51.100.1")
    services.login_throttle.check_login("alice", "198.51.100.1")  # 4 since the success: not refused


def test_an_address_trying_many_accounts_through_both_workers_waits(services, second):
    limit = services.login_throttle.max_address_failures
    for number in range(limit):
        wrong((services, second)[number % 2], "198.51.100.1", username=f"user{number}")
    services.accounts.create_user("zoe", "zoe@example.org", PASSWORD)
    with pytest.raises(TooManyAttempts):
        second.accounts.login("zoe", PASSWORD, client_address="198.51.100.1")


def test_password_reset_requests_count_across_workers(services, second):
    services.accounts.create_user("alice", "alice@example.org", PASSWORD)
    outbox = services.settings.outbox_dir or services.layout.default_outbox_dir
    for number in range(5):
        (services, second)[number % 2].accounts.request_password_reset("alice@example.org", client_address="192.0.2.1")
    with pytest.raises(TooManyAttempts):
        second.accounts.request_password_reset("alice@example.org", client_address="192.0.2.1")
    assert len(list(outbox.glob("*-password-reset-alice.txt"))) == 5


@pytest.mark.sqlite_control_plane
def test_failures_counted_by_another_process_refuse_here(services):
    script = (
        "import sys; from pathlib import Path\n"
        "from airsequel.core.auth.login_throttle import LoginThrottle\n"
        "from airsequel.core.registry.control_plane import ControlPlane\n"
        "throttle = LoginThrottle(ControlPlane(Path(sys.argv[1])))\n"
        "for _ in range(5): throttle.login_failed('alice', '198.51.100.1')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(services.layout.control_file)], check=True, timeout=60)
    services.accounts.create_user("alice", "alice@example.org", PASSWORD)
    with pytest.raises(TooManyAttempts):
        services.accounts.login("alice", PASSWORD, client_address="198.51.100.1")
    services.login_throttle.check_login("alice", "198.51.100.2")  # another address: not refused
