"""A database's cloud functions in the control plane: the functions, their immutable versions and
their last invocations, managed by the team's Editors and Admins.

A function's `permission` ("read" or "write": what its calls may do to the database) and `public`
(whether anyone may call it) belong to the function; its name, description, runtime, language and
code belong to each version. PATCH with any of the latter saves a new version and puts it in force;
republish puts an earlier one back in force. Versions are never changed nor deleted (but with their
function).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airsequel.core.admin.audit import AuditEntry, AuditLog
from airsequel.core.auth.access import Action, Principal, PrincipalKind, authorize, may
from airsequel.core.clock import utc_now_iso
from airsequel.core.errors import Forbidden, InvalidInput, NotFound
from airsequel.core.ids import new_ulid
from airsequel.core.integer_text import parse_count
from airsequel.core.registry.connection import ControlRow
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord

RUNTIMES = ("deno",)
LANGUAGES = ("typescript", "javascript")
PERMISSIONS = ("read", "write")
MAX_CONTENT_CHARS = 256 * 1024
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
KEPT_INVOCATIONS = 500
VERSIONED = ("name", "description", "runtime", "language", "content")

Diagnose = Callable[[str, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class CallableFunction:
    """What a call needs of a function: its database, its rights and the code in force."""

    id: str
    file_key: str
    permission: str
    public: bool
    version_id: str
    language: str
    content: str


class Functions:
    def __init__(
        self,
        control: ControlPlane,
        diagnose: Diagnose,
        navigation: Callable[[Principal], dict[str, Any]] = lambda caller: {},
        audit: AuditLog | None = None,
    ) -> None:
        self.control = control
        self.audit = audit  # with the database's auditing on, each change of its functions is recorded
        self.diagnose = diagnose  # (code, language) -> Deno's diagnostics
        self.navigation = navigation  # what every web page shows (core/content/pages.py)

    def page(self, caller: Principal, record: DatabaseRecord) -> dict[str, Any]:
        """The functions page (/dbs/<id>/functions): to readers, with what the caller may do there;
        the functions themselves are loaded by the page through the API, and only for managers."""
        authorize(caller, Action.READ, record)
        manager = caller.kind == PrincipalKind.USER and may(caller, Action.WRITE, record)
        return {**self.navigation(caller), "db": record, "may_manage": manager}

    # Managing (Editors and Admins)

    def of_database(self, caller: Principal, record: DatabaseRecord) -> list[dict[str, Any]]:
        _authorize_manager(caller, record)
        rows = self.control.query(
            "SELECT id FROM functions WHERE file_key = ? ORDER BY created_utc, id", (record.file_key,)
        )
        return [self._function_json(row["id"]) for row in rows]

    def create(self, caller: Principal, record: DatabaseRecord, body: dict[str, Any]) -> dict[str, Any]:
        _authorize_manager(caller, record)
        fields = _checked_version_fields(body, None)
        permission = _checked_permission(body.get("permission", "read"))
        public = _checked_public(body.get("public", False))
        diagnostics = self.diagnose(fields["content"], fields["language"])
        function_id, version_id = new_ulid(), new_ulid()
        with self.control.transaction() as conn:
            conn.execute(
                "INSERT INTO functions(id, file_key, permission, public, current_version, created_by, created_utc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (function_id, record.file_key, permission, int(public), version_id, caller.user_id, utc_now_iso()),
            )
            self._insert_version(conn, function_id, version_id, 1, fields, diagnostics)
            self._audit(conn, record, caller, "function-create", function_id, version_id)
        return self._function_json(function_id)

    def show(self, caller: Principal, record: DatabaseRecord, function_id: str) -> dict[str, Any]:
        _authorize_manager(caller, record)
        self._row(record, function_id)
        return self._function_json(function_id)

    def change(
        self, caller: Principal, record: DatabaseRecord, function_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """{diagnostics, id}: the new version's (or, when only permission/public changed, the version
        in force with its diagnostics)."""
        _authorize_manager(caller, record)
        row = self._row(record, function_id)
        current = self._version_row(function_id, row["current_version"])
        settings: dict[str, Any] = {}
        if "permission" in body:
            settings["permission"] = _checked_permission(body["permission"])
        if "public" in body:
            settings["public"] = int(_checked_public(body["public"]))
        if not any(key in body for key in VERSIONED):
            if not settings:
                raise InvalidInput(f"Nothing to change: give any of {', '.join(VERSIONED)}, permission, public")
            with self.control.transaction() as conn:
                for column, value in settings.items():
                    conn.execute(f"UPDATE functions SET {column} = ? WHERE id = ?", (value, function_id))
                changed = ", ".join(f"{column} {value!r}" for column, value in settings.items())
                self._audit(conn, record, caller, "function-settings", function_id, current["id"], changed)
            return {"diagnostics": json.loads(current["diagnostics_json"]), "id": current["id"]}
        fields = _checked_version_fields(body, current)
        diagnostics = self.diagnose(fields["content"], fields["language"])
        version_id = new_ulid()
        with self.control.transaction() as conn:
            number = conn.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM function_versions WHERE function_id = ?", (function_id,)
            ).fetchone()[0]
            self._insert_version(conn, function_id, version_id, number, fields, diagnostics)
            settings["current_version"] = version_id
            for column, value in settings.items():
                conn.execute(f"UPDATE functions SET {column} = ? WHERE id = ?", (value, function_id))
            self._audit(conn, record, caller, "function-publish", function_id, version_id)
        return {"diagnostics": diagnostics, "id": version_id}

    def republish(
        self, caller: Principal, record: DatabaseRecord, function_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        _authorize_manager(caller, record)
        self._row(record, function_id)
        version_id = body.get("version")
        if not isinstance(version_id, str):
            raise InvalidInput("republish needs version: the id of one of the function's versions")
        if body.get("runtime", "deno") not in RUNTIMES:
            raise InvalidInput(f"runtime must be one of {', '.join(RUNTIMES)}")
        version = self._version_row(function_id, version_id)
        with self.control.transaction() as conn:
            conn.execute("UPDATE functions SET current_version = ? WHERE id = ?", (version_id, function_id))
            self._audit(conn, record, caller, "function-republish", function_id, version_id)
        return {"diagnostics": json.loads(version["diagnostics_json"]), "id": version_id}

    def version(self, caller: Principal, record: DatabaseRecord, function_id: str, version_id: str) -> dict[str, Any]:
        _authorize_manager(caller, record)
        self._row(record, function_id)
        return self._function_json(function_id, self._version_row(function_id, version_id))

    def delete(self, caller: Principal, record: DatabaseRecord, function_id: str) -> None:
        _authorize_manager(caller, record)
        row = self._row(record, function_id)
        with self.control.transaction() as conn:
            conn.execute("DELETE FROM functions WHERE id = ?", (function_id,))
            self._audit(conn, record, caller, "function-delete", function_id, row["current_version"])

    def invocations(
        self, caller: Principal, record: DatabaseRecord, function_id: str, limit: str | None = None
    ) -> list[dict[str, Any]]:
        """The function's last calls, newest first: all that are kept, or the `limit` newest."""
        _authorize_manager(caller, record)
        self._row(record, function_id)
        count = KEPT_INVOCATIONS if limit is None else parse_count(limit)
        if count is None or not 1 <= count <= KEPT_INVOCATIONS:
            raise InvalidInput(f"limit is a whole number from 1 to {KEPT_INVOCATIONS}")
        rows = self.control.query(
            "SELECT * FROM function_invocations WHERE function_id = ? ORDER BY id DESC LIMIT ?",
            (function_id, count),
        )
        return [_invocation_json(row) for row in rows]

    # Calling

    def callable(self, function_id: str) -> CallableFunction | None:
        rows = self.control.query(
            "SELECT functions.id, functions.file_key, functions.permission, functions.public,"
            " function_versions.id AS version_id, function_versions.language, function_versions.content"
            " FROM functions JOIN function_versions ON function_versions.id = functions.current_version"
            " WHERE functions.id = ?",
            (function_id,),
        )
        if not rows:
            return None
        row = rows[0]
        return CallableFunction(
            row["id"],
            row["file_key"],
            row["permission"],
            bool(row["public"]),
            row["version_id"],
            row["language"],
            row["content"],
        )

    def record_invocation(
        self,
        function: CallableFunction,
        *,
        method: str,
        runtime_ms: float,
        ok: bool,
        data_json: str | None,
        error: str | None,
        logs: list[dict[str, Any]],
    ) -> None:
        """Keep this call, and the last KEPT_INVOCATIONS of the function only."""
        with self.control.transaction(bump=False) as conn:
            conn.execute(
                "INSERT INTO function_invocations(function_id, version_id, method, created_utc, runtime_ms, ok,"
                " data_json, error, logs_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    function.id,
                    function.version_id,
                    method,
                    utc_now_iso(),
                    runtime_ms,
                    int(ok),
                    data_json,
                    error,
                    json.dumps(logs),
                ),
            )
            oldest_kept = conn.execute(
                "SELECT id FROM function_invocations WHERE function_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                (function.id, KEPT_INVOCATIONS - 1),
            ).fetchone()
            if oldest_kept is not None:
                conn.execute(
                    "DELETE FROM function_invocations WHERE function_id = ? AND id < ?", (function.id, oldest_kept[0])
                )

    def _audit(
        self,
        conn: Any,
        record: DatabaseRecord,
        caller: Principal,
        kind: str,
        function_id: str,
        version_id: str,
        details: str = "",
    ) -> None:
        if self.audit is not None:
            statement = f"function {function_id} version {version_id}" + (f": {details}" if details else "")
            self.audit.write(conn, record, AuditEntry(caller, kind, statement))

    # Rows

    def _row(self, record: DatabaseRecord, function_id: str) -> ControlRow:
        rows = self.control.query(
            "SELECT * FROM functions WHERE id = ? AND file_key = ?", (function_id, record.file_key)
        )
        if not rows:
            raise NotFound(f"Function {function_id!r} does not exist in this database")
        return rows[0]

    def _version_row(self, function_id: str, version_id: str) -> ControlRow:
        rows = self.control.query(
            "SELECT * FROM function_versions WHERE id = ? AND function_id = ?", (version_id, function_id)
        )
        if not rows:
            raise NotFound(f"Version {version_id!r} of function {function_id!r} does not exist")
        return rows[0]

    def _insert_version(
        self,
        conn: Any,
        function_id: str,
        version_id: str,
        number: int,
        fields: dict[str, Any],
        diagnostics: list[dict[str, Any]],
    ) -> None:
        conn.execute(
            "INSERT INTO function_versions(id, function_id, number, name, description, runtime, language, content,"
            " diagnostics_json, created_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version_id,
                function_id,
                number,
                fields["name"],
                fields["description"],
                fields["runtime"],
                fields["language"],
                fields["content"],
                json.dumps(diagnostics),
                utc_now_iso(),
            ),
        )

    def _function_json(self, function_id: str, version: ControlRow | None = None) -> dict[str, Any]:
        row = self.control.query("SELECT * FROM functions WHERE id = ?", (function_id,))[0]
        versions = self.control.query(
            "SELECT id, number, created_utc FROM function_versions WHERE function_id = ? ORDER BY number",
            (function_id,),
        )
        if version is None:
            version = self._version_row(function_id, row["current_version"])
        return {
            "content": version["content"],
            "createdUtc": row["created_utc"],
            "description": version["description"],
            "diagnostics": json.loads(version["diagnostics_json"]),
            "id": function_id,
            "language": version["language"],
            "name": version["name"],
            "permission": row["permission"],
            "public": bool(row["public"]),
            "runtime": version["runtime"],
            "version": version["id"],
            "versionCreatedUtc": version["created_utc"],
            "versionNumber": version["number"],
            "currentVersion": row["current_version"],
            "versions": [v["id"] for v in versions],
        }


def _authorize_manager(caller: Principal, record: DatabaseRecord) -> None:
    """Editors and Admins of the database's team (and server admins), logged in: an API token,
    including the one a function's call holds, never manages functions."""
    authorize(caller, Action.READ, record)  # 404 / 401 first, as for any database request
    if caller.kind != PrincipalKind.USER:
        raise Forbidden("Functions are managed by the team's Editors and Admins, logged in: not with an API token")
    if not may(caller, Action.WRITE, record):
        raise Forbidden("Functions are managed by the team's Editors and Admins: your role here does not allow it")


def _checked_version_fields(body: dict[str, Any], current: ControlRow | None) -> dict[str, Any]:
    def value(key: str, default: Any) -> Any:
        if key in body:
            return body[key]
        return current[key] if current is not None else default

    name = value("name", None)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"A function needs a name of 1 to {MAX_NAME_CHARS} characters")
    description = value("description", None)
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS):
        raise InvalidInput(f"description is a text of at most {MAX_DESCRIPTION_CHARS} characters, or null")
    runtime = value("runtime", "deno")
    if runtime not in RUNTIMES:
        raise InvalidInput(f"runtime must be one of: {', '.join(RUNTIMES)}")
    language = value("language", "typescript")
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of: {', '.join(LANGUAGES)}")
    content = value("content", None)
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput("A function needs content: its TypeScript or JavaScript code, with a default export")
    if len(content) > MAX_CONTENT_CHARS:
        raise InvalidInput(f"A function's content is at most {MAX_CONTENT_CHARS} characters")
    return {
        "name": name.strip(),
        "description": description,
        "runtime": runtime,
        "language": language,
        "content": content,
    }


def _checked_permission(value: Any) -> str:
    if value not in PERMISSIONS:
        raise InvalidInput("permission must be 'read' or 'write': what the function's calls may do to the database")
    return str(value)


def _checked_public(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("public must be true (anyone may call the function) or false")
    return value


def _invocation_json(row: ControlRow) -> dict[str, Any]:
    return {
        "createdUtc": row["created_utc"],
        "data": row["data_json"] if row["data_json"] is not None else "null",
        "error": row["error"],
        "id": row["id"],
        "logs": json.loads(row["logs_json"]),
        "method": row["method"],
        "ok": bool(row["ok"]),
        "runtimeMs": row["runtime_ms"],
        "version": row["version_id"],
    }
