"""Writing table rows to files: CSV, NDJSON, JSON and XLSX, streaming, in constant memory.

Values: BLOBs become base64 (`{"$base64": ...}` in JSON and NDJSON, plain base64 text in CSV and
XLSX); integers beyond what a spreadsheet number holds exactly (2**53) are written as text in XLSX.
An XLSX sheet holds at most 1,048,576 rows (one is the header): longer tables continue on more
sheets named "<table> (2)", "<table> (3)", ...
"""

from __future__ import annotations

import base64
import csv
import io
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import xlsxwriter

from airsequel.core.sql.runner import holds_blobs, json_cell

MEDIA_TYPES = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/json": "json",
    "application/xlsx": "xlsx",
}
XLSX_MAX_ROWS = 1_048_576
XLSX_EXACT_INT = 2**53
_SHEET_FORBIDDEN = set("[]:*?/\\")

BATCH_ROWS = 10_000  # rows fetched, converted and written at a time

Progress = Callable[[int], None]


def batches(cursor: sqlite3.Cursor) -> Iterator[list[Any]]:
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield batch


def csv_chunks(cursor: sqlite3.Cursor) -> Iterator[tuple[str, int]]:
    """The header line, then the rows as CSV text a batch at a time, with each batch's row count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column[0] for column in cursor.description])
    for batch in batches(cursor):
        writer.writerows(_blobs_as_base64(batch))
        yield buffer.getvalue(), len(batch)
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue(), 0  # the header of an empty table


def csv_text(columns: Sequence[str], rows: list[Any]) -> str:
    """A header line and `rows` as CSV text (CRLF lines, BLOBs as base64), as the table export writes them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(_blobs_as_base64(rows))
    return buffer.getvalue()


def _blobs_as_base64(batch: list[Any]) -> list[Any]:
    """Rows as the csv module should write them: a batch without BLOBs (the usual) as it is."""
    if not holds_blobs(batch):
        return batch
    return [[base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in row] for row in batch]


def _json_objects(columns: Sequence[str], batch: list[Any]) -> bytes:
    """A batch of rows as one JSON array of objects (orjson calls back only for BLOBs)."""
    return orjson.dumps([dict(zip(columns, row)) for row in batch], default=json_cell)


def write_csv(path: Path, cursor: sqlite3.Cursor, progress: Progress) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        for text, rows in csv_chunks(cursor):
            handle.write(text)
            progress(rows)


def write_ndjson(path: Path, cursor: sqlite3.Cursor, progress: Progress) -> None:
    columns = [column[0] for column in cursor.description]
    line = orjson.OPT_APPEND_NEWLINE
    with open(path, "wb") as handle:
        for batch in batches(cursor):
            for row in batch:  # written one by one: a batch of small bytes objects costs more to allocate
                handle.write(orjson.dumps(dict(zip(columns, row)), default=json_cell, option=line))
            progress(len(batch))


def write_json(path: Path, cursor: sqlite3.Cursor, progress: Progress) -> None:
    """One JSON array: the batches' arrays joined."""
    columns = [column[0] for column in cursor.description]
    with open(path, "wb") as handle:
        handle.write(b"[")
        first = True
        for batch in batches(cursor):
            if not first:
                handle.write(b",")
            first = False
            handle.write(_json_objects(columns, batch)[1:-1])
            progress(len(batch))
        handle.write(b"]\n")


class XlsxBook:
    """One workbook, a sheet (or several) per table, written in constant-memory mode."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.names: set[str] = set()

    def add_table(self, title: str, cursor: sqlite3.Cursor, progress: Progress) -> None:
        columns = [column[0] for column in cursor.description]
        part = 1
        sheet = self._sheet(title, part, columns)
        row_number = 1
        for batch in batches(cursor):
            for row in batch:
                if row_number >= XLSX_MAX_ROWS:
                    part += 1
                    sheet = self._sheet(title, part, columns)
                    row_number = 1
                for column_number, value in enumerate(row):
                    sheet.write(row_number, column_number, _xlsx_value(value))
                row_number += 1
            progress(len(batch))

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
