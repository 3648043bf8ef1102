"""Which control-plane writes move the generation that every worker's caches follow: changes to what is cached
(a token, a member, a database record, a setting) do; login failures and export-job leases do not, so a flood of
failed logins or a long export does not make every worker reload its caches."""

from __future__ import annotations

from airsequel.core.services import Services


def test_login_failures_leave_the_generation_as_it_was(services: Services) -> None:
    before = services.control.check_generation()
    for _ in range(5):
        services.login_throttle.login_failed("nobody", "203.0.113.7")
    assert services.control.query("SELECT count(*) FROM login_failures")[0][0] >= 5  # they were written
    services.login_throttle.login_succeeded("nobody", "203.0.113.7")
    assert services.control.check_generation() == before


def test_a_write_of_something_cached_moves_it(services: Services) -> None:
    before = services.control.check_generation()
    services.accounts.create_user("gen", "gen@example.org", "a long password")
    assert services.control.check_generation() > before


def test_a_lease_write_leaves_it_and_a_plain_execute_moves_it(services: Services) -> None:
    before = services.control.check_generation()
    services.control.execute("DELETE FROM login_failures WHERE key = ?", ("x",), bump=False)
    assert services.control.check_generation() == before
    services.control.execute("DELETE FROM login_failures WHERE key = ?", ("x",))
    assert services.control.check_generation() == before + 1
