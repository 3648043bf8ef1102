"""Requests in flight per database, and the gate a planned move closes: while it is closed, new
requests for the database wait (they then go to its new owner); the move starts once the requests
already in flight have finished."""

from __future__ import annotations

import threading
import time
from collections import Counter


class DatabaseGates:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._in_flight: Counter[str] = Counter()
        self._closed: set[str] = set()

    def try_enter(self, file_key: str) -> bool:
        """Count a request in, unless the gate is closed (then `enter` waits); never blocks."""
        with self._changed:
            if file_key in self._closed:
                return False
            self._in_flight[file_key] += 1
            return True

    def enter(self, file_key: str, timeout: float) -> bool:
        """Wait (at most `timeout`) for the gate to open, then count a request in; whether it did."""
        with self._changed:
            if not self._opened(file_key, time.monotonic() + timeout):
                return False
            self._in_flight[file_key] += 1
            return True

    def _opened(self, file_key: str, deadline: float) -> bool:
        """Under the lock: wait until the gate is open, or `deadline` (monotonic); whether it is open."""
        while file_key in self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.wait(remaining)
        return True

    def leave(self, file_key: str) -> None:
        with self._changed:
            self._in_flight[file_key] -= 1
            if self._in_flight[file_key] <= 0:
                del self._in_flight[file_key]
            self._changed.notify_all()

    def close(self, file_key: str, timeout: float) -> bool:
        """Close the gate and wait (at most `timeout`) for the requests in flight to finish; on time
        out the gate opens again and False is returned."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if not self._opened(file_key, deadline):  # another move or re-seeding of it is under way: after it
                return False
            self._closed.add(file_key)
            while self._in_flight[file_key] > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._closed.discard(file_key)
                    self._changed.notify_all()
                    return False
                self._changed.wait(remaining)
            return True

    def open(self, file_key: str) -> None:
        with self._changed:
            self._closed.discard(file_key)
            self._changed.notify_all()

    def is_closed(self, file_key: str) -> bool:
        return file_key in self._closed
