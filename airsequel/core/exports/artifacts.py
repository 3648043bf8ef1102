"""The files of an export job beside its data: assets, file cells, and the archive that holds them all."""

from __future__ import annotations

import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from airsequel.core.content.records import RecordFilter, key_columns
from airsequel.core.file_types import sniff
from airsequel.core.sql.introspection import Table
from airsequel.core.sql.script import quote_identifier


def safe_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in " ._-" else "_" for ch in name).strip(" .")
    return cleaned[:100] or "export"


def write_file_cells(
    conn: sqlite3.Connection, table: Table, record_filter: RecordFilter, columns: list[str] | None, folder: Path
) -> list[Path]:
    """Every BLOB cell of the exported rows as a file `<folder>/<table>/<column>/<key>.<ext>` (the extension
    sniffed from its bytes; the key is the rowid or the primary key values joined by '-')."""
    try:
        keys = key_columns(table)
    except Exception:  # noqa: BLE001 - a view has no key to name its files by: its cells stay in the data only
        return []
    names = columns or [c.name for c in table.columns]
    room = max(1, conn.getlimit(sqlite3.SQLITE_LIMIT_COLUMN) - len(keys))
    where = f" WHERE {record_filter.sql}" if record_filter.conditions else ""
    written: list[Path] = []
    for start in range(0, len(names), room):
        group = names[start : start + room]
        selected = ", ".join([*keys, *(quote_identifier(c) for c in group)])
        cursor = conn.execute(f"SELECT {selected} FROM {quote_identifier(table.name)}{where}", record_filter.params)
        while batch := cursor.fetchmany(1000):
            for row in batch:
                key = "-".join(str(k) for k in row[: len(keys)])
                for column, value in zip(group, row[len(keys) :], strict=True):
                    if isinstance(value, bytes):
                        _, extension = sniff(value)
                        path = folder / safe_name(table.name) / safe_name(column) / f"{safe_name(key)}.{extension}"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(value)
                        written.append(path)
    return written


def copy_assets(assets: list[Any], source_dir: Path, folder: Path) -> list[Path]:
    """The database's uploaded assets (rows with id and filename) as `<folder>/<id>-<filename>`."""
    copies = []
    for row in assets:
        target = folder / f"{row['id']}-{safe_name(row['filename'])}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_dir / row["id"], target)
        copies.append(target)
    return copies


def zip_folder(folder: Path, archive: Path) -> Path:
    """`folder`'s files in one zip at `archive` (Medable's zipFiles); the folder is removed."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zipped.write(path, str(path.relative_to(folder)))
    shutil.rmtree(folder)
    return archive


def package(job_name: str, work: Path, files: list[Path], *, always_zip: bool) -> Path:
    """One file when there is one (and no archive is asked for), else a zip of them all, paths kept."""
    if len(files) == 1 and files[0].parent == work and not always_zip:
        single = files[0]
        named = (
            work / f"{safe_name(job_name)}-{single.name}" if not single.name.startswith(safe_name(job_name)) else single
        )
        single.rename(named)
        return named
    archive = work.parent / f"{safe_name(job_name)}.zip.partial"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in files:
            zipped.write(path, str(path.relative_to(work)))
    named = archive.with_name(f"{safe_name(job_name)}.zip")
    archive.replace(named)
    return named
