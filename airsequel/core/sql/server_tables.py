"""Tables a hosted file holds that are not the user's: Litestream's bookkeeping (`_litestream_seq`,
`_litestream_lock`), which `litestream replicate` creates in every file it replicates.

They are invisible (table lists, the schema, GraphQL, exports) and untouchable (the SQL guard),
and a copy that leaves the server (a download, a duplicate, a restored database) does not carry
them: Litestream makes its own again in a file it replicates.
"""

from __future__ import annotations

import sqlite3

SERVER_TABLES = frozenset({"_litestream_seq", "_litestream_lock"})
# For a query of sqlite_master / sqlite_schema: `... AND {NOT_SERVER_TABLE}` (the names are constants).
NOT_SERVER_TABLE = "lower(name) NOT IN ('_litestream_seq', '_litestream_lock')"


def is_server_table(name: str | None) -> bool:
    """Whether `name` is one of the server's own tables (SQLite compares names case-insensitively)."""
    return name is not None and name.lower() in SERVER_TABLES


def drop_server_tables(conn: sqlite3.Connection) -> bool:
    """Drop the server's tables a file holds, in one transaction; whether there were any."""
    found = [
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if is_server_table(name)
    ]
    if not found:
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in found:
            conn.execute(f'DROP TABLE "{name}"')  # one of two constant names, checked just above
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True
