"""Assets: files attached to a database (not stored in its tables), as in the PixieBrix API.

Stored beside the database file (`dbs/<key>/assets/<id>`), so they follow it when it is deleted;
counted against a per-database quota (max_asset_bytes) and, with the team's exports, against the
team's (team_max_export_bytes); readable and writable with the database's own rights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from airsequel.core import ids
from airsequel.core.clock import utc_now_iso
from airsequel.core.durability import fsync_directory, fsync_file
from airsequel.core.errors import Conflict, InvalidInput, NotFound, TooLarge
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.storage.hosting import Hosting


class Assets:
    def __init__(self, control: ControlPlane, hosting: Hosting, quota_bytes: int) -> None:
        self.control = control
        self.hosting = hosting
        self.quota_bytes = quota_bytes

    def folder(self, record: DatabaseRecord) -> Path:
        return self.hosting.layout.assets_dir(record.file_key)

    def create(self, record: DatabaseRecord, filename: object) -> dict[str, Any]:
        if (
            not isinstance(filename, str)
            or not filename.strip()
            or len(filename) > 255
            or "/" in filename
            or "\\" in filename
            or any(ord(char) < 0x20 or ord(char) == 0x7F for char in filename)
        ):
            # Control characters (CR, LF, NUL, ...) would end up in the download's Content-Disposition.
            raise InvalidInput(
                "filename must be a file name (1 to 255 characters, no '/', '\\' or control characters "
                "such as a line break)"
            )
        asset_id = ids.new_ulid()
        now = utc_now_iso()
        self.control.execute(
            "INSERT INTO assets(id, file_key, filename, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (asset_id, record.file_key, filename.strip(), now, now),
        )
        return self.get(record, asset_id)

    def get(self, record: DatabaseRecord, asset_id: str) -> dict[str, Any]:
        rows = self.control.query("SELECT * FROM assets WHERE id = ? AND file_key = ?", (asset_id, record.file_key))
        if not rows:
            raise NotFound(f"Asset {asset_id!r} does not exist")
        row = rows[0]
        return {
            "id": row["id"],
            "filename": row["filename"],
            "is_uploaded": bool(row["is_uploaded"]),
            "size": row["size"],
            "download_url": f"/api/dbs/{record.id}/assets/{row['id']}",
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def of_database(self, record: DatabaseRecord) -> list[dict[str, Any]]:
        ids = [
            row[0]
            for row in self.control.query(
                "SELECT id FROM assets WHERE file_key = ? ORDER BY created_at, id", (record.file_key,)
            )
        ]
        return [self.get(record, asset_id) for asset_id in ids]

    def used_bytes(self, record: DatabaseRecord, *, except_id: str | None = None) -> int:
        return self.control.query(
            "SELECT coalesce(sum(size), 0) FROM assets WHERE file_key = ? AND id IS NOT ?", (record.file_key, except_id)
        )[0][0]

    def store(self, record: DatabaseRecord, asset_id: str, upload: Path) -> dict[str, Any]:
        """Move an uploaded file into place (replacing earlier bytes), within the quota."""
        try:
            self.get(record, asset_id)
            size = upload.stat().st_size
            if self.used_bytes(record, except_id=asset_id) + size > self.quota_bytes:
                raise TooLarge(f"The assets of this database would exceed the quota of {self.quota_bytes} bytes")
            self.hosting.quotas.check_export_bytes(record.owner, size, except_asset=asset_id)
            self.hosting.disk.check_room(what="Storing the asset")  # its bytes are in tmp/ already: a rename
            folder = self.folder(record)
            folder.mkdir(parents=True, exist_ok=True)
            fsync_file(upload)
            os.replace(upload, folder / asset_id)
            fsync_directory(folder)
        finally:
            upload.unlink(missing_ok=True)
        self.control.execute("UPDATE assets SET size = ?, updated_at = ? WHERE id = ?", (size, utc_now_iso(), asset_id))
        return self.get(record, asset_id)

    def mark_uploaded(self, record: DatabaseRecord, asset_id: str, uploaded: bool) -> dict[str, Any]:
        self.get(record, asset_id)
        if uploaded and not (self.folder(record) / asset_id).exists():
            raise Conflict("Upload the bytes (PUT) before marking the asset as uploaded")
        self.control.execute(
            "UPDATE assets SET is_uploaded = ?, updated_at = ? WHERE id = ?", (int(uploaded), utc_now_iso(), asset_id)
        )
        return self.get(record, asset_id)

    def path(self, record: DatabaseRecord, asset_id: str) -> tuple[Path, str]:
        asset = self.get(record, asset_id)
        if not asset["is_uploaded"]:
            raise NotFound("The asset has not been uploaded yet")
        return self.folder(record) / asset_id, asset["filename"]

    def delete(self, record: DatabaseRecord, asset_id: str) -> None:
        self.get(record, asset_id)
        self.control.execute("DELETE FROM assets WHERE id = ?", (asset_id,))
        (self.folder(record) / asset_id).unlink(missing_ok=True)
