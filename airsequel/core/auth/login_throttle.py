"""Slowing down password guessing without letting anyone lock an account.

Failed logins are counted per (username, client address), per client address and per username,
over a sliding window:

- one address guessing one account: `max_failures` (5) failures in the window, then 429;
- one address trying many accounts: `max_address_failures` (20) failures in the window, then 429;
- many addresses guessing one account: past `max_username_failures` (20) failures for the username,
  an address that has itself failed for that username waits until its failures age out.

An address with no failures of its own for a username is never refused for that username's sake:
wrong guesses from elsewhere cannot lock the owner out. The client address is what the HTTP layer
trusts (the peer, or what a proxy named in the trusted_proxies setting forwarded).

The failures are rows of the control plane's `login_failures` table (key, time), so every worker
process of the server counts the same failures, and a restart forgets none of them. Rows older than
the window are deleted as they are met and by a sweep at most once a minute.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from airsequel.core.errors import TooManyRequests
from airsequel.core.registry.control_plane import ControlPlane

SWEEP_EVERY_SECONDS = 60.0


class TooManyAttempts(TooManyRequests):
    """Too many failed logins recently (429); `retry_after` seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins: try again in {retry_after} s", retry_after=retry_after)


class LoginThrottle:
    def __init__(
        self,
        control: ControlPlane | None = None,
        *,
        max_failures: int = 5,
        window: float = 300.0,
        max_address_failures: int = 20,
        max_username_failures: int = 20,
    ) -> None:
        """`control`: where the failures are counted (the server's control plane, shared by its worker
        processes); without one, a private in-memory control plane (one process only: for tests)."""
        self.control = control if control is not None else ControlPlane(Path(":memory:"))
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.max_username_failures = max_username_failures
        self.window = window
        self._last_sweep = 0.0

    # --- logins ---------------------------------------------------------------------------------

    def check_login(self, username: str, address: str) -> None:
        """TooManyAttempts when this address may not try this username now (see the module docstring)."""
        pair, by_address, by_username = _login_keys(username, address)
        now = time.time()
        recent = self._recent((pair, by_address), now)
        self._refuse_past(recent[pair], self.max_failures, now)
        self._refuse_past(recent[by_address], self.max_address_failures, now)
        own = recent[pair]
        if own and self._count(by_username, now) >= self.max_username_failures:
            raise TooManyAttempts(int(own[-1] + self.window - now) + 1)

    def login_failed(self, username: str, address: str) -> None:
        self._add(*_login_keys(username, address))

    def login_succeeded(self, username: str, address: str) -> None:
        """The right password from this address: its own failures for the username are forgotten."""
        self.control.execute(
            "DELETE FROM login_failures WHERE key = ?", (_login_keys(username, address)[0],), bump=False
        )

    # --- anything else counted per key (password-reset requests) ----------------------------------

    def check(self, *keys: str) -> None:
        now = time.time()
        recent = self._recent(keys, now)
        for key in keys:
            self._refuse_past(recent[key], self.max_failures, now)

    def failed(self, *keys: str) -> None:
        self._add(*keys)

    # --- bookkeeping ------------------------------------------------------------------------------

    def _add(self, *keys: str) -> None:
        now = time.time()
        marks = ", ".join("?" * len(keys))
        with self.control.transaction(bump=False) as conn:  # no cached answer depends on these rows
            conn.executemany("INSERT INTO login_failures(key, at) VALUES (?, ?)", [(key, now) for key in keys])
            conn.execute(f"DELETE FROM login_failures WHERE key IN ({marks}) AND at < ?", (*keys, now - self.window))
            if now - self._last_sweep > SWEEP_EVERY_SECONDS:  # forget quiet keys so the table stays small
                self._last_sweep = now
                conn.execute("DELETE FROM login_failures WHERE at < ?", (now - self.window,))

    def _refuse_past(self, recent: list[float], limit: int, now: float) -> None:
        if len(recent) >= limit:
            # Wait until enough of them age out to bring the count under the limit.
            raise TooManyAttempts(int(recent[len(recent) - limit] + self.window - now) + 1)

    def _recent(self, keys: Sequence[str], now: float) -> dict[str, list[float]]:
        """The times of each key's failures within the window, oldest first."""
        found: dict[str, list[float]] = {key: [] for key in keys}
        marks = ", ".join("?" * len(keys))
        for key, at in self.control.query(
            f"SELECT key, at FROM login_failures WHERE key IN ({marks}) AND at >= ? ORDER BY at",
            (*keys, now - self.window),
        ):
            found[key].append(at)
        return found

    def _count(self, key: str, now: float) -> int:
        rows = self.control.query(
            "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", (key, now - self.window)
        )
        return int(rows[0][0])


def _login_keys(username: str, address: str) -> tuple[str, str, str]:
    name = username.lower()
    # The address holds no space: the first space ends it, whatever the name holds.
    return f"login:{address} {name}", f"address:{address}", f"user:{name}"
