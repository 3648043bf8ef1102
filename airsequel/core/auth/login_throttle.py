"""Slowing down password guessing: failed logins per username and per client address."""

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
    """At most `max_failures` failed logins per key within `window` seconds."""

    def __init__(self, *, max_failures: int = 5, window: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.max_failures:
                    raise TooManyAttempts(int(recent[0] + self.window - now) + 1)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # forget quiet keys so memory stays bounded
                for key in [k for k, v in self._failures.items() if not v or v[-1] < now - self.window]:
                    del self._failures[key]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] < now - self.window:
            recent.popleft()
        return recent
