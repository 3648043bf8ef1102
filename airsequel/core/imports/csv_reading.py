"""Reading a CSV file as batches of checked rows, with the column types the rows so far decide.

Rows must have as many fields as the header (blank lines are skipped) and the file must be UTF-8
(a byte-order mark is allowed). A batch carries its rows flattened into one list of values (the
shape multi-row INSERTs take) and the column types after it: INTEGER, REAL or TEXT (see
`column_types`), a column that has held no value yet counting as TEXT.

Memory is bounded while the file is read, not after: the csv module builds a whole record (a list of
every field) before anyone can look at it, so a hostile header of 10 million columns on one 88 MB
line would cost about 800 MB before its width is checked. The lines go to the csv module through
`_BoundedLines`, which reads a line at most as long as a record may be and counts the separators of
the record being read: a header wider than SQLite's column limit (`MAX_COLUMNS`) or longer than
`MAX_HEADER_CHARS`, a row with more fields than the header, and a row longer than `MAX_RECORD_CHARS`
are refused (422) before their fields are built.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import IO

from airsequel.core.errors import Unprocessable
from airsequel.core.sql.column_types import INTEGER, TEXT, narrow_types

BATCH_ROWS = 5_000
MAX_RECORD_CHARS = 64 * 1024 * 1024  # one row (and so one field) of a CSV file
MAX_HEADER_CHARS = 1024 * 1024  # the header row: 2,000 names of 500 characters
# SQLite's SQLITE_LIMIT_COLUMN as this build has it (2,000 by default): a table holds no more columns.
with closing(sqlite3.connect(":memory:")) as _probe:
    MAX_COLUMNS = _probe.getlimit(sqlite3.SQLITE_LIMIT_COLUMN)
# Commas inside quotes are counted too until a record has this many more than it may: only then are
# its separators counted exactly (in Python, slower), so ordinary quoted commas cost nothing.
_SEPARATOR_SLACK = 10_000

csv.field_size_limit(MAX_RECORD_CHARS)


@dataclass
class CsvBatch:
    values: list[str]  # `rows` rows of the header's width, one after the other
    rows: int
    types: list[int]  # the column types decided by this batch and all before it


def read_header(source: Path) -> list[str]:
    """The column names: the first non-blank row, made unique and non-empty."""
    try:
        names = column_names(next(_rows(source)))
    except StopIteration:
        raise Unprocessable("The CSV file is empty: it needs a header row") from None
    if len(names) > MAX_COLUMNS:
        raise Unprocessable(f"The CSV header has {len(names)} columns: a SQLite table holds at most {MAX_COLUMNS}")
    return names


def read_batches(source: Path) -> Generator[CsvBatch, None, None]:
    """The data rows in batches (after `read_header`'s row)."""
    for rows, types in read_typed_rows(source):
        yield CsvBatch(list(chain.from_iterable(rows)), len(rows), types)


def read_typed_rows(source: Path) -> Iterator[tuple[list[list[str]], list[int]]]:
    """The data rows a batch at a time, each batch with the column types decided so far."""
    types: list[int] = []
    seen: list[bool] = []
    undecided: list[int] = []
    for batch in _row_batches(source):
        if not types:
            width = len(batch[0])
            types, seen, undecided = [INTEGER] * width, [False] * width, list(range(width))
        undecided = narrow_types(batch, undecided, types, seen)
        yield batch, [kind if was_seen else TEXT for kind, was_seen in zip(types, seen)]


def column_names(raw: list[str]) -> list[str]:
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


def _row_batches(source: Path) -> Iterator[list[list[str]]]:
    """The data rows, a batch at a time. The shape of a batch is checked at once; a batch with
    blank lines loses them, and a file with a ragged row is read again row by row to name its line."""
    with _reading(source) as csv_file:
        reader = csv_file.records()
        width = next((len(row) for row in reader if any(field.strip() for field in row)), None)
        if width is None:
            return
        csv_file.header_read(width)
        while batch := list(islice(reader, BATCH_ROWS)):
            if set(map(len, batch)) != {width}:
                batch = [row for row in batch if row]
                if any(len(row) != width for row in batch):
                    for _ in _rows(source):  # raises, naming the line
                        pass
                if not batch:
                    continue
            yield batch


def _rows(source: Path) -> Iterator[list[str]]:
    """The header row, then the data rows, checked for shape and encoding."""
    with _reading(source) as csv_file:
        width: int | None = None
        for row in csv_file.records():
            if width is None:
                if not any(field.strip() for field in row):
                    continue  # blank lines before the header
                width = len(row)
                csv_file.header_read(width)
                yield row
                continue
            if len(row) != width:
                if not row:
                    continue  # blank line
                raise Unprocessable(
                    f"CSV line {csv_file.line_num}: expected {width} fields like the header, found {len(row)}"
                )
            yield row


class _BoundedLines:
    """The lines of a CSV file for the csv module, refusing a record before it grows too wide or too long.

    `records()` starts the count afresh at each record the csv module returns. Until `header_read`,
    the record being read may be the header (bounded by MAX_COLUMNS and MAX_HEADER_CHARS), after it a
    row (bounded by the header's width and MAX_RECORD_CHARS). The commas of a record are counted with
    `str.count`, those inside quotes too; once that count passes the record's width by the slack, the
    separators of each further line are counted exactly (on top of the rough count of the lines
    before, so the count never falls short), and the record is refused when it reaches twice its
    width plus the slack. A well-formed row is therefore never refused for its quoted commas, and no
    record the csv module builds holds more than that many fields: 14,000 at most.
    """

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.line_num = 0  # physical lines read
        self.chars = self.commas = 0  # of the record being read
        self.exact = False  # the lines of the record from now on are counted exactly
        self.fields, self.max_chars = MAX_COLUMNS, MAX_HEADER_CHARS

    def header_read(self, width: int) -> None:
        self.fields, self.max_chars = width, MAX_RECORD_CHARS

    def records(self) -> Iterator[list[str]]:
        """The csv module's records, counting each one's lines afresh."""
        for row in csv.reader(self.lines()):
            yield row
            self.chars = self.commas = 0
            self.exact = False

    def lines(self) -> Iterator[str]:
        readline = self.handle.readline
        while line := readline(self.max_chars + 1):
            self.line_num += 1
            continues = self.chars > 0  # a line that continues a record starts inside a quoted field
            self.chars += len(line)
            if self.exact:
                self.commas += _separators(line, continues, self._most())
            else:
                commas = line.count(",")
                if self.commas + commas >= self.fields + _SEPARATOR_SLACK:
                    self.exact = True
                    commas = _separators(line, continues, self._most())
                self.commas += commas
            if self.chars > self.max_chars or (self.exact and self.commas >= self._most()):
                self._refuse()
            yield line

    def _most(self) -> int:
        return 2 * self.fields + _SEPARATOR_SLACK

    def _refuse(self) -> None:
        header = self.max_chars == MAX_HEADER_CHARS
        if self.exact and self.commas >= self._most():
            if header:
                raise Unprocessable(
                    f"The CSV header has more than {MAX_COLUMNS} columns (line {self.line_num}): "
                    f"a SQLite table holds at most {MAX_COLUMNS}"
                )
            raise Unprocessable(
                f"CSV line {self.line_num}: far more fields than the header's {self.fields} (refused while reading)"
            )
        if header:
            raise Unprocessable(
                f"The CSV header is longer than {MAX_HEADER_CHARS} characters (line {self.line_num}): "
                f"it may have at most {MAX_COLUMNS} columns"
            )
        raise Unprocessable(f"CSV line {self.line_num}: a row is longer than {MAX_RECORD_CHARS} characters")


_QUOTE_OR_COMMA = re.compile(r'[",]')


def _separators(line: str, in_quotes: bool, enough: int) -> int:
    """The commas of `line` that separate fields, as the csv module's default dialect reads them
    (a quote opens a quoted field only at the field's start; "" inside one is a quote), counting up to
    `enough`. A line that continues a record starts inside a quoted field."""
    count, field_start, escaped = 0, 0, -1
    for match in _QUOTE_OR_COMMA.finditer(line):
        at = match.start()
        if at == escaped:
            continue
        if line[at] == ",":
            if not in_quotes:
                count += 1
                field_start = at + 1
                if count >= enough:
                    break
        elif in_quotes:
            if line.startswith('"', at + 1):
                escaped = at + 1
            else:
                in_quotes = False
        elif at == field_start:
            in_quotes = True
    return count


@contextmanager
def _reading(source: Path) -> Iterator[_BoundedLines]:
    """The bounded lines of `source`; decoding and parsing errors become 422s that name the line."""
    with open(source, encoding="utf-8-sig", newline="") as handle:
        lines = _BoundedLines(handle)
        try:
            yield lines
        except UnicodeDecodeError as error:
            raise Unprocessable(
                f"The CSV file is not valid UTF-8 (near line {lines.line_num + 1}): {error.reason}"
            ) from None
        except csv.Error as error:
            raise Unprocessable(f"CSV line {lines.line_num}: {error}") from None
