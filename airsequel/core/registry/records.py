"""What the registry holds of one hosted database (`DatabaseRecord`), and what the server learns
of a hosted file after it changes (`FileFacts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from airsequel.core.registry.connection import ControlRow


@dataclass
class DatabaseRecord:
    """One hosted database as the registry knows it."""

    file_key: str
    id: str
    readonly_id: str
    name: str
    description: str | None
    owner: str | None
    created_by: str | None
    created_utc: str
    ownership_utc: str
    last_modified_utc: str
    size: int
    schema_version: int
    user_version: int
    tables: list[dict[str, Any]] = field(default_factory=list)
    visibility: str = "private"
    schema_locked: bool = False
    views_tab: bool = False
    auditing: bool = False
    environment: str | None = None
    file_format: str = "sqlite"
    file_name: str = "database.sqlite"
    # Whether /readonly/<readonly_id>/... answers: off until a manager turns the link on.
    readonly_enabled: bool = False
    # In a cluster: the node that owns the file and its ownership epoch (None and 0 on one server).
    node: str | None = None
    epoch: int = 0
    # "local": acknowledged once committed here (shipped within about a second when replicated);
    # "replicated": acknowledged only once Litestream shipped the write.
    durability: str = "local"

    @classmethod
    def from_row(cls, row: ControlRow) -> DatabaseRecord:
        values = dict(row)
        values["tables"] = orjson.loads(values.pop("tables_json"))
        for flag in ("schema_locked", "views_tab", "auditing", "readonly_enabled"):
            values[flag] = bool(values[flag])
        return cls(**values)


@dataclass
class FileFacts:
    """What the server learns about a hosted file after it changes."""

    size: int
    schema_version: int
    user_version: int
    tables: list[dict[str, Any]]
    last_modified_utc: str
