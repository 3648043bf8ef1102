"""Date ranges of the records APIs and export jobs: which column holds a row's date, and the bounds.

A table's date column is the one named by `date_column`, else its column named `created_at` (the
convention of PixieBrix records), else its one column declared with a date or time type (DATE,
DATETIME, TIMESTAMP, ...). Bounds are a day (`2024-05-19`: the whole day, inclusive) or an ISO 8601
timestamp (`2024-05-19T08:00:00Z`, `...+02:00`; inclusive). Stored values compare as instants
(SQLite's julianday): ISO text with or without `T`, fractions or an offset (none means UTC), and
numbers as Unix seconds. A value SQLite cannot read as a time is outside every range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airsequel.core.errors import InvalidInput
from airsequel.core.sql.introspection import Column, Table
from airsequel.core.sql.script import quote_identifier

CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
_DATE_TYPE_WORDS = ("DATE", "TIME")


def date_column(table: Table, explicit: str | None = None) -> Column:
    """The column a date range applies to (see the module's docstring), or a 400 saying how to name one."""
    if explicit is not None:
        found = table.column(explicit)
        if found is None:
            raise InvalidInput(f"Unknown column {explicit!r} in table {table.name!r} (date_column)")
        return found
    named = table.column(CREATED_AT) or next((c for c in table.columns if c.name.lower() == CREATED_AT), None)
    if named is not None:
        return named
    typed = [c for c in table.columns if any(word in c.declared_type.upper() for word in _DATE_TYPE_WORDS)]
    if len(typed) == 1:
        return typed[0]
    reason = (
        f"several date or time columns ({', '.join(repr(c.name) for c in typed)})"
        if typed
        else "no date or time column"
    )
    raise InvalidInput(
        f"Table {table.name!r} has no created_at column and {reason}:"
        " name the column dates apply to with date_column=<column>"
    )


@dataclass
class Bound:
    sql: str  # a condition on the column's instant
    params: list[Any]


def instant_of(column: str) -> str:
    """The SQL of a column's value as a Julian day number (NULL when it is no time)."""
    quoted = quote_identifier(column)
    return (
        f"julianday(CASE WHEN typeof({quoted}) IN ('integer', 'real')"
        f" THEN datetime({quoted}, 'unixepoch') ELSE {quoted} END)"
    )


def range_conditions(column: str, start: Any, end: Any) -> list[Bound]:
    """The conditions of `start`/`end` (either may be None) on `column`."""
    instant = instant_of(column)
    bounds = []
    if start is not None:
        bounds.append(Bound(f"{instant} >= julianday(?)", [_moment(start, "start_date", end=False)]))
    if end is not None:
        moment = _moment(end, "end_date", end=True)
        if moment is None:  # the last day there is: every time is before its end
            bounds.append(Bound(f"{instant} IS NOT NULL", []))
        elif isinstance(end, str) and len(end.strip()) == 10:
            bounds.append(Bound(f"{instant} < julianday(?)", [moment]))
        else:
            bounds.append(Bound(f"{instant} <= julianday(?)", [moment]))
    return bounds


def _moment(value: Any, name: str, *, end: bool) -> str | None:
    """A bound as UTC text SQLite reads; for a day that ends a range, the next day (None after 9999-12-31)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a date like 2024-01-31 or an ISO 8601 timestamp like 2024-01-31T08:00:00Z")
    text = value.strip()
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            if end:
                return (day + timedelta(days=1)).isoformat() if day < date.max else None
            return day.isoformat()
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} must be a date like 2024-01-31 or an ISO 8601 timestamp like 2024-01-31T08:00:00Z, not {value!r}"
        ) from None
    return moment.isoformat(sep=" ", timespec="milliseconds")
