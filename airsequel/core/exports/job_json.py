"""What the API shows of an export job: our fields, and Medable's beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from airsequel.core.formats.writers import MEDIA_TYPES

# Medable's states of our statuses.
STATES = {"STARTED": "pending", "RUNNING": "running", "SUCCESS": "ready", "FAILED": "error"}
ARTIFACT_TYPES = {
    ".zip": "application/zip",
    ".csv": "text/csv",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_MEDIA_TYPE_OF_KIND = {kind: media_type for media_type, kind in MEDIA_TYPES.items()}


def artifact_media_type(name: str) -> str:
    return next((t for suffix, t in ARTIFACT_TYPES.items() if name.endswith(suffix)), "application/octet-stream")


def job_json(row: Any, directory: Path) -> dict[str, Any]:
    """Our fields, and Medable's beside them (`_id`, `object`, `label`, `state`, `dataFile`, `expiresAt`, ...)."""
    total = row["rows_total"]
    request = orjson.loads(row["request_json"])
    ready = row["status"] == "SUCCESS"
    data = f"/api/exports/{row['id']}/data" if ready else None
    data_file = None
    if ready:
        artifact = directory / row["id"] / row["artifact_name"]
        data_file = {
            "filename": row["artifact_name"],
            "mime": artifact_media_type(row["artifact_name"]),
            "size": artifact.stat().st_size if artifact.exists() else None,
            "path": data,
            "url": data,
        }
    return {
        "id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "progress": {
            "rows_done": row["rows_done"],
            "rows_total": total,
            "fraction": (row["rows_done"] / total) if total else (1.0 if ready else 0.0),
        },
        "data": data,
        "created_utc": row["created_utc"],
        "expires_utc": row["expires_utc"],
        "error": row["error"],
        "_id": row["id"],
        "object": "export",
        "label": row["name"],
        "description": request.get("description"),
        "state": STATES[row["status"]],
        "format": request.get("media_type") or _MEDIA_TYPE_OF_KIND.get(request["kind"]),
        "exportFiles": bool(request.get("export_files")),
        "zipFiles": bool(request.get("zip_files")),
        **request.get("medable", {}),
        "dataFile": data_file,
        "created": row["created_utc"],
        "expiresAt": row["expires_utc"],
    }
