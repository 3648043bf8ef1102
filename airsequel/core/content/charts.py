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
        """A new chart or dashboard from its definition as the request body gives it."""
        definition = CHECKS[_checked_kind(kind)](body)
        ulid = ids.new_ulid()
        self.control.execute(
            f"INSERT INTO {kind}(ulid, file_key, definition_json) VALUES (?, ?, ?)",
            (ulid, record.file_key, orjson.dumps(definition).decode()),
        )
        return {**definition, "ulid": ulid}

    def update(self, kind: str, record: DatabaseRecord, ulid: str, body: dict[str, Any]) -> None:
        definition = CHECKS[_checked_kind(kind)](body)
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
        """The chart drawn as SVG from its table's data, read in one snapshot."""
        chart = next((c for c in self.of_database("charts", record) if c["ulid"] == ulid), None)
        if chart is None:
            raise NotFound("No such chart")
        with self.hosting.read_snapshot(record) as conn:
            labels, series = chart_data(conn, chart)
        return render_svg(chart, labels, series)


def _checked_kind(kind: str) -> str:
    if kind not in CHECKS:
        raise ValueError(f"Unknown kind {kind!r}: use 'charts' or 'dashboards'")
    return kind


def chart_data(conn: sqlite3.Connection, chart: dict[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    """(labels, one list of values per series) from the chart's table."""
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
        x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        x2, y2 = cx + r * math.cos(angle + sweep), cy + r * math.sin(angle + sweep)
        large = 1 if sweep > math.pi else 0
        color = COLORS[index % len(COLORS)]
        path = (
            f"M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} A{r:.1f},{r:.1f} 0 {large} 1 {x2:.1f},{y2:.1f} Z"
            if len(positives) > 1
            else f"M{cx - r:.1f},{cy:.1f} a{r:.1f},{r:.1f} 0 1 0 {2 * r:.1f},0 a{r:.1f},{r:.1f} 0 1 0 {-2 * r:.1f},0"
        )
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


def _short(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
