"""Timestamps in the format of the JSON API: ISO 8601 UTC with milliseconds and a `Z`."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now_iso() -> str:
    return iso_from_datetime(datetime.now(timezone.utc))


def iso_from_datetime(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_from_timestamp(seconds: float) -> str:
    return iso_from_datetime(datetime.fromtimestamp(seconds, timezone.utc))
