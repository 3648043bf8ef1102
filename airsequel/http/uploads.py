"""Receiving an uploaded file: streamed straight to a temporary file in the data directory.

Accepts `multipart/form-data` (the file in the field `file`, small text fields beside it) or a raw
body (`?filename=` names it). `database_file` then says whether an upload meant as a database is a
CSV or a SQLite file (docs/files.md): by its name's extension, else its declared Content-Type, else
its first bytes. The size limit is enforced while streaming, and a body that stalls
for body_timeout_seconds ends the request with 408; on any failure the temporary file is removed. The file is not fsynced here: whoever keeps it (hosting, assets) makes
what it keeps durable, and a CSV is read once and thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from airsequel.core.errors import InvalidInput, TooLarge, Unavailable, Unprocessable
from airsequel.core.imports.sqlite_upload import looks_like_sqlite
from airsequel.core.integer_text import parse_count
from airsequel.http.bodies import BodyStalled, body_chunks

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks  # a TypedDict that exists only for checkers

MAX_FIELD_BYTES = 64 * 1024
FILE_FIELD = "file"
# Content types that declare an upload's kind when its name does not (parameters such as
# `; charset=utf-8` aside). Any other type (none, application/octet-stream, curl's default
# application/x-www-form-urlencoded) leaves it to the bytes: the SQLite header, or a refusal.
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
SQLITE_TYPES = frozenset({"application/vnd.sqlite3", "application/x-sqlite3", "application/sqlite3"})


@dataclass
class Upload:
    path: Path
    filename: str | None
    size: int
    fields: dict[str, str] = field(default_factory=dict)
    content_type: str = ""  # as declared (the raw body's, or the multipart file part's), lowercase, no parameters


async def receive_upload(request: Request, destination: Path, *, max_bytes: int) -> Upload:
    """Stream the request's file to `destination` (which must not exist yet)."""
    declared = parse_count(request.headers.get("content-length"))
    if declared is not None and declared > max_bytes + MAX_FIELD_BYTES:
        raise TooLarge(f"The upload is larger than the limit of {max_bytes} bytes")
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    try:
        handle = open(destination, "xb")
    except OSError as error:
        raise Unavailable(f"The server cannot store uploads right now: {error.strerror}") from None
    try:
        if content_type == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise InvalidInput("The multipart body has no boundary")
            upload = await _receive_multipart(request, handle, destination, boundary, max_bytes)
        else:
            upload = await _receive_raw(request, handle, destination, max_bytes)
    except BaseException:
        handle.close()
        destination.unlink(missing_ok=True)
        raise
    handle.close()
    return upload


async def _receive_raw(request: Request, handle: IO[bytes], destination: Path, max_bytes: int) -> Upload:
    size = 0
    async for chunk in body_chunks(request):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"The upload is larger than the limit of {max_bytes} bytes")
        handle.write(chunk)
    if size == 0:
        raise InvalidInput("The request has no file: send multipart/form-data with a 'file' field, or the raw file")
    fields = {key: value for key, value in request.query_params.items() if key in ("name", "team", "filename")}
    return Upload(destination, fields.get("filename"), size, fields, _media_type(request.headers.get("content-type")))


def _media_type(header: str | bytes | None) -> str:
    if not header:
        return ""
    raw = header.encode("latin-1", "replace") if isinstance(header, str) else header
    media_type, _options = parse_options_header(raw)
    return media_type.decode("latin-1").strip().lower()


def database_file(upload: Upload) -> Upload:
    """The upload as a database file: a CSV (its `filename` then ends in .csv, so the core builds a
    table from it) or a SQLite file. Decided by the file name's extension (.csv: CSV; any other: SQLite),
    else by the declared Content-Type (text/csv; application/vnd.sqlite3 and its aliases), else by the
    SQLite header magic of its first 16 bytes (a file name without an extension: SQLite). A body that
    is none of these is refused (422), naming the forms that work. A CSV without a file name is named
    after the `name` field (default `data`): its table's name."""
    if upload.filename and "." in Path(upload.filename).name.strip("."):
        return upload  # its extension says: .csv, a CSV; any other, a SQLite file
    if upload.content_type in CSV_TYPES:
        stem = (upload.filename or upload.fields.get("name") or "").strip() or "data"
        upload.filename = f"{stem}.csv"
        return upload
    if upload.filename or upload.content_type in SQLITE_TYPES or looks_like_sqlite(upload.path):
        return upload  # checked as a SQLite file (a declared one without the header: 422 says so)
    upload.path.unlink(missing_ok=True)
    raise Unprocessable(
        "The upload is not a SQLite file (it does not start with the SQLite header) and nothing says it is"
        " a CSV: send a CSV with Content-Type: text/csv, or with a file name ending in .csv (the multipart"
        " filename, or ?filename=people.csv for a raw body)"
    )


class _MultipartSink:
    """Callbacks for python-multipart's streaming parser."""

    def __init__(self, handle: IO[bytes], max_bytes: int) -> None:
        self.handle = handle
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type = ""
        self._part_type = b""
        self.file_size = 0
        self.file_parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._buffer = bytearray()

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._part_type = b""
        self._name = ""
        self._is_file = False
        self._buffer.clear()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        elif self._header_name.lower() == b"content-type":
            self._part_type = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == FILE_FIELD:
            if self.file_parts:
                raise InvalidInput("Send exactly one file in the field 'file'")
            self.file_parts += 1
            self._is_file = True
            raw_filename = options.get(b"filename")
            self.content_type = _media_type(self._part_type)
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.file_size += end - start
            if self.file_size > self.max_bytes:
                raise TooLarge(f"The upload is larger than the limit of {self.max_bytes} bytes")
            self.handle.write(data[start:end])
        else:
            self._buffer += data[start:end]
            if len(self._buffer) > MAX_FIELD_BYTES:
                raise TooLarge(f"The form field {self._name!r} is larger than {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if not self._is_file and self._name:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")


async def _receive_multipart(
    request: Request, handle: IO[bytes], destination: Path, boundary: bytes, max_bytes: int
) -> Upload:
    sink = _MultipartSink(handle, max_bytes)
    callbacks: MultipartCallbacks = {
        "on_part_begin": sink.on_part_begin,
        "on_part_data": sink.on_part_data,
        "on_part_end": sink.on_part_end,
        "on_header_field": sink.on_header_field,
        "on_header_value": sink.on_header_value,
        "on_header_end": sink.on_header_end,
        "on_headers_finished": sink.on_headers_finished,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in body_chunks(request):
            parser.write(chunk)
        parser.finalize()
    except (TooLarge, InvalidInput, BodyStalled):
        raise
    except Exception as error:  # python-multipart raises its own errors for malformed bodies
        raise InvalidInput(f"The multipart body is malformed: {error}") from None
    if not sink.file_parts:
        raise InvalidInput("The multipart body has no file in the field 'file'")
    if sink.file_size == 0:
        raise InvalidInput("The uploaded file is empty")
    return Upload(destination, sink.filename, sink.file_size, sink.fields, sink.content_type)
