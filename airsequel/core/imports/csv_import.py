"""Turning an uploaded CSV file into a table, streaming, with inferred column types.

Columns are INTEGER, REAL or TEXT, decided by every value in the column (never a sample), and the
import is one transaction: an error leaves nothing behind. Memory stays constant: rows are read,
checked and written in batches (`csv_reading`); a big file is read by a helper process while this
one inserts (`csv_reader_process`).

The usual file settles its column types in the first batch, so the import makes one pass: the table
is created with the types of the first batch and rows go straight into it, each batch checked before
it is written. When a later batch changes a type (a column of numbers meets a word, an empty column
fills in), the rows written so far would have been converted for the wrong type: the table is
dropped, the rest of the file is read only to settle the types, and a second pass writes every row
again with the final types.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Generator
from contextlib import closing
from pathlib import Path

from airsequel.core.errors import Unprocessable
from airsequel.core.imports.csv_reader_process import ReaderFailed, batches_from_process
from airsequel.core.imports.csv_reading import CsvBatch, read_batches, read_header
from airsequel.core.sql.column_types import TEXT, TYPE_NAMES
from airsequel.core.sql.script import quote_identifier

ROWS_PER_STATEMENT = 200  # multi-row INSERTs: fewer statement steps and GIL hand-offs than one row each
HELPER_PROCESS_MIN_BYTES = 4 * 1024 * 1024  # smaller files are read faster than a process starts

log = logging.getLogger(__name__)


RESERVED_PREFIXES = ("sqlite_", "_litestream_")  # SQLite's own names; Litestream's tables in a replicated file


def table_name_for(filename: str | None) -> str:
    """The table is named after the uploaded file, without its extension. A name SQLite reserves
    (`sqlite_master.csv`) or that Litestream's own tables use gets the prefix `csv_`."""
    stem = Path(filename or "").name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = stem.strip() or "data"
    if stem.lower().startswith(RESERVED_PREFIXES):
        stem = f"csv_{stem}"
    return stem


def import_csv(
    conn: sqlite3.Connection, source: Path, table: str, *, helper_process_min_bytes: int = HELPER_PROCESS_MIN_BYTES
) -> int:
    """Create `table` in `conn` from the CSV file `source` in one transaction; return the row count.

    Empty fields become NULL in numeric columns and stay empty strings in TEXT columns.
    """
    use_helper = source.stat().st_size >= helper_process_min_bytes
    conn.execute("BEGIN")
    try:
        count = _import(conn, source, table, use_helper)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return count


def _open(source: Path, use_helper: bool) -> tuple[list[str], Generator[CsvBatch, None, None]]:
    if use_helper:
        try:
            return batches_from_process(source)
        except (OSError, ReaderFailed) as error:
            log.warning("reading %s in-process: the helper process did not start (%s)", source.name, error)
    return read_header(source), read_batches(source)


def _import(conn: sqlite3.Connection, source: Path, table: str, use_helper: bool) -> int:
    header, opened = _open(source, use_helper)
    with closing(opened) as batches:
        most = conn.getlimit(sqlite3.SQLITE_LIMIT_COLUMN)
        if len(header) > most:
            raise Unprocessable(f"The CSV file has {len(header)} columns; a SQLite table holds at most {most}")
        first = next(batches, None)
        guessed = first.types if first else [TEXT] * len(header)
        writer = _TableWriter(conn, table, header, guessed)
        if first:
            writer.write(first)
        final = guessed
        for batch in batches:
            final = batch.types
            if final != guessed:
                break
            writer.write(batch)
        else:
            return writer.count
        # A type changed after rows were written with the guess: settle the types, then write again.
        for batch in batches:
            final = batch.types
    writer.drop()
    writer = _TableWriter(conn, table, header, final)
    with closing(_open(source, use_helper)[1]) as batches:
        for batch in batches:
            writer.write(batch)
    return writer.count


class _TableWriter:
    """Creates the typed table and inserts batches of text values into it."""

    def __init__(self, conn: sqlite3.Connection, table: str, header: list[str], types: list[int]) -> None:
        self.conn, self.count, self.width = conn, 0, len(header)
        self.name = f"main.{quote_identifier(table)}"
        definitions = ", ".join(f"{quote_identifier(name)} {TYPE_NAMES[kind]}" for name, kind in zip(header, types))
        conn.execute(f"CREATE TABLE {self.name} ({definitions})")
        one_row = "(" + ", ".join("?" if kind == TEXT else "NULLIF(?, '')" for kind in types) + ")"
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self.rows_per_statement = max(1, min(ROWS_PER_STATEMENT, limit // self.width))
        self.insert_one = f"INSERT INTO {self.name} VALUES {one_row}"
        self.insert_many = f"INSERT INTO {self.name} VALUES {', '.join([one_row] * self.rows_per_statement)}"

    def write(self, batch: CsvBatch) -> None:
        values, width = batch.values, self.width
        per_statement = self.rows_per_statement * width
        whole = len(values) - len(values) % per_statement
        if whole:
            self.conn.executemany(
                self.insert_many, [values[at : at + per_statement] for at in range(0, whole, per_statement)]
            )
        if whole < len(values):
            self.conn.executemany(self.insert_one, [values[at : at + width] for at in range(whole, len(values), width)])
        self.count += batch.rows

    def drop(self) -> None:
        self.conn.execute(f"DROP TABLE {self.name}")
