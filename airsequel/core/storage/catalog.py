"""The databases as a caller sees them: which it may list, and new ones it creates (empty, from an
upload, or as a copy) in a team where it may create databases. Hosting does the work on files."""

from __future__ import annotations

from pathlib import Path

from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.auth.teams import Teams
from airsequel.core.errors import NotAuthenticated
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.storage.hosted_files import remove_path
from airsequel.core.storage.hosting import Hosting


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
        self, caller: Principal, team: str | None, name: str, *, description: str | None, query: str | None
    ) -> DatabaseRecord:
        """An empty database of `team` (default: the caller's personal team), shaped by `query`."""
        owner, username = self.teams.for_new_database(caller, team)
        return self.hosting.create(name, description=description, query=query, owner=owner, created_by=username)

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
