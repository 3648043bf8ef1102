"""Whole numbers written in text (path segments, query parameters, headers), read strictly.

`str.isdigit()` is true for characters `int()` refuses ('²', '①'), and `int()` takes numbers no SQLite
INTEGER can hold; both used to end as 500s. These read only ASCII digits, with an optional leading '-'
where a sign is allowed, and only values SQLite can bind.
"""

from __future__ import annotations

SQLITE_MAX_INTEGER = 2**63 - 1
SQLITE_MIN_INTEGER = -(2**63)
_MAX_LENGTH = 64  # leading zeros included; keeps int() cheap on hostile input


def parse_integer(text: str | None) -> int | None:
    """A whole number like '42' or '-7' that fits a SQLite INTEGER, or None when `text` is anything else."""
    if not text:
        return None
    digits = text[1:] if text[0] == "-" else text
    if not digits or len(digits) > _MAX_LENGTH or not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return value if fits_sqlite_integer(value) else None


def fits_sqlite_integer(value: int) -> bool:
    return SQLITE_MIN_INTEGER <= value <= SQLITE_MAX_INTEGER


def parse_count(text: str | None) -> int | None:
    """A non-negative whole number like '42', or None when `text` is anything else (a sign included)."""
    return None if text is None or text.startswith("-") else parse_integer(text)
