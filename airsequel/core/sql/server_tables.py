"""Tables in a hosted file that belong to the server, not to its users: Litestream's bookkeeping
(`_litestream_seq`, `_litestream_lock`), which `litestream replicate` creates in every file it
replicates.

They are invisible (table lists, the schema, introspection, GraphQL) and untouchable (the SQL guard
refuses them: `is_server_table`), and a copy that leaves the server (a download, a duplicate, a
restored database) does not carry them: Litestream makes its own again in a file it replicates.
"""

from __future__ import annotations

import sqlite3

SERVER_TABLE_PREFIX = "_litestream_"

# For a query of sqlite_master: `... AND {NOT_SERVER_TABLE}` (a constant: `_` is no wildcard here).
NOT_SERVER_TABLE = f"substr(lower(name), 1, {len(SERVER_TABLE_PREFIX)}) <> '{SERVER_TABLE_PREFIX}'"


def is_server_table(name: str | None) -> bool:
    """Whether `name` is one of the server's own tables (SQLite compares names case-insensitively)."""
    return name is not None and name.lower().startswith(SERVER_TABLE_PREFIX)


def has_server_tables(conn: sqlite3.Connection) -> bool:
    return any(is_server_table(name) for (name,) in conn.execute("SELECT name FROM sqlite_master"))


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
            conn.execute(f'DROP TABLE "{name.replace(chr(34), chr(34) * 2)}"')
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True
