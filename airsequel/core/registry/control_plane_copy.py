"""Moving a control plane from its SQLite file into PostgreSQL (`airsequel migrate-control-plane`).

The file is brought to the last migration, the PostgreSQL database gets the same schema (it must hold no
rows yet), and every table is copied in one PostgreSQL transaction, parents before children. Before that
transaction commits, every table is read back from PostgreSQL and compared with the file row for row (same
rows, same values): on any difference nothing is committed. Identity counters are set
past every id given so far (for tokens, past SQLite's AUTOINCREMENT counter too, so an id is never given
twice), and the generation moves past the file's, so that nothing cached from before can be taken as current.
The hosted files stay where they are, in the data directory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airsequel.core.errors import Conflict, CoreError
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.registry.postgres_engine import PostgresConnection

# Kept by each engine for itself, not copied: the schema version and the generation (moved past instead).
NOT_COPIED = frozenset({"control_generation", "control_plane_version"})
IDENTITY_TABLES = ("users", "teams", "tokens", "audit_log", "mail_queue")


class CopyMismatch(CoreError):
    """The rows read back from PostgreSQL differ from the file's: nothing was committed."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied and verified

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_control_plane(source: Path, target_url: str) -> CopyReport:
    """Copy the control plane in the SQLite file `source` into the empty PostgreSQL database at
    `target_url`, verified row for row."""
    ControlPlane(source).close()  # brings the file to the last migration
    target = ControlPlane(target_url)
    try:
        file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            return _copy(file, target)
        finally:
            file.close()
    finally:
        target.close()


def _copy(file: sqlite3.Connection, target: ControlPlane) -> CopyReport:
    tables = _tables_parents_first(file)
    report = CopyReport()
    with target.transaction() as conn:
        occupied = [table for table in tables if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()]
        if occupied:
            raise Conflict(
                "The PostgreSQL database already holds a control plane (rows in "
                + ", ".join(occupied)
                + "): copy into an empty database"
            )
        for table in tables:
            columns = _columns(file, table)
            _check_same_columns(conn, table, columns)
            names = ", ".join(columns)
            rows = file.execute(f"SELECT {names} FROM {table}").fetchall()
            if rows:
                marks = ", ".join("?" for _ in columns)
                conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        for table in tables:
            report.rows[table] = _verify(file, conn, table)
        _move_counters(file, conn)
    return report


def _tables_parents_first(file: sqlite3.Connection) -> list[str]:
    names = [
        row[0]
        for row in file.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if row[0] not in NOT_COPIED
    ]
    parents = {
        name: {row[2] for row in file.execute(f"PRAGMA foreign_key_list({name})") if row[2] != name} for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = sorted(name for name in names if name not in ordered and parents[name] <= set(ordered))
        if not ready:
            raise CopyMismatch(f"the control plane's foreign keys form a cycle: {sorted(set(names) - set(ordered))}")
        ordered += ready
    return ordered


def _columns(file: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in file.execute(f"PRAGMA table_info({table})")]


def _check_same_columns(conn: ControlConnection, table: str, columns: Sequence[str]) -> None:
    found = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    ]
    if sorted(found) != sorted(columns):
        raise CopyMismatch(f"{table}: the file has columns {sorted(columns)}, PostgreSQL {sorted(found)}")


def _verify(file: sqlite3.Connection, conn: ControlConnection, table: str) -> int:
    """Every row of `table`, from both, in the same order: equal, or CopyMismatch."""
    query = f"SELECT {', '.join(_columns(file, table))} FROM {table}"
    # Sorted here, not by ORDER BY: the two engines may collate text differently.
    expected = sorted((tuple(row) for row in file.execute(query)), key=_sort_key)
    found = sorted((tuple(row) for row in conn.execute(query).fetchall()), key=_sort_key)
    if expected != found:
        first = next(
            (index for index, (a, b) in enumerate(zip(expected, found, strict=False)) if a != b),
            min(len(expected), len(found)),
        )
        raise CopyMismatch(
            f"{table}: {len(expected)} row(s) in the file, {len(found)} read back from PostgreSQL; they differ"
            f" from row {first + 1} on: nothing was committed"
        )
    return len(expected)


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    return tuple((value is None, 0 if value is None else value) for value in row)


def _move_counters(file: sqlite3.Connection, conn: ControlConnection) -> None:
    assert isinstance(conn, PostgresConnection)  # copy_control_plane's target
    given = dict(file.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    for table in IDENTITY_TABLES:
        highest = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0
        highest = max(highest, int(given.get(table, 0) or 0))
        if highest:
            conn.execute_native(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", (highest,))
    generation = file.execute("SELECT value FROM control_generation WHERE id = 1").fetchone()[0]
    conn.execute("UPDATE control_generation SET value = max(value, ?) + 1 WHERE id = 1", (generation,))
