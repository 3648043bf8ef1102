"""Turning an uploaded CSV file into a table, streaming, with inferred column types.

Two passes over the file on disk, each in constant memory: the first checks the shape (every row has
as many fields as the header) and infers each column's type (INTEGER, REAL or TEXT); the second
inserts the rows in batches. The caller owns the transaction, so an error leaves nothing behind.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from airsequel.core.errors import Unprocessable
from airsequel.core.sql_script import quote_identifier

BATCH_ROWS = 5_000
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")
# Reals have a point or an exponent; a long run of digits alone would lose precision as a REAL.
_REAL = re.compile(r"-?((0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+|(0|[1-9][0-9]*)(\.[0-9]*)?[eE][-+]?[0-9]+)")

INTEGER, REAL, TEXT = 0, 1, 2
TYPE_NAMES = {INTEGER: "INTEGER", REAL: "REAL", TEXT: "TEXT"}

csv.field_size_limit(min(sys.maxsize, 64 * 1024 * 1024))


def table_name_for(filename: str | None) -> str:
    """The table is named after the uploaded file, without its extension."""
    stem = Path(filename or "").name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = stem.strip()
    return stem or "data"


def import_csv(conn: sqlite3.Connection, source: Path, table: str) -> int:
    """Create `table` in `conn` from the CSV file `source`; return the number of rows imported."""
    header, types = _infer(source)
    columns = ", ".join(f"{quote_identifier(name)} {TYPE_NAMES[kind]}" for name, kind in zip(header, types))
    conn.execute(f"CREATE TABLE {quote_identifier(table)} ({columns})")
    numeric = [index for index, kind in enumerate(types) if kind != TEXT]
    insert = (
        f"INSERT INTO {quote_identifier(table)} VALUES ({', '.join('?' for _ in header)})"
    )
    count = 0
    batch: list[list[str | None]] = []
    for row in _rows(source):
        for index in numeric:
            if row[index] == "":
                row[index] = None  # type: ignore[call-overload]
        batch.append(row)  # type: ignore[arg-type]
        if len(batch) >= BATCH_ROWS:
            conn.executemany(insert, batch)
            count += len(batch)
            batch.clear()
    if batch:
        conn.executemany(insert, batch)
        count += len(batch)
    return count


def _infer(source: Path) -> tuple[list[str], list[int]]:
    rows = _rows(source, with_header=True)
    try:
        raw_header = next(rows)
    except StopIteration:
        raise Unprocessable("The CSV file is empty: it needs a header row") from None
    header = _column_names(raw_header)
    types = [INTEGER] * len(header)
    seen_value = [False] * len(header)
    undecided = list(range(len(header)))
    for row in rows:
        if not undecided:
            continue
        still: list[int] = []
        for index in undecided:
            value = row[index]
            if value == "":
                still.append(index)
                continue
            seen_value[index] = True
            if types[index] == INTEGER and not _INTEGER.fullmatch(value):
                types[index] = REAL
            if types[index] == REAL and not (_REAL.fullmatch(value) or _INTEGER.fullmatch(value)):
                types[index] = TEXT
                continue
            still.append(index)
        undecided = still
    # A column with no value at all holds text.
    return header, [kind if seen else TEXT for kind, seen in zip(types, seen_value)]


def _column_names(raw: list[str]) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for position, value in enumerate(raw, start=1):
        name = value.strip() or f"column_{position}"
        base, suffix = name, 2
        while name.lower() in taken:
            name = f"{base}_{suffix}"
            suffix += 1
        taken.add(name.lower())
        names.append(name)
    return names


def _rows(source: Path, *, with_header: bool = False) -> Iterator[list[str]]:
    """The data rows (and the header first, if asked), checked for shape and encoding."""
    with open(source, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        width: int | None = None
        try:
            for row in reader:
                if width is None:
                    if not any(field.strip() for field in row):
                        continue  # blank lines before the header
                    width = len(row)
                    if with_header:
                        yield row
                    continue
                if len(row) != width:
                    if not row:
                        continue  # blank line
                    raise Unprocessable(
                        f"CSV line {reader.line_num}: expected {width} fields like the header, found {len(row)}"
                    )
                yield row
        except UnicodeDecodeError as error:
            raise Unprocessable(
                f"The CSV file is not valid UTF-8 (near line {reader.line_num + 1}): {error.reason}"
            ) from None
        except csv.Error as error:
            raise Unprocessable(f"CSV line {reader.line_num}: {error}") from None
