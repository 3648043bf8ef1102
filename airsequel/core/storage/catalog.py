"""The databases as a caller sees them: which it may list, and new ones it creates (empty, from an
upload, or as a copy) in a team where it may create databases. Hosting does the work on files."""

from __future__ import annotations

from pathlib import Path

from airsequel.core.admin.audit import AuditEntry
from airsequel.core.auth.access import Action, Principal, PrincipalKind, authorize
from airsequel.core.auth.teams import Teams
from airsequel.core.clock import utc_now_iso
from airsequel.core.errors import InvalidInput, NotAuthenticated
from airsequel.core.registry.control_plane import DatabaseRecord, write_database_changes
from airsequel.core.storage.hosted_files import remove_path
from airsequel.core.storage.hosting import Hosting
from airsequel.core.storage.new_databases import checked_description, checked_name

FILE_FORMATS = ("sqlite", "csv")


class Catalog:
    def __init__(self, hosting: Hosting, teams: Teams) -> None:
        self.hosting = hosting
        self.teams = teams

    def visible_to(
        self, caller: Principal, limit: int | None = None, offset: int = 0
    ) -> tuple[list[DatabaseRecord], int]:
        """A page of the databases the caller works with: its teams' (all, for a server admin), or a
        token's; and how many there are."""
        control = self.hosting.control
        if caller.kind == PrincipalKind.ANONYMOUS:
            raise NotAuthenticated("Log in or send an API token to list databases")
        if caller.kind == PrincipalKind.TOKEN:
            return control.list_databases(file_keys=list(caller.token_permissions), limit=limit, offset=offset)
        if caller.kind == PrincipalKind.USER and not caller.server_admin:
            return control.list_databases(owners=list(caller.team_roles), limit=limit, offset=offset)
        if caller.kind == PrincipalKind.USER:
            return control.list_databases(limit=limit, offset=offset)
        return [], 0  # a read-only id lists nothing

    def create(
        self,
        caller: Principal,
        team: str | None,
        name: str,
        *,
        description: str | None,
        query: str | None,
        file_format: object = None,
    ) -> DatabaseRecord:
        """An empty database of `team` (default: the caller's personal team), shaped by `query`.
        `file_format` ('sqlite', the default, or 'csv') is recorded as the database's fileFormat."""
        checked_format = checked_file_format(file_format)
        owner, username = self.teams.for_new_database(caller, team)
        return self.hosting.create(
            name, description=description, query=query, owner=owner, created_by=username, file_format=checked_format
        )

    def change(
        self,
        record: DatabaseRecord,
        caller: Principal,
        *,
        name: str | None = None,
        description: str | None = None,
        clear_description: bool = False,
        team: str | None = None,
    ) -> DatabaseRecord:
        """Rename, describe and move a database to another `team`, all or nothing. Moving needs the
        right to manage the database and to create databases in the target team, whose quotas must
        take it; the old team's API tokens lose their grants on it (a token stays in its team), and the
        move is an audit entry."""
        authorize(caller, Action.MANAGE, record)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = checked_name(name)
        if description is not None or clear_description:
            changes["description"] = checked_description(description)
        target = None
        if team is not None:
            if not team.strip():
                raise InvalidInput("owner must name a team (a database always belongs to one)")
            target, _username = self.teams.for_new_database(caller, team.strip())
        control = self.hosting.control
        with control.transaction() as conn:
            if target is not None and target != record.owner:
                self.hosting.quotas.check_new_database(target, record.size, conn)
                changes.update(owner=target, ownership_utc=utc_now_iso())
                conn.execute(
                    "DELETE FROM token_permissions WHERE db_file_key = ? AND token_id IN"
                    " (SELECT tokens.id FROM tokens JOIN teams ON teams.id = tokens.team_id"
                    " WHERE teams.name <> ? COLLATE NOCASE)",
                    (record.file_key, target),
                )
                entry = AuditEntry(caller, "move", f"moved from team {record.owner!r} to team {target!r}")
                self.hosting.audit.write(conn, record, entry)
            write_database_changes(conn, record.file_key, changes)
        return self.hosting.get(record.id)

    def check_may_upload(self, caller: Principal, team: str | None, declared_bytes: int | None) -> None:
        """Before an upload's body is read: the caller may create a database in the team, the team is
        under its quotas, and the disk has room for the body (its declared length, when it has one)."""
        owner, _username = self.teams.for_new_database(caller, team)
        self.hosting.quotas.check_new_database(owner, declared_bytes or 0)
        self.hosting.disk.check_room(declared_bytes or 0, what="The upload")

    def create_from_upload(
        self, caller: Principal, team: str | None, upload: Path, *, filename: str | None, name: str | None
    ) -> DatabaseRecord:
        """A database from an uploaded file; the upload is removed whatever happens."""
        try:
            owner, username = self.teams.for_new_database(caller, team)
        except BaseException:
            remove_path(upload)
            raise
        return self.hosting.create_from_upload(upload, filename=filename, name=name, owner=owner, created_by=username)

    def duplicate(self, record: DatabaseRecord, caller: Principal, team: str | None) -> DatabaseRecord:
        owner, username = self.teams.for_new_database(caller, team)
        return self.hosting.duplicate(record, owner=owner, created_by=username)


def checked_file_format(value: object) -> str:
    """A database's fileFormat: 'sqlite' (the default) or 'csv' (what it was made from, or is
    exchanged as: the hosted file is SQLite either way)."""
    if value is None:
        return "sqlite"
    if not isinstance(value, str) or value.lower() not in FILE_FORMATS:
        raise InvalidInput(f"fileFormat must be 'sqlite' or 'csv', got {value!r}")
    return value.lower()
