"""Reading a CSV file as batches of checked rows, with the column types the rows so far decide.

Rows must have as many fields as the header (blank lines are skipped) and the file must be UTF-8
(a byte-order mark is allowed). A batch carries its rows flattened into one list of values (the
shape multi-row INSERTs take) and the column types after it: INTEGER, REAL or TEXT (see
`column_types`), a column that has held no value yet counting as TEXT.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from airsequel.core.errors import Unprocessable
from airsequel.core.sql.column_types import INTEGER, TEXT, narrow_types

BATCH_ROWS = 5_000

csv.field_size_limit(min(sys.maxsize, 64 * 1024 * 1024))


@dataclass
class CsvBatch:
    values: list[str]  # `rows` rows of the header's width, one after the other
    rows: int
    types: list[int]  # the column types decided by this batch and all before it


def read_header(source: Path) -> list[str]:
    """The column names: the first non-blank row, made unique and non-empty."""
    try:
        return column_names(next(_rows(source)))
    except StopIteration:
        raise Unprocessable("The CSV file is empty: it needs a header row") from None


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
    with _reading(source) as reader:
        width = next((len(row) for row in reader if any(field.strip() for field in row)), None)
        if width is None:
            return
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
    with _reading(source) as reader:
        width: int | None = None
        for row in reader:
            if width is None:
                if not any(field.strip() for field in row):
                    continue  # blank lines before the header
                width = len(row)
                yield row
                continue
            if len(row) != width:
                if not row:
                    continue  # blank line
                raise Unprocessable(
                    f"CSV line {reader.line_num}: expected {width} fields like the header, found {len(row)}"
                )
            yield row


@contextmanager
def _reading(source: Path) -> Iterator[Any]:
    """A csv reader over `source`; decoding and parsing errors become 422s that name the line."""
    with open(source, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            yield reader
        except UnicodeDecodeError as error:
            raise Unprocessable(
                f"The CSV file is not valid UTF-8 (near line {reader.line_num + 1}): {error.reason}"
            ) from None
        except csv.Error as error:
            raise Unprocessable(f"CSV line {reader.line_num}: {error}") from None
