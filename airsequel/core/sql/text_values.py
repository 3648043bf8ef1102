"""TEXT values that are not UTF-8. SQLite stores whatever bytes it is given as TEXT (`CAST(X'FF' AS TEXT)`),
and Python's sqlite3 fails the whole statement on such a value ("Could not decode to UTF-8 column ...").
Where the server hands rows on as data (POST /sql, table pages, records, exports), such a value comes
back as its bytes instead, and so goes out as a BLOB does (`{"$base64": ...}` in JSON, base64 in CSV):
nothing is lost and the rest of the result is unaffected.

The lenient factory costs about 60 ns per text cell over the C default, so it is set only for the
borrows that hand rows on (GraphQL has its own rule: the cell's error).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


def text_or_bytes(value: bytes) -> str | bytes:
    """A TEXT value as a string, or as its bytes when they are not UTF-8."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value


@contextmanager
def undecodable_text_as_bytes(conn: sqlite3.Connection) -> Iterator[None]:
    """Within the block, TEXT that is not UTF-8 comes back as bytes; the factory before is restored after."""
    before = conn.text_factory
    conn.text_factory = text_or_bytes
    try:
        yield
    finally:
        conn.text_factory = before
