"""What a generated schema is made of: the access mode, and the map from GraphQL names back to real
tables and columns (SQL is always written with the real, quoted names, never the encoded ones)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema

from airsequel.core.sql.introspection import Table
from airsequel.core.sql.value_kinds import ValueKind


class Mode(str, Enum):
    READ_WRITE = "read-write"
    READ_ONLY = "read-only"
    WRITE_ONLY = "write-only"
    INSERT_ONLY = "insert-only"
    READ_INSERT = "read-insert"  # may read (a public database, a read grant) and insert, not change rows

    @property
    def inserts_only(self) -> bool:
        """Whether its writes are inserts of new rows only (no update, delete or upsert)."""
        return self in (Mode.INSERT_ONLY, Mode.READ_INSERT)

    @property
    def can_read(self) -> bool:
        return self in (Mode.READ_WRITE, Mode.READ_ONLY, Mode.READ_INSERT)

    @property
    def can_write(self) -> bool:
        return self != Mode.READ_ONLY


@dataclass
class ColumnBinding:
    name: str  # the real column name (or the rowid alias)
    field: str  # its GraphQL field name
    kind: ValueKind
    nullable: bool
    is_rowid: bool = False
    writable: bool = True
    # An insert may leave it out: nullable, with a default, or SQLite assigns it (the rowid and its
    # INTEGER PRIMARY KEY alias). The others are required fields of T_insert_input, as in AirGQL.
    omittable: bool = True


@dataclass
class Relationship:
    field: str
    many: bool  # True: incoming foreign key (a list); False: outgoing (one object)
    target: str  # real name of the other table
    local_columns: list[str]
    target_columns: list[str]


@dataclass
class TableBinding:
    table: Table
    base: str  # encoded table name: the T in T_row, insert_T, ...
    columns: dict[str, ColumnBinding] = field(default_factory=dict)  # by GraphQL field name
    relationships: dict[str, Relationship] = field(default_factory=dict)
    aggregates: dict[str, Relationship] = field(default_factory=dict)  # R_aggregate fields, by field name
    key: list[ColumnBinding] = field(default_factory=list)  # the _by_pk arguments
    rowid: ColumnBinding | None = None
    row_type: GraphQLObjectType | None = None
    # The names of update_T_by_pk's columns-to-set argument and of its AirGQL spelling (`_set` and
    # `set`, with `_` appended while a key column has the name).
    set_args: tuple[str, str] = ("_set", "set")

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def built_row_type(self) -> GraphQLObjectType:
        """`row_type`, which build_schema makes for every table before any field refers to it."""
        assert self.row_type is not None, f"The row type of {self.name!r} is used before it is built"
        return self.row_type

    def column_by_name(self, name: str) -> ColumnBinding | None:
        return next((c for c in self.columns.values() if c.name == name), None)


@dataclass
class RootField:
    kind: str  # list | by_pk | aggregate | group_by | insert | update | delete | update_by_pk | delete_by_pk
    table: TableBinding


@dataclass
class GeneratedSchema:
    schema: GraphQLSchema
    mode: Mode
    tables: dict[str, TableBinding]  # by real table name
    row_types: dict[str, TableBinding]  # by GraphQL row type name
    roots: dict[tuple[str, str], RootField]  # (operation, field name)
    introspection_sizes: Any = None  # limits.IntrospectionSizes, computed when first needed
