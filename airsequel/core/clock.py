"""Timestamps in the format of the JSON API: ISO 8601 UTC with milliseconds and a `Z`; and the clock
that expiry checks read.

Code that decides whether something has expired takes a `Clock` (default `SYSTEM_CLOCK`, the real
time), so a test can hand it a `ManualClock` and advance time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...

    def time(self) -> float:
        """The current moment in seconds since the epoch."""
        ...


class SystemClock:
    """The real time: `datetime.now(UTC)` and `time.time()`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock for tests: it stands still at `start` (default: the real now) until advanced."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def time(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


def utc_now_iso(clock: Clock = SYSTEM_CLOCK) -> str:
    return iso_from_datetime(clock.now())


def iso_from_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_from_timestamp(seconds: float) -> str:
    return iso_from_datetime(datetime.fromtimestamp(seconds, UTC))


def epoch_from_iso(moment: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp (a `Z` or an offset; naive means UTC)."""
    parsed = datetime.fromisoformat(moment)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def has_passed(epoch_seconds: float | None, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Whether a moment (None: never) is now or in the past."""
    return epoch_seconds is not None and epoch_seconds <= clock.time()
