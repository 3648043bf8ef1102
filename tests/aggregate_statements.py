"""Counting the SQL statements a GraphQL request runs on its hosted file (sqlite3's trace callback on
the real connections the pool lends)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def statements_of(client: Any) -> Iterator[list[str]]:
    """The statements read connections run while the block runs (BEGIN and ROLLBACK left out)."""
    pool = client.app.state.services.hosting.pool
    seen: list[str] = []
    original = pool.reader

    @contextmanager
    def traced(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with original(*args, **kwargs) as conn:
            conn.set_trace_callback(seen.append)
            try:
                yield conn
            finally:
                conn.set_trace_callback(None)

    pool.reader = traced
    try:
        yield seen
    finally:
        del pool.reader
    seen[:] = [s for s in seen if s.split()[0].upper() not in ("BEGIN", "ROLLBACK", "COMMIT", "PRAGMA")]
