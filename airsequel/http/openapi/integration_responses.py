"""The answers of the routes that follow other products' APIs (PixieBrix's database APIs), keyed by
(method, path) as the routing table names them."""

from __future__ import annotations

from airsequel.http.openapi.data_responses import EXPORT_TYPES
from airsequel.http.openapi.declarations import Declared, declare, file, json, or_as
from airsequel.http.openapi.schemas import INT, STR, TIME, array, nullable, record, ref

PIXIEBRIX_RECORD = record(
    id={"oneOf": [ref("Cell"), array(ref("Cell"))], "description": "The primary key (a list for a composite one)"},
    data=ref("Row"),
    created_at=ref("Cell"),
    updated_at=ref("Cell"),
)
PIXIEBRIX_PAGE = record(count=INT, next=nullable(STR), previous=nullable(STR), results=array(PIXIEBRIX_RECORD))
PIXIEBRIX_JOB = record(
    id=STR,
    name=STR,
    status={"type": "string", "enum": ["STARTED", "SUCCESS", "FAILURE"]},
    media_type=STR,
    data=nullable(STR),
    progress={"type": "object"},
    created_at=TIME,
    expires_at=nullable(TIME),
    error=nullable(STR),
)
FILTERS = {
    "page": {"type": "integer", "minimum": 1},
    "page_size": {"type": "integer", "minimum": 1},
    "start_date": STR,
    "end_date": STR,
    "date_column": STR,
    "table": STR,
}

PIXIEBRIX: dict[tuple[str, str], Declared] = {
    ("GET", "/api/databases/{database_id}/records/"): declare(
        or_as(
            json(
                {"oneOf": [array(PIXIEBRIX_RECORD), PIXIEBRIX_PAGE]},
                description="The records; with Accept: application/json; version=2.0 a page of them",
            ),
            "text/csv",
            STR,
        ),
        query=FILTERS,
    ),
    ("POST", "/api/databases/records/jobs/"): declare(
        json(record(id=STR, status=STR), 201, "The job, started: poll GET .../jobs/:id/"),
        errors=(400, 401, 403, 404, 413, 429),
    ),
    ("GET", "/api/databases/records/jobs/{job_id}/"): declare(json(PIXIEBRIX_JOB), errors=(401, 404)),
    ("GET", "/api/databases/records/jobs/{job_id}/data/"): declare(
        file("The export's data", *EXPORT_TYPES), errors=(401, 404)
    ),
}

RESPONSES: dict[tuple[str, str], Declared] = {**PIXIEBRIX}
