"""The control plane's statements, written once in SQLite's SQL, as PostgreSQL runs them.

Every statement of the control plane (its migrations included) is written in SQLite's dialect, the
default engine, with `?` or `:name` parameters. On PostgreSQL each text is translated once by sqlglot
(cached by text) and the translation is what psycopg runs: one copy of every statement, not two kept by
hand. sqlglot turns the functions and operators into PostgreSQL's (`max(a, b)` into GREATEST, `IS ?`
into IS NOT DISTINCT FROM, `?` into `%s`); what it leaves as SQLite wrote it is done here, keeping
SQLite's meaning:

- column types: INTEGER is 64-bit (BIGINT), REAL is DOUBLE PRECISION, an INTEGER PRIMARY KEY is an
  identity column (ids are never reused, as AUTOINCREMENT gives on SQLite), STRICT goes;
- NOCASE: a `COLLATE NOCASE` column is CITEXT (case-insensitive comparisons and uniqueness, as on
  SQLite), `x COLLATE NOCASE` in a query compares `x::citext`;
- LIKE is case-insensitive on SQLite (for ASCII): ILIKE;
- INSERT OR IGNORE is ON CONFLICT DO NOTHING, LIMIT -1 is no limit;
- `%` in literals is doubled when parameters are bound (psycopg's placeholder syntax).

Statements that have no translation (SQLite's own tables, GLOB) are not written for both: the few
migrations that need them have a PostgreSQL form of their own (migrations.py).
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp


@lru_cache(maxsize=4096)
def to_postgres(sql: str, *, bound: bool) -> str:
    """`sql` (SQLite's dialect, one or several statements) as PostgreSQL runs it. `bound`: parameters
    are passed, so `%` in the text must be doubled."""
    statements = [
        translated.sql(dialect="postgres")
        for tree in sqlglot.parse(sql, read="sqlite")
        if tree is not None and (translated := tree.transform(_node)) is not None
    ]
    text = "; ".join(statements)
    return _escape_percent(text) if bound else text


def _node(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, exp.ColumnDef):
        return _column(node)
    if isinstance(node, exp.DataType):
        return _type(node)
    if isinstance(node, exp.StrictProperty):
        return None
    if isinstance(node, exp.Collate) and _is_nocase(node.expression):
        return exp.Cast(this=node.this, to=exp.DataType.build("CITEXT", udt=True))
    if isinstance(node, exp.Like):
        return exp.ILike(this=node.this, expression=node.expression)
    if isinstance(node, exp.Insert) and node.args.get("alternative") == "IGNORE":
        node.set("alternative", None)
        node.set("conflict", exp.OnConflict(action=exp.var("DO NOTHING")))
        return node
    if isinstance(node, exp.Ordered) and isinstance(node.parent, exp.OnConflict):
        return node.this  # a conflict target names columns: no ordering (which PostgreSQL refuses there)
    if isinstance(node, exp.Limit) and isinstance(node.expression, exp.Neg):
        return None
    return node


def _column(column: exp.ColumnDef) -> exp.ColumnDef:
    constraints = list(column.constraints)
    nocase = [c for c in constraints if isinstance(c.kind, exp.CollateColumnConstraint) and _is_nocase(c.kind.this)]
    kind = column.args.get("kind")
    if nocase:
        constraints = [c for c in constraints if c not in nocase]
        column.set("kind", exp.DataType.build("CITEXT", udt=True))
    elif kind is not None and kind.this == exp.DataType.Type.INT and _primary_key(constraints):
        # SQLite's rowid alias: an identity column (the id is the database's to give).
        constraints.insert(0, exp.ColumnConstraint(kind=exp.GeneratedAsIdentityColumnConstraint(this=False)))
        column.set("kind", exp.DataType.build("BIGINT"))
    column.set("constraints", constraints)
    return column


def _primary_key(constraints: list[exp.ColumnConstraint]) -> bool:
    return any(isinstance(c.kind, exp.PrimaryKeyColumnConstraint) for c in constraints)


def _type(data_type: exp.DataType) -> exp.DataType:
    if data_type.this == exp.DataType.Type.INT:
        return exp.DataType.build("BIGINT")  # SQLite's integers are 64-bit (sizes, counts, ids)
    if data_type.this in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        return exp.DataType.build("DOUBLE PRECISION")
    return data_type


def _is_nocase(node: exp.Expression | None) -> bool:
    return node is not None and node.name.upper() == "NOCASE"


def _escape_percent(text: str) -> str:
    """Double `%` except in psycopg's own placeholders (`%s`, `%(name)s`), which the translation made."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            if text.startswith("%s", i):
                out.append("%s")
                i += 2
                continue
            if text.startswith("%(", i):
                end = text.find(")s", i)
                if end != -1 and text[i + 2 : end].isidentifier():
                    out.append(text[i : end + 2])
                    i = end + 2
                    continue
            out.append("%%")
        else:
            out.append(char)
        i += 1
    return "".join(out)
