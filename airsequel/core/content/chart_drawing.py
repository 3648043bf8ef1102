"""Charts drawn as SVG on the server: bars, lines and pies from labels and series, or a placeholder
that says why a chart cannot be drawn. No chart library, nothing loaded at run time; every text is
escaped."""

from __future__ import annotations

import math
from html import escape
from typing import Any

COLORS = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#475569"]


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
