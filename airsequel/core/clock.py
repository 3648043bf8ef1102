"""Timestamps in the format of the JSON API: ISO 8601 UTC with milliseconds and a `Z`."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now_iso() -> str:
    return iso_from_datetime(datetime.now(UTC))


def iso_from_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_from_timestamp(seconds: float) -> str:
    return iso_from_datetime(datetime.fromtimestamp(seconds, UTC))


def epoch_from_iso(moment: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp (a `Z` or an offset; naive means UTC)."""
    parsed = datetime.fromisoformat(moment)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def has_passed(epoch_seconds: float | None) -> bool:
    """Whether a moment (None: never) is now or in the past."""
    return epoch_seconds is not None and epoch_seconds <= time.time()
