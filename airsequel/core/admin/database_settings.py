"""A database's settings (visibility, schema lock, views tab, auditing, durability, environment) and its
environment variables: read by anyone who may read the database (variable values only by those
who may manage it), changed by its managers, all of a change in one transaction."""

from __future__ import annotations

from typing import Any

from airsequel.core.admin.env_vars import EnvVars, checked_list, replace_in
from airsequel.core.auth.access import Action, Principal, may
from airsequel.core.errors import InvalidInput
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord, write_database_changes

# When a write is acknowledged: once committed here ("local", shipped to the replica within about a
# second), or once Litestream shipped it ("replicated").
DURABILITIES = ("local", "replicated")
FLAGS = {"schemaLocked": "schema_locked", "viewsTab": "views_tab", "auditing": "auditing"}


class DatabaseSettings:
    def __init__(self, control: ControlPlane, env_vars: EnvVars, *, replicated: bool = False) -> None:
        """`replicated`: whether continuous backups are on (`durability: "replicated"` needs them)."""
        self.control = control
        self.env_vars = env_vars
        self.replicated = replicated

    def view(self, record: DatabaseRecord, caller: Principal) -> dict[str, Any]:
        return {
            "auditing": record.auditing,
            "durability": record.durability,
            "environment": record.environment,
            "envVars": self.variables(record, caller),
            "schemaLocked": record.schema_locked,
            "viewsTab": record.views_tab,
            "visibility": record.visibility,
        }

    def variables(self, record: DatabaseRecord, caller: Principal) -> list[dict[str, Any]]:
        """The database's variables; their values only for those who may manage the database."""
        return self.env_vars.in_scope(record.file_key, with_values=may(caller, Action.MANAGE, record))

    def update(self, record: DatabaseRecord, changes: dict[str, Any]) -> None:
        """`changes` by their API names (visibility, schemaLocked, viewsTab, auditing: booleans,
        environment: text or None, envVars: the variables become exactly these), checked first."""
        columns: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "visibility":
                if value not in ("public", "private"):
                    raise InvalidInput("visibility must be 'public' or 'private'")
                columns["visibility"] = value
            elif key in FLAGS:
                if not isinstance(value, bool):
                    raise InvalidInput(f"{key} must be true or false")
                columns[FLAGS[key]] = int(value)
            elif key == "durability":
                if value not in DURABILITIES:
                    raise InvalidInput("durability must be 'local' or 'replicated'")
                if value == "replicated" and not self.replicated:
                    raise InvalidInput(
                        "durability 'replicated' needs continuous backups: start the server with AIRSEQUEL_REPLICA_URL"
                    )
                columns["durability"] = value
            elif key == "environment":
                if value is not None and not isinstance(value, str):
                    raise InvalidInput("environment must be text or null")
                columns["environment"] = value
            elif key != "envVars":
                raise InvalidInput(f"Unknown setting {key!r}")
        variables = checked_list(changes["envVars"]) if "envVars" in changes else None
        with self.control.transaction() as conn:
            if variables is not None:
                replace_in(conn, record.file_key, variables)
            write_database_changes(conn, record.file_key, columns)
