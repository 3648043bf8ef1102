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

The counts live in this process's memory: a restart forgets them, and several processes would each
count on their own.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from airsequel.core.errors import TooManyRequests


class TooManyAttempts(TooManyRequests):
    """Too many failed logins recently (429); `retry_after` seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins: try again in {retry_after} s", retry_after=retry_after)


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: float = 300.0,
        max_address_failures: int = 20,
        max_username_failures: int = 20,
    ) -> None:
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.max_username_failures = max_username_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    # --- logins ---------------------------------------------------------------------------------

    def check_login(self, username: str, address: str) -> None:
        """TooManyAttempts when this address may not try this username now (see the module docstring)."""
        pair, by_address, by_username = _login_keys(username, address)
        now = time.monotonic()
        with self._lock:
            self._refuse_past(pair, self.max_failures, now)
            self._refuse_past(by_address, self.max_address_failures, now)
            own = self._recent(pair, now)
            if own and len(self._recent(by_username, now)) >= self.max_username_failures:
                raise TooManyAttempts(self._wait(own, now))

    def login_failed(self, username: str, address: str) -> None:
        self._add(*_login_keys(username, address))

    def login_succeeded(self, username: str, address: str) -> None:
        """The right password from this address: its own failures for the username are forgotten."""
        with self._lock:
            self._failures.pop(_login_keys(username, address)[0], None)

    # --- anything else counted per key (password-reset requests) ----------------------------------

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._refuse_past(key, self.max_failures, now)

    def failed(self, *keys: str) -> None:
        self._add(*keys)

    # --- bookkeeping ------------------------------------------------------------------------------

    def _add(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # forget quiet keys so memory stays bounded
                for key in [k for k, v in self._failures.items() if not v or v[-1] < now - self.window]:
                    del self._failures[key]

    def _refuse_past(self, key: str, limit: int, now: float) -> None:
        recent = self._recent(key, now)
        if len(recent) >= limit:
            # Wait until enough of them age out to bring the count under the limit.
            raise TooManyAttempts(int(recent[len(recent) - limit] + self.window - now) + 1)

    def _wait(self, recent: deque[float], now: float) -> int:
        return int(recent[-1] + self.window - now) + 1

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] < now - self.window:
            recent.popleft()
        return recent


def _login_keys(username: str, address: str) -> tuple[str, str, str]:
    name = username.lower()
    return f"login:{name}\x00{address}", f"address:{address}", f"user:{name}"
