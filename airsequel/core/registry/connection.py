"""What the control plane's code may ask of its connection, whichever engine holds it.

The control plane's statements are written once, in SQLite's SQL, and run through these calls: an
sqlite3 connection has them, and so does the PostgreSQL engine's (postgres_engine.py). Rows read by
position and by column name (`row[0]`, `row["id"]`, `dict(row)`), as sqlite3.Row does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class ControlCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class ControlConnection(Protocol):
    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Params = ..., /) -> ControlCursor: ...

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> ControlCursor: ...


# A row of a control-plane query: sqlite3.Row or the PostgreSQL engine's Row.
ControlRow = Any
