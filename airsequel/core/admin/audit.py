"""The audit log: with `auditing` on, every write to a database is recorded (who, when, what,
which tables, how many rows) in the control plane."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.clock import utc_now_iso
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord

MAX_STATEMENT = 10_000
PAGE = 100


def actor_name(principal: Principal | None) -> str:
    if principal is None:
        return "server"
    if principal.kind == PrincipalKind.USER:
        return f"user:{principal.username}"
    if principal.kind == PrincipalKind.TOKEN:
        return f"token:{principal.token_id}"
    return principal.kind.value


@dataclass(frozen=True)
class AuditEntry:
    """One write as the audit log records it: who, what kind, the statement, tables, rows."""

    actor: Principal | None  # None: the server itself
    kind: str
    statement: str | None = None
    affected_tables: list[str] = field(default_factory=list)
    rows: int = 0


class AuditLog:
    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def write(self, conn: ControlConnection, database: DatabaseRecord, entry: AuditEntry) -> None:
        """Record `entry` inside the caller's control-plane transaction (`conn`), when auditing is on."""
        if not database.auditing:
            return
        statement = entry.statement[:MAX_STATEMENT] if entry.statement else None
        conn.execute(
            "INSERT INTO audit_log(file_key, at_utc, actor, kind, statement, affected_tables_json, rows)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                database.file_key,
                utc_now_iso(),
                actor_name(entry.actor),
                entry.kind,
                statement,
                orjson.dumps(entry.affected_tables).decode(),
                entry.rows,
            ),
        )

    def page(self, database: DatabaseRecord, before: int | None, limit: int = PAGE) -> dict[str, Any]:
        rows = self.control.query(
            "SELECT * FROM audit_log WHERE file_key = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (database.file_key, before if before is not None else 1 << 62, limit + 1),
        )
        entries = [
            {
                "id": r["id"],
                "at_utc": r["at_utc"],
                "actor": r["actor"],
                "kind": r["kind"],
                "statement": r["statement"],
                "affectedTables": orjson.loads(r["affected_tables_json"]),
                "rows": r["rows"],
            }
            for r in rows[:limit]
        ]
        return {"entries": entries, "next": entries[-1]["id"] if len(rows) > limit else None}
