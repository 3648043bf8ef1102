"""Guessing a stored file's type from its first bytes (BLOB cells carry no name or type)."""

from __future__ import annotations

SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"%PDF-", "application/pdf", "pdf"),
    (b"PK\x03\x04", "application/zip", "zip"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3", "sqlite"),
    (b"\x1f\x8b", "application/gzip", "gz"),
    (b"OggS", "audio/ogg", "ogg"),
    (b"ID3", "audio/mpeg", "mp3"),
]


def sniff(content: bytes) -> tuple[str, str]:
    """(media type, file extension). SVG and HTML are served as plain text: never rendered inline."""
    for signature, media_type, extension in SIGNATURES:
        if content.startswith(signature):
            return media_type, extension
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    try:
        content[:4096].decode("utf-8")
        return "text/plain; charset=utf-8", "txt"
    except UnicodeDecodeError:
        return "application/octet-stream", "bin"
