"""Charts and dashboards of a database (stored in the control plane) and their SVG rendering.

A chart names a table and its `headers`: the first is the label column, the others are plotted
(bar and line charts: one series each; pie charts: the first). The SVG is drawn here, on the
server, from at most MAX_POINTS rows: no chart library, nothing loaded at run time.
"""

from __future__ import annotations

import math
import sqlite3
from html import escape
from typing import Any

import orjson

from airsequel.core import ids
from airsequel.core.errors import InvalidInput, NotFound
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.sql.introspection import read_tables
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.storage.hosting import Hosting

CHART_TYPES = ("BarChart", "LineChart", "PieChart")
MAX_POINTS = 50
COLORS = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#475569"]


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
    return {
        "chartType": chart_type,
        "headers": headers,
        "hideNullValues": bool(body.get("hideNullValues", False)),
        "labelRotation": rotation,
        "table": table,
        "title": title,
    }


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
    return None


def chart_data(conn: sqlite3.Connection, chart: dict[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    """(labels, one list of values per series) from the chart's table (see chart_problem first)."""
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def render_svg(
    chart: dict[str, Any], labels: list[str], series: list[list[float | None]], width: int = 640, height: int = 320
) -> str:
    title = escape(chart["title"] or chart["table"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'font-family="system-ui, sans-serif">',
        f"<title>{title}</title>",
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">{title}</text>',
    ]
    if not labels:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#666">No data</text>')
    elif chart["chartType"] == "PieChart":
        parts.extend(_pie(labels, series[0], width, height))
    else:
        parts.extend(_axes_chart(chart, labels, series, width, height))
    parts.append("</svg>")
    return "".join(parts)


def render_placeholder(chart: dict[str, Any], problem: str, width: int = 640, height: int = 320) -> str:
    """A chart that cannot be drawn: its title and why, in place of the drawing."""
    title = escape(chart["title"] or chart["table"])
    lines = _wrapped(f"This chart cannot be drawn: {problem}. Change the chart or the table.", 80)
    text = "".join(
        f'<text class="placeholder" x="{width / 2}" y="{height / 2 - 8 * len(lines) + 16 * i:.0f}"'
        f' text-anchor="middle" font-size="13" fill="#666">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'font-family="system-ui, sans-serif"><title>{title}</title>'
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">{title}</text>'
        f'<rect x="8" y="32" width="{width - 16}" height="{height - 40}" fill="none" stroke="#ccc"'
        f' stroke-dasharray="4 4"/>{text}</svg>'
    )


def _wrapped(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word[: width * 2])
    return lines[:8]


def _axes_chart(
    chart: dict[str, Any], labels: list[str], series: list[list[float | None]], width: int, height: int
) -> list[str]:
    left, right, top, bottom = 72, 12, 32, 72
    rotation = abs(chart["labelRotation"]) or (45 if len(labels) > 8 else 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s if v is not None]
    high, low = max(values + [0.0]), min(values + [0.0])
    span = (high - low) or 1.0
    y = lambda v: top + plot_h - (v - low) / span * plot_h  # noqa: E731
    parts = [
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{y(high) + 4:.1f}" text-anchor="end" font-size="11">{_short(high)}</text>',
        f'<text x="{left - 6}" y="{y(low) + 4:.1f}" text-anchor="end" font-size="11">{_short(low)}</text>',
    ]
    step = plot_w / len(labels)
    for index, label in enumerate(labels):
        x = left + step * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 14}" font-size="11" text-anchor="end" '
            f'transform="rotate({-rotation} {x:.1f} {top + plot_h + 14})">{escape(label[:20])}</text>'
        )
    for number, values_of_series in enumerate(series):
        color = COLORS[number % len(COLORS)]
        if chart["chartType"] == "BarChart":
            bar = step * 0.8 / len(series)
            for index, value in enumerate(values_of_series):
                if value is None:
                    continue
                x = left + step * index + step * 0.1 + bar * number
                y0, y1 = sorted((y(0), y(value)))
                parts.append(
                    f'<rect class="bar" x="{x:.1f}" y="{y0:.1f}" width="{bar:.1f}" height="{max(y1 - y0, 0.5):.1f}" fill="{color}">'
                    f"<title>{escape(labels[index])}: {_short(value)}</title></rect>"
                )
        else:
            points = [
                f"{left + step * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(values_of_series) if v is not None
            ]
            parts.append(
                f'<polyline class="line" fill="none" stroke="{color}" stroke-width="2" points="{" ".join(points)}"/>'
            )
    return parts


def _pie(labels: list[str], values: list[float | None], width: int, height: int) -> list[str]:
    positives = [(label, v) for label, v in zip(labels, values) if v is not None and v > 0]
    total = sum(v for _, v in positives) or 1.0
    cx, cy, r = width / 3, height / 2 + 10, min(width, height) / 2 - 30
    parts, angle = [], -math.pi / 2
    for index, (label, value) in enumerate(positives):
        sweep = value / total * 2 * math.pi
        color = COLORS[index % len(COLORS)]
        path = _slice_path(cx, cy, r, angle, sweep) if len(positives) > 1 else _circle_path(cx, cy, r)
        parts.append(
            f'<path class="slice" d="{path}" fill="{color}"><title>{escape(label)}: {_short(value)}</title></path>'
        )
        legend_y = 50 + index * 18
        if legend_y < height - 10:
            parts.append(
                f'<rect x="{width * 0.66:.0f}" y="{legend_y - 10}" width="12" height="12" fill="{color}"/>'
                f'<text x="{width * 0.66 + 18:.0f}" y="{legend_y}" font-size="12">{escape(label[:24])}</text>'
            )
        angle += sweep
    return parts


def _point(cx: float, cy: float, r: float, angle: float) -> str:
    return f"{cx + r * math.cos(angle):.1f},{cy + r * math.sin(angle):.1f}"


def _slice_path(cx: float, cy: float, r: float, start: float, sweep: float) -> str:
    """A pie slice from the centre. A slice of more than half the pie is drawn as two arcs through its
    middle: one arc of nearly 360 degrees would start and end on (nearly) the same point, and an SVG
    arc between two equal points draws nothing."""
    arc = f"A{r:.1f},{r:.1f} 0 0 1"
    through = [start + sweep / 2, start + sweep] if sweep > math.pi else [start + sweep]
    arcs = " ".join(f"{arc} {_point(cx, cy, r, angle)}" for angle in through)
    return f"M{cx:.1f},{cy:.1f} L{_point(cx, cy, r, start)} {arcs} Z"


def _circle_path(cx: float, cy: float, r: float) -> str:
    """A whole pie (one slice of 100%): two half circles."""
    return f"M{cx - r:.1f},{cy:.1f} a{r:.1f},{r:.1f} 0 1 0 {2 * r:.1f},0 a{r:.1f},{r:.1f} 0 1 0 {-2 * r:.1f},0"


def _short(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
