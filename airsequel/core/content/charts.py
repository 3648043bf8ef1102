"""Charts and dashboards of a database (stored in the control plane), and the data each chart draws.

A chart names a table and its `headers`: the first is the label column, the others are plotted
(bar and line charts: one series each; pie charts: the first), from the table's first MAX_POINTS rows.
A chart with an `aggregate` ("count", "sum" or "avg") groups the rows by its label column instead and
plots one value per label: the number of rows (or of non-null values of the value column, when one
is named), or the sum or average of the value column, which must then be numeric. The SVG is drawn
by chart_drawing.py, on the server.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import orjson

from airsequel.core import ids
from airsequel.core.content.chart_drawing import render_placeholder, render_svg
from airsequel.core.errors import InvalidInput, NotFound
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.sql.introspection import Table, read_tables
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.sql.value_kinds import ValueKind, column_kind
from airsequel.core.storage.hosting import Hosting

__all__ = ["CHART_TYPES", "AGGREGATES", "Charts", "chart_columns", "render_svg", "summable"]

CHART_TYPES = ("BarChart", "LineChart", "PieChart")
AGGREGATES = ("count", "sum", "avg")
MAX_POINTS = 50
# Declared types whose values sum and average: numbers, booleans, and no type at all (SQLite's own choice).
SUMMABLE_KINDS = (ValueKind.INT, ValueKind.FLOAT, ValueKind.BOOLEAN, ValueKind.UNTYPED)


def summable(declared_type: str) -> bool:
    """Whether sum and avg make sense of a column of this declared type (TEXT and BLOB columns: no)."""
    return column_kind(declared_type) in SUMMABLE_KINDS


def checked_chart(body: dict[str, Any]) -> dict[str, Any]:
    chart_type = body.get("chartType", "BarChart")
    if chart_type not in CHART_TYPES:
        raise InvalidInput(f"chartType must be one of {', '.join(CHART_TYPES)}")
    headers = body.get("headers", [])
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        raise InvalidInput("headers must be a list of column names: the label column first, then the values")
    table, title = body.get("table"), body.get("title", "")
    if not isinstance(table, str) or not table:
        raise InvalidInput("table must name a table")
    if not isinstance(title, str):
        raise InvalidInput("title must be a string")
    rotation = body.get("labelRotation", 0)
    if isinstance(rotation, bool) or not isinstance(rotation, (int, float)) or not -90 <= rotation <= 90:
        raise InvalidInput("labelRotation must be a number of degrees from -90 to 90")
    chart = {
        "chartType": chart_type,
        "headers": headers,
        "hideNullValues": bool(body.get("hideNullValues", False)),
        "labelRotation": rotation,
        "table": table,
        "title": title,
    }
    aggregate = body.get("aggregate")
    if aggregate is not None:  # stored only when given: a chart without one reads as the reference's fields
        if aggregate not in AGGREGATES:
            raise InvalidInput("aggregate must be one of count, sum, avg (or null for the rows as they are)")
        if not 1 <= len(headers) <= 2:
            raise InvalidInput(
                "An aggregated chart takes headers [label column, value column]"
                " (the value column may be left out for count)"
            )
        if aggregate != "count" and len(headers) < 2:
            raise InvalidInput(f"aggregate {aggregate} needs a value column: headers [label column, value column]")
        chart["aggregate"] = aggregate
    return chart


def checked_dashboard(body: dict[str, Any]) -> dict[str, Any]:
    charts, title = body.get("charts", []), body.get("title", "")
    if not isinstance(charts, list) or not all(isinstance(c, str) for c in charts):
        raise InvalidInput("charts must be a list of chart ids")
    if not isinstance(title, str):
        raise InvalidInput("title must be a string")
    return {"charts": charts, "title": title}


# What a chart's or a dashboard's definition must be, by kind (also the control plane table's name).
CHECKS = {"charts": checked_chart, "dashboards": checked_dashboard}


class Charts:
    """`kind` is "charts" or "dashboards". The caller's access to the database is checked before:
    reading needs read access, the rest write access."""

    def __init__(self, control: ControlPlane, hosting: Hosting) -> None:
        self.control = control
        self.hosting = hosting

    def of_database(self, kind: str, record: DatabaseRecord) -> list[dict[str, Any]]:
        _checked_kind(kind)
        rows = self.control.query(
            f"SELECT ulid, definition_json FROM {kind} WHERE file_key = ? ORDER BY ulid", (record.file_key,)
        )
        return [{**orjson.loads(row["definition_json"]), "ulid": row["ulid"]} for row in rows]

    def of_databases(self, records: list[DatabaseRecord]) -> list[tuple[DatabaseRecord, dict[str, Any]]]:
        """The charts of these databases (the caller may read each), by database in the given order,
        each database's charts oldest first."""
        by_key = {record.file_key: record for record in records}
        found: dict[str, list[dict[str, Any]]] = {}
        keys = list(by_key)
        for start in range(0, len(keys), 200):
            batch = keys[start : start + 200]
            for row in self.control.query(
                "SELECT ulid, file_key, definition_json FROM charts"
                f" WHERE file_key IN ({', '.join('?' for _ in batch)}) ORDER BY ulid",
                tuple(batch),
            ):
                chart = {**orjson.loads(row["definition_json"]), "ulid": row["ulid"]}
                found.setdefault(row["file_key"], []).append(chart)
        return [(by_key[key], chart) for key in keys for chart in found.get(key, [])]

    def create(self, kind: str, record: DatabaseRecord, body: dict[str, Any]) -> dict[str, Any]:
        """A new chart or dashboard from its definition as the request body gives it. A chart's table
        and columns must exist (400 naming what is missing): it would otherwise fail on every draw."""
        definition = self._checked(kind, record, body)
        ulid = ids.new_ulid()
        self.control.execute(
            f"INSERT INTO {kind}(ulid, file_key, definition_json) VALUES (?, ?, ?)",
            (ulid, record.file_key, orjson.dumps(definition).decode()),
        )
        return {**definition, "ulid": ulid}

    def update(self, kind: str, record: DatabaseRecord, ulid: str, body: dict[str, Any]) -> None:
        definition = self._checked(kind, record, body)
        if not self.control.execute(
            f"UPDATE {kind} SET definition_json = ? WHERE ulid = ? AND file_key = ?",
            (orjson.dumps(definition).decode(), ulid, record.file_key),
        ):
            raise NotFound(f"{kind[:-1].capitalize()} {ulid!r} does not exist")

    def delete(self, kind: str, record: DatabaseRecord, ulid: str) -> None:
        _checked_kind(kind)
        if not self.control.execute(f"DELETE FROM {kind} WHERE ulid = ? AND file_key = ?", (ulid, record.file_key)):
            raise NotFound(f"{kind[:-1].capitalize()} {ulid!r} does not exist")

    def svg(self, record: DatabaseRecord, ulid: str) -> str:
        """The chart drawn as SVG from its table's data, read in one snapshot. A chart whose table or
        columns were dropped or renamed since is drawn as a placeholder that says so (not an error on
        every page that shows it)."""
        chart = next((c for c in self.of_database("charts", record) if c["ulid"] == ulid), None)
        if chart is None:
            raise NotFound("No such chart")
        with self.hosting.read_snapshot(record) as conn:
            problem = chart_problem(conn, chart)
            if problem is not None:
                return render_placeholder(chart, problem)
            labels, series = chart_data(conn, chart)
        return render_svg(chart, labels, series)

    def _checked(self, kind: str, record: DatabaseRecord, body: dict[str, Any]) -> dict[str, Any]:
        definition = CHECKS[_checked_kind(kind)](body)
        if kind == "charts":
            with self.hosting.read_snapshot(record) as conn:  # the schema only: no row is read
                problem = chart_problem(conn, definition)
            if problem is not None:
                raise InvalidInput(problem)
        return definition


def _checked_kind(kind: str) -> str:
    if kind not in CHECKS:
        raise ValueError(f"Unknown kind {kind!r}: use 'charts' or 'dashboards'")
    return kind


def chart_columns(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Each table's and view's columns as a chart form offers them: name, declared type, and whether
    sum and avg take it."""
    return {
        table.name: [
            {"name": c.name, "type": c.declared_type, "summable": summable(c.declared_type)} for c in table.columns
        ]
        for table in read_tables(conn)
    }


def chart_problem(conn: sqlite3.Connection, chart: dict[str, Any]) -> str | None:
    """Why the chart cannot be drawn from this database (its table or columns do not exist), or None."""
    name = chart["table"]
    table = next((t for t in read_tables(conn, with_unreadable=True) if t.name == name), None)
    if table is None:
        return f"The table {name!r} does not exist in this database"
    if table.unreadable is not None:
        return f"The table {name!r} cannot be read: {table.unreadable}"
    missing = [header for header in chart["headers"] if table.column(header) is None]
    if missing:
        known = ", ".join(repr(c.name) for c in table.columns)
        return (
            f"The column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}"
            f" {'do' if len(missing) > 1 else 'does'} not exist in {name!r} (its columns: {known})"
        )
    return _aggregate_problem(table, chart)


def _aggregate_problem(table: Table, chart: dict[str, Any]) -> str | None:
    """sum and avg of a column that holds text or bytes by its declared type would add up nothing."""
    aggregate = chart.get("aggregate")
    if aggregate not in ("sum", "avg"):
        return None
    column = table.column(chart["headers"][1])
    assert column is not None  # chart_problem looked for every header first
    if summable(column.declared_type):
        return None
    return (
        f"aggregate {aggregate} needs a numeric value column: {column.name!r} is"
        f" {column.declared_type or 'untyped'} (choose a numeric column, or count)"
    )


def chart_data(conn: sqlite3.Connection, chart: dict[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    """(labels, one list of values per series) from the chart's table (see chart_problem first)."""
    if chart.get("aggregate"):
        return aggregated_data(conn, chart)
    table = find_table(conn, chart["table"])
    headers = chart["headers"] or [c.name for c in table.columns[:2]]
    for header in headers:
        if table.column(header) is None:
            raise InvalidInput(f"Column {header!r} does not exist in {chart['table']!r}")
    label, values = headers[0], headers[1:] or headers[:1]
    where = " AND ".join(f"{quote_identifier(v)} IS NOT NULL" for v in values) if chart["hideNullValues"] else ""
    rows = conn.execute(
        f"SELECT {', '.join(quote_identifier(h) for h in [label, *values])} FROM {quote_identifier(chart['table'])}"
        + (f" WHERE {where}" if where else "")
        + f" LIMIT {MAX_POINTS}"
    ).fetchall()
    labels = ["" if row[0] is None else str(row[0]) for row in rows]
    series = [[_number(row[i + 1]) for row in rows] for i in range(len(values))]
    return labels, series


def aggregated_data(conn: sqlite3.Connection, chart: dict[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    """One value per label: the rows grouped by the label column (NULL labels form a group of their
    own), ordered by label, the first MAX_POINTS groups. With hideNullValues, rows whose value is NULL
    are left out (and so are groups with no value left)."""
    headers = chart["headers"]
    label = quote_identifier(headers[0])
    value = quote_identifier(headers[1]) if len(headers) > 1 else None
    expression = {"count": f"count({value or '*'})", "sum": f"total({value})", "avg": f"avg({value})"}
    where = f" WHERE {value} IS NOT NULL" if value and chart["hideNullValues"] else ""
    rows = conn.execute(
        f"SELECT {label}, {expression[chart['aggregate']]} FROM {quote_identifier(chart['table'])}{where}"
        f" GROUP BY {label} ORDER BY {label} LIMIT {MAX_POINTS}"
    ).fetchall()
    labels = ["" if row[0] is None else str(row[0]) for row in rows]
    return labels, [[_number(row[1]) for row in rows]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
