"""Writing table rows to files: CSV, NDJSON, JSON and XLSX, streaming, in constant memory.

Values: BLOBs become base64 (`{"$base64": ...}` in JSON and NDJSON, plain base64 text in CSV and
XLSX); integers beyond what a spreadsheet number holds exactly (2**53) are written as text in XLSX.
An XLSX sheet holds at most 1,048,576 rows (one is the header): longer tables continue on more
sheets named "<table> (2)", "<table> (3)", ...
"""

from __future__ import annotations

import base64
import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import xlsxwriter

from airsequel.core.sql_runner import json_cell

MEDIA_TYPES = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/json": "json",
    "application/xlsx": "xlsx",
}
XLSX_MAX_ROWS = 1_048_576
XLSX_EXACT_INT = 2**53
_SHEET_FORBIDDEN = set('[]:*?/\\')

Progress = Callable[[int], None]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], progress: Progress) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in row])
            progress(1)


def write_ndjson(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], progress: Progress) -> None:
    with open(path, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps({c: json_cell(v) for c, v in zip(columns, row)}))
            handle.write(b"\n")
            progress(1)


def write_json(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], progress: Progress) -> None:
    with open(path, "wb") as handle:
        handle.write(b"[")
        first = True
        for row in rows:
            if not first:
                handle.write(b",\n")
            first = False
            handle.write(orjson.dumps({c: json_cell(v) for c, v in zip(columns, row)}))
            progress(1)
        handle.write(b"]\n")


class XlsxBook:
    """One workbook, a sheet (or several) per table, written in constant-memory mode."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                    "strings_to_formulas": False, "strings_to_urls": False})
        self.names: set[str] = set()

    def add_table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], progress: Progress) -> None:
        part = 1
        sheet = self._sheet(title, part, columns)
        row_number = 1
        for row in rows:
            if row_number >= XLSX_MAX_ROWS:
                part += 1
                sheet = self._sheet(title, part, columns)
                row_number = 1
            for column_number, value in enumerate(row):
                sheet.write(row_number, column_number, _xlsx_value(value))
            row_number += 1
            progress(1)

    def _sheet(self, title: str, part: int, columns: Sequence[str]) -> Any:
        name = "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in title).strip("'") or "Sheet"
        suffix = f" ({part})" if part > 1 else ""
        candidate = name[: 31 - len(suffix)] + suffix
        counter = 2
        while candidate.lower() in self.names:
            extra = f"~{counter}{suffix}"
            candidate = name[: 31 - len(extra)] + extra
            counter += 1
        self.names.add(candidate.lower())
        sheet = self.book.add_worksheet(candidate)
        for column_number, column in enumerate(columns):
            sheet.write_string(0, column_number, column)
        return sheet

    def close(self) -> None:
        self.book.close()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= XLSX_EXACT_INT:
        return str(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return value


WRITERS = {"csv": write_csv, "ndjson": write_ndjson, "json": write_json}
