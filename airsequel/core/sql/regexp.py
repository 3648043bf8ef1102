"""SQLite's `REGEXP` operator on hosted connections, with RE2 (google-re2): matching takes time
linear in the text, whatever the pattern.

Python's `re` backtracks: `(a+)+$` against 30 a's and a b runs for minutes, and it would run inside
one call of a user function, which SQLite does not stop: `interrupt()` and the progress handler are
only looked at between VM steps, so the statement's deadline would wait for the call to end. RE2
has no backtracking; patterns are bounded in length (MAX_PATTERN_LENGTH) and in memory
(MAX_PATTERN_MEMORY), and compiled patterns kept in a small cache. Without the module the function is not registered (`available()` says so).
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from typing import Any

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    re2 = None

MAX_PATTERN_LENGTH = 1000
COMPILED_CACHE = 64
# RE2's memory for one compiled pattern (its default is 8 MiB): the cache holds at most 64 x 1 MiB. A
# pattern that needs more is refused with RE2's "pattern too large" reason.
MAX_PATTERN_MEMORY = 1 << 20


class PatternError(ValueError):
    """A pattern RE2 refuses, or longer than MAX_PATTERN_LENGTH."""


def available() -> bool:
    return re2 is not None


@lru_cache(maxsize=COMPILED_CACHE)
def compiled(pattern: str) -> Any:
    """The pattern compiled by RE2; PatternError with RE2's reason when it is refused."""
    if re2 is None:
        raise PatternError("Regular expressions are not available on this server (google-re2 is not installed)")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"A regular expression may have at most {MAX_PATTERN_LENGTH} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"Invalid regular expression: {reason}") from None


def regexp(pattern: Any, value: Any) -> int | None:
    """`value REGEXP pattern`: NULL when either is NULL; numbers match as their text; BLOBs never match."""
    if pattern is None or value is None:
        return None
    if isinstance(value, bytes):
        return 0
    return 1 if compiled(str(pattern)).search(str(value)) is not None else 0


def register(conn: sqlite3.Connection) -> None:
    """Give `conn` the REGEXP operator (when RE2 is installed)."""
    if re2 is not None:
        conn.create_function("regexp", 2, regexp, deterministic=True)
