"""What a hosted file contains: tables, views, columns, keys, foreign keys, unique indexes.

Read with SQLite's own introspection (`sqlite_master`, `pragma_table_list`, `pragma_table_xinfo`,
`pragma_index_list`, `pragma_index_info`, `pragma_foreign_key_list`) in one read transaction.

The tables a user sees: every table and view but SQLite's own (`sqlite_*`), the server's
(Litestream's) and the shadow tables of virtual tables (`notes_fts_data`, `_idx`, `_content`,
`_docsize`, `_config` of an FTS5 table `notes_fts`; R-tree's `_node`, `_parent`, `_rowid`), which
hold a virtual table's data and are reached through it: SQLite names them itself (`pragma_table_list`
type `shadow`). One vocabulary says what each listed one is, everywhere (the database list, the table
API, the web pages): `tableType` "Table", "View" or "VirtualTable".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.server_tables import is_server_table

ROWID_ALIASES = ("rowid", "_rowid_", "oid")


@dataclass
class Column:
    name: str
    declared_type: str
    not_null: bool
    default: str | None
    pk_position: int  # 0 when not part of the primary key, else 1-based position
    hidden: int  # 0 normal, 1 hidden (virtual table), 2/3 generated (virtual/stored)

    @property
    def is_generated(self) -> bool:
        return self.hidden in (2, 3)


@dataclass
class ForeignKey:
    id: int
    target_table: str
    columns: list[str]
    target_columns: list[str | None]  # None: the target's primary key
    on_update: str = "NO ACTION"
    on_delete: str = "NO ACTION"


@dataclass
class Table:
    name: str
    kind: str  # "table" | "view"
    sql: str | None
    columns: list[Column]
    without_rowid: bool = False
    is_virtual: bool = False
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    unique_column_sets: list[list[str]] = field(default_factory=list)
    # Why SQLite cannot read this view (or virtual table), e.g. "unsafe use of load_extension()";
    # None for every readable one. Only `read_tables(..., with_unreadable=True)` returns such tables.
    unreadable: str | None = None

    @property
    def is_view(self) -> bool:
        return self.kind == "view"

    @property
    def table_type(self) -> str:
        return table_type(self.kind, is_virtual=self.is_virtual)

    @property
    def primary_key(self) -> list[str]:
        pk = sorted((c for c in self.columns if c.pk_position), key=lambda c: c.pk_position)
        return [c.name for c in pk]

    @property
    def rowid_name(self) -> str | None:
        """The name under which the rowid is reachable, or None (views, WITHOUT ROWID, all aliases taken)."""
        if self.is_view or self.without_rowid:
            return None
        taken = {c.name.lower() for c in self.columns}
        return next((alias for alias in ROWID_ALIASES if alias not in taken), None)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


TABLE, VIEW, VIRTUAL_TABLE = "Table", "View", "VirtualTable"


def table_type(kind: str, *, is_virtual: bool) -> str:
    """The `tableType` of a listed table: "View", "VirtualTable" or "Table"."""
    return VIEW if kind == "view" else VIRTUAL_TABLE if is_virtual else TABLE


def is_internal_table(name: str, virtual_tables: set[str], shadow_tables: set[str] | None = None) -> bool:
    """sqlite_* tables, the server's own (Litestream's) and the shadow tables of virtual tables are
    hidden. `shadow_tables`: as SQLite names them (`kinds_of`); None: known by their names' suffixes."""
    if name.startswith("sqlite_") or is_server_table(name):
        return True
    if shadow_tables is not None:
        return name in shadow_tables
    return any(name.startswith(f"{vt}_") and name[len(vt) + 1 :] in _SHADOW_SUFFIXES for vt in virtual_tables)


def kinds_of(conn: sqlite3.Connection) -> dict[str, str] | None:
    """Each object's kind as `pragma_table_list` says it ('table', 'view', 'virtual', 'shadow'), or None
    where SQLite cannot say (older than 3.37, or the schema cannot be read that way)."""
    try:
        return {
            name: kind for name, kind in conn.execute("SELECT name, type FROM pragma_table_list WHERE schema = 'main'")
        }
    except sqlite3.Error:
        return None


def listed_tables(conn: sqlite3.Connection) -> list[dict[str, str]]:
    """The tables a user sees, in sqlite_master order, as the database list shows them:
    `{"name", "tableType"}` (no columns read: cheap for a file of many tables)."""
    objects = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY rowid")
    kinds = kinds_of(conn)
    listed = [(kind, name, sql) for kind, name, sql in objects.fetchall()]
    virtual = _virtual_tables(listed, kinds)
    shadow = None if kinds is None else {name for name, kind in kinds.items() if kind == "shadow"}
    return [
        {"name": name, "tableType": table_type(kind, is_virtual=name in virtual)}
        for kind, name, _sql in listed
        if not is_internal_table(name, virtual, shadow)
    ]


def _virtual_tables(objects: list[tuple[str, str, str | None]], kinds: dict[str, str] | None) -> set[str]:
    if kinds is not None:
        return {name for name, kind in kinds.items() if kind == "virtual"}
    return {name for _kind, name, sql in objects if sql and sql.upper().startswith("CREATE VIRTUAL TABLE")}


def may_list_shadow_tables(tables: list[dict[str, str]]) -> bool:
    """Whether a stored table list (`{"name", "tableType"}`) may hold shadow tables: one listed name is
    another's plus a shadow suffix (`notes_fts` and `notes_fts_data`). Lists written before shadow
    tables were left out look like this; the file then says for sure."""
    names = {table["name"] for table in tables}
    return any(
        name.rsplit("_", 1)[0] in names and name.rsplit("_", 1)[1] in _SHADOW_SUFFIXES for name in names if "_" in name
    )


_SHADOW_SUFFIXES = {
    "content",
    "docsize",
    "segdir",
    "segments",
    "stat",
    "data",
    "idx",
    "config",  # fts3/4/5
    "node",
    "parent",
    "rowid",  # rtree
}


def read_tables(conn: sqlite3.Connection, *, with_unreadable: bool = False) -> list[Table]:
    """Every user table and view in sqlite_master order.

    A view SQLite cannot compile (one that calls load_extension(), refused under trusted_schema=OFF, or
    one whose table is gone) is left out, so that everything else in the file keeps working; with
    `with_unreadable` it is included, without columns, its `unreadable` saying why."""
    objects = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY rowid"
    ).fetchall()
    kinds = kinds_of(conn)
    virtual = _virtual_tables(objects, kinds)
    shadow = None if kinds is None else {name for name, kind in kinds.items() if kind == "shadow"}
    tables: list[Table] = []
    for kind, name, sql in objects:
        if is_internal_table(name, virtual, shadow):
            continue
        try:
            columns = [
                Column(
                    name=row[1],
                    declared_type=row[2] or "",
                    not_null=bool(row[3]),
                    default=row[4],
                    pk_position=row[5],
                    hidden=row[6],
                )
                for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (name,))
            ]
        except sqlite3.OperationalError as error:
            if with_unreadable:
                tables.append(Table(name=name, kind=kind, sql=sql, columns=[], unreadable=str(error)))
            continue
        table = Table(
            name=name, kind=kind, sql=sql, columns=[c for c in columns if c.hidden != 1], is_virtual=name in virtual
        )
        if kind == "table" and not table.is_virtual:
            table.without_rowid = _is_without_rowid(conn, name)
            table.foreign_keys = _foreign_keys(conn, name)
            table.unique_column_sets = _unique_column_sets(conn, name)
        tables.append(table)
    return tables


def _is_without_rowid(conn: sqlite3.Connection, name: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM {quote_identifier(name)} LIMIT 0")
        return False
    except sqlite3.OperationalError:
        return True


def _foreign_keys(conn: sqlite3.Connection, name: str) -> list[ForeignKey]:
    keys: dict[int, ForeignKey] = {}
    for row in conn.execute(
        'SELECT id, seq, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq',
        (name,),
    ):
        key = keys.setdefault(row[0], ForeignKey(row[0], row[2], [], [], row[5], row[6]))
        key.columns.append(row[3])
        key.target_columns.append(row[4])
    return list(keys.values())


def _unique_column_sets(conn: sqlite3.Connection, name: str) -> list[list[str]]:
    sets: list[list[str]] = []
    for index_name, unique, partial in conn.execute(
        'SELECT name, "unique", partial FROM pragma_index_list(?)', (name,)
    ):
        if unique and not partial:
            columns = [
                row[0] for row in conn.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index_name,))
            ]
            if all(columns):
                sets.append(columns)
    return sets
