"""Reading a big CSV file in a helper process, so that parsing and inserting run on two cores.

Python parses CSV and binds SQLite values under one GIL; a second process parses (and decides the
column types) while the server's process inserts, which also keeps a big upload from holding the
server's GIL for seconds. Run as `python -m airsequel.core.imports.csv_reader_process FILE`: it writes frames
to stdout and stops writing when the pipe is full, so memory stays bounded on both sides.

A frame is a fixed head (kind, rows, payload length) and a payload:
- `H`: the column names, as JSON;
- `B`: a batch: one byte per column type, then the values joined by NUL, UTF-8;
- `J`: a batch whose values hold a NUL themselves: the type bytes, then the values as JSON;
- `E`: the file is not acceptable: the message, UTF-8;
- `D`: the end.
"""

from __future__ import annotations

import gc
import json
import os
import struct
import subprocess
import sys
from collections.abc import Generator
from itertools import chain
from pathlib import Path
from typing import IO

import airsequel
from airsequel.core.errors import CoreError, Unavailable, Unprocessable
from airsequel.core.imports.csv_reading import CsvBatch, read_header, read_typed_rows

_HEAD = struct.Struct("<cIQ")
_PACKAGE_ROOT = str(Path(airsequel.__file__).resolve().parents[1])  # where `import airsequel` finds this package


class ReaderFailed(Unavailable):
    """The helper process stopped without finishing (it was killed, or it crashed: see the server log)."""


def batches_from_process(source: Path) -> tuple[list[str], Generator[CsvBatch, None, None]]:
    """The header and the batches of `source`, read by a helper process.

    Raises OSError when no process can be started and ReaderFailed when it stops before the header
    (the caller then reads in-process); the iterator must be closed if it is not read to the end.
    """
    search_path = os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", __name__, str(source)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        bufsize=1 << 20,
        env={**os.environ, "PYTHONPATH": search_path},
    )
    assert process.stdout is not None
    try:
        kind, _, payload = _read_frame(process.stdout)
        if kind != b"H":
            _raise_for(kind, payload)
        header: list[str] = json.loads(payload)
    except BaseException:
        _stop(process)
        raise
    return header, _batches(process, len(header))


def _batches(process: subprocess.Popen[bytes], width: int) -> Generator[CsvBatch, None, None]:
    assert process.stdout is not None
    try:
        while True:
            kind, rows, payload = _read_frame(process.stdout)
            if kind == b"D":
                break
            if kind not in (b"B", b"J"):
                _raise_for(kind, payload)
            types, text = list(payload[:width]), payload[width:].decode("utf-8")
            values = text.split("\x00") if kind == b"B" else json.loads(text)
            if len(values) != rows * width:
                raise ReaderFailed(f"the CSV reader sent {len(values)} values for {rows} rows of {width}")
            yield CsvBatch(values, rows, types)
        process.wait()
    finally:
        _stop(process)


def _read_frame(stream: IO[bytes]) -> tuple[bytes, int, bytes]:
    head = stream.read(_HEAD.size)
    if len(head) != _HEAD.size:
        raise ReaderFailed("the CSV reader stopped before the end of the file")
    kind, rows, length = _HEAD.unpack(head)
    payload = stream.read(length)
    if len(payload) != length:
        raise ReaderFailed("the CSV reader stopped in the middle of a batch")
    return kind, rows, payload


def _raise_for(kind: bytes, payload: bytes) -> None:
    if kind == b"E":
        raise Unprocessable(payload.decode("utf-8"))
    raise ReaderFailed(f"the CSV reader sent an unknown frame {kind!r}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


# --- the helper process ---------------------------------------------------------------------------


def _write_frame(out: IO[bytes], kind: bytes, payload: bytes, rows: int = 0) -> None:
    out.write(_HEAD.pack(kind, rows, len(payload)))
    out.write(payload)


def _serve(source: Path, out: IO[bytes]) -> None:
    try:
        _write_frame(out, b"H", json.dumps(read_header(source)).encode())
        for rows, types in read_typed_rows(source):
            joined = "\x00".join(chain.from_iterable(rows))
            if joined.count("\x00") == len(rows) * len(types) - 1:
                _write_frame(out, b"B", bytes(types) + joined.encode("utf-8"), len(rows))
            else:
                values = list(chain.from_iterable(rows))
                _write_frame(out, b"J", bytes(types) + json.dumps(values).encode(), len(rows))
    except CoreError as error:
        _write_frame(out, b"E", str(error).encode("utf-8"))
    else:
        _write_frame(out, b"D", b"")
    out.flush()


if __name__ == "__main__":
    gc.disable()  # rows are lists, never cycles; collecting them is wasted time
    try:
        _serve(Path(sys.argv[1]), sys.stdout.buffer)
    except BrokenPipeError:  # the server stopped reading (it failed, was killed, or is shutting down)
        os._exit(1)  # without flushing stdout into the broken pipe again
