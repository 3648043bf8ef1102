"""Turning an uploaded CSV file into a table, streaming, with inferred column types.

One pass over the file in constant memory checks the shape (every row has as many fields as the
header), infers each column's type (INTEGER, REAL or TEXT) and stages the rows; SQLite then copies
them into the typed table, all in one transaction: an error leaves nothing behind.
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
# Integers: an optional minus, no leading zero, at most 18 digits (exact as INTEGER). Reals have a point or
# an exponent; a long run of digits alone would lose precision as a REAL. Lists: NUL-separated, empty allowed.
_INTEGER = r"-?(?:0|[1-9][0-9]{0,17})"
_REAL = r"-?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?[eE][-+]?[0-9]+)"
_INTEGERS = re.compile(rf"(?:{_INTEGER})?(?:\x00(?:{_INTEGER})?)*")
_NUMBERS = re.compile(rf"(?:{_INTEGER}|{_REAL})?(?:\x00(?:{_INTEGER}|{_REAL})?)*")

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
    """Create `table` in `conn` from the CSV file `source` in one transaction; return the row count.

    One pass over the file: rows go as text into a staging table in a scratch file beside `source`
    while the column types are inferred; then SQLite copies them into the typed table, converting
    by column affinity (empty fields become NULL in numeric columns). `conn` must not be inside a
    transaction (SQLite cannot ATTACH there).
    """
    staging = source.with_name(source.name + ".staging")
    conn.execute("ATTACH DATABASE ? AS staging", (str(staging),))
    try:
        conn.execute("PRAGMA staging.journal_mode=OFF")
        conn.execute("PRAGMA staging.synchronous=OFF")
        conn.execute("BEGIN")
        try:
            count = _stage_and_copy(conn, source, table)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return count
    finally:
        conn.execute("DETACH DATABASE staging")
        staging.unlink(missing_ok=True)


def _stage_and_copy(conn: sqlite3.Connection, source: Path, table: str) -> int:
    rows = _rows(source, with_header=True)
    try:
        raw_header = next(rows)
    except StopIteration:
        raise Unprocessable("The CSV file is empty: it needs a header row") from None
    header = _column_names(raw_header)
    width = len(header)
    staged = [f"c{i}" for i in range(width)]
    conn.execute(f"CREATE TABLE staging.rows ({', '.join(staged)})")
    insert = f"INSERT INTO staging.rows VALUES ({', '.join('?' for _ in staged)})"
    types = [INTEGER] * width
    seen = [False] * width
    undecided = list(range(width))
    count = 0
    batch: list[list[str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            undecided = _infer_batch(batch, undecided, types, seen)
            conn.executemany(insert, batch)
            count += len(batch)
            batch = []
    if batch:
        undecided = _infer_batch(batch, undecided, types, seen)
        conn.executemany(insert, batch)
        count += len(batch)
    final = [kind if was_seen else TEXT for kind, was_seen in zip(types, seen)]
    columns = ", ".join(f"{quote_identifier(name)} {TYPE_NAMES[kind]}" for name, kind in zip(header, final))
    conn.execute(f"CREATE TABLE main.{quote_identifier(table)} ({columns})")
    values = ", ".join(f"NULLIF({c}, '')" if kind != TEXT else c for c, kind in zip(staged, final))
    conn.execute(f"INSERT INTO main.{quote_identifier(table)} SELECT {values} FROM staging.rows ORDER BY rowid")
    return count


def _infer_batch(batch: list[list[str]], undecided: list[int], types: list[int], seen: list[bool]) -> list[int]:
    """Narrow the types of the still-undecided columns with a batch of rows; return those still undecided.

    Each column's values are joined with NUL (which the csv module never lets into a field) and
    matched by one regular expression, so the check runs in C rather than once per cell in Python.
    """
    still: list[int] = []
    for index in undecided:
        joined = "\x00".join([row[index] for row in batch])
        if not seen[index] and joined.strip("\x00"):
            seen[index] = True
        if types[index] == INTEGER and not _INTEGERS.fullmatch(joined):
            types[index] = REAL
        if types[index] == REAL and not _NUMBERS.fullmatch(joined):
            types[index] = TEXT
            continue
        still.append(index)
    return still


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
