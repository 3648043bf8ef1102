"""Work running now in this process, counted per key (a team, a database) and in all, with a bound on
each: the one mechanism behind the AI prompts' and the cloud functions' 429s."""

from __future__ import annotations

import threading
from collections import Counter

from airsequel.core.errors import TooManyRequests


class RunningCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._total = 0

    def take(
        self,
        key: str,
        *,
        per_key: int,
        total: int,
        key_full: str,
        all_full: str,
        retry_after: int | None = 1,
    ) -> None:
        """Count one more for `key`, or TooManyRequests (`all_full` when `total` run in all, else `key_full`
        when `per_key` run for `key`). Give it back with `give_back(key)`."""
        with self._lock:
            if self._total >= total:
                raise TooManyRequests(all_full, retry_after=retry_after)
            if self._running[key] >= per_key:
                raise TooManyRequests(key_full, retry_after=retry_after)
            self._total += 1
            self._running[key] += 1

    def give_back(self, key: str) -> None:
        with self._lock:
            if self._running[key] <= 0:
                return  # nothing was taken for it
            self._total -= 1
            self._running[key] -= 1
            if self._running[key] <= 0:
                del self._running[key]

    def running(self, key: str) -> int:
        with self._lock:
            return self._running.get(key, 0)
