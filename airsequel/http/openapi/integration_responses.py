"""The answers of the routes that follow other products' APIs (PixieBrix's database APIs, Medable's
exports), keyed by (method, path) as the routing table names them."""

from __future__ import annotations

from airsequel.http.openapi.data_responses import EXPORT_TYPES
from airsequel.http.openapi.declarations import Declared, declare, file, json, named, or_as
from airsequel.http.openapi.schemas import BOOL, INT, STR, TIME, array, nullable, record, ref

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

PIXIEBRIX_DATABASE = record(
    id={**STR, "description": "<database id>, or <database id>:<table> for one table of several"},
    name=STR,
    table=STR,
    organization=STR,
    created_at=TIME,
    updated_at=nullable(TIME),
)

PIXIEBRIX: dict[tuple[str, str], Declared] = {
    ("GET", "/api/organizations/{organization_id}/databases/"): declare(
        json(array(PIXIEBRIX_DATABASE), description="The organization's (a team's) databases, one per table"),
        errors=(401, 404),
    ),
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

# Medable's org is a hosted database: /{org}/v2/exports. Its jobs are ExportJobs, dataFile's URL pointing here.
MEDABLE: dict[tuple[str, str], Declared] = {
    ("POST", "/{org}/v2/exports"): declare(
        named("ExportJob", 201, "The job, pending"), errors=(400, 401, 403, 404, 413, 429)
    ),
    ("GET", "/{org}/v2/exports"): declare(
        json(record(object={"type": "string", "enum": ["list"]}, data=array(ref("ExportJob")), hasMore=BOOL)),
        errors=(401, 404),
    ),
    ("GET", "/{org}/v2/exports/{export_id}"): declare(named("ExportJob"), errors=(401, 404)),
    ("DELETE", "/{org}/v2/exports/{export_id}"): declare(
        json(record(object={"type": "string", "enum": ["result"]}, data=BOOL)), errors=(401, 404)
    ),
    ("GET", "/{org}/v2/exports/{export_id}/dataFile"): declare(
        file("The export's data", *EXPORT_TYPES), errors=(401, 404)
    ),
}

RESPONSES: dict[tuple[str, str], Declared] = {**PIXIEBRIX, **MEDABLE}
