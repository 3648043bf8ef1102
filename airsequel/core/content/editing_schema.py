"""What the table page's editing forms need to know of a table beyond its table object: each column's default
(the SQL text SQLite will use when an insert leaves the column out), its place in the primary key, whether it
is generated, and the key the page finds a row by (the rowid, or all primary-key columns of a WITHOUT ROWID
table); and the column types a new column may get."""

from __future__ import annotations

from typing import Any

from airsequel.core.sql.introspection import Table
from airsequel.core.sql.table_schema import OTHER_TYPES, STORAGE_TYPES


def editing_schema(table: Table) -> dict[str, Any]:
    pk = table.primary_key
    rowid_alias = (
        not table.without_rowid
        and len(pk) == 1
        and any(c.name == pk[0] and c.declared_type.upper() == "INTEGER" for c in table.columns)
    )
    return {
        "columns": [
            {
                "name": c.name,
                "type": c.declared_type,
                "notNull": c.not_null,
                "default": c.default,
                "primaryKey": c.pk_position,
                "rowidAlias": rowid_alias and c.name == pk[0],
                "generated": c.is_generated,
            }
            for c in table.columns
            if c.hidden != 1  # a virtual table's hidden columns are not the rows' own
        ],
        "withoutRowid": table.without_rowid,
        "primaryKey": pk,
        "storageTypes": list(STORAGE_TYPES),
        "otherTypes": list(OTHER_TYPES),
    }
