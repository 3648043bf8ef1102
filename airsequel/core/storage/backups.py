"""Point-in-time restore of hosted databases from their Litestream replicas."""

from __future__ import annotations

import sqlite3
from typing import Any

from airsequel.core.auth.access import Action, Principal, authorize
from airsequel.core.auth.teams import Teams
from airsequel.core.errors import InvalidInput, NotFound, Unprocessable
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.registry.epochs import epoch_at
from airsequel.core.storage import replication
from airsequel.core.storage.hosting import Hosting
from airsequel.core.storage.litestream_commands import restore_epoch


class Backups:
    def __init__(self, hosting: Hosting, teams: Teams) -> None:
        self.hosting = hosting
        self.teams = teams

    def _replication(self) -> replication.Replication:
        if self.hosting.replication is None:
            raise NotFound("Backups are off on this server: set AIRSEQUEL_REPLICA_URL to turn them on")
        return self.hosting.replication

    def window(self, record: DatabaseRecord, caller: Principal) -> dict[str, Any]:
        """The earliest and latest point `record` can be restored to (its managers only)."""
        authorize(caller, Action.MANAGE, record)
        found = replication.restore_window(self._replication().url_for(record.file_key, record.epoch))
        return {"earliest": found.earliest, "latest": found.latest}

    def restore(
        self, record: DatabaseRecord, caller: Principal, timestamp: str | None, *, as_new: bool, team: str | None
    ) -> DatabaseRecord:
        """`record` as of `timestamp` (default: latest), into a new database of the caller's `team`
        (`as_new`) or in place. Either way only a manager of the database may: a past state holds rows
        deleted since, which a reader (of a public database, a team Viewer, a token) never saw or
        may no longer see. The right is checked before anything is fetched from the replica."""
        authorize(caller, Action.MANAGE, record)
        if timestamp is not None and "T" not in timestamp:
            raise InvalidInput("timestamp must be an ISO 8601 time such as 2026-01-31T12:00:00Z")
        owner = created_by = None
        if as_new:
            owner, created_by = self.teams.for_new_database(caller, team)
        target = self.hosting.temp_path(".sqlite")
        # The moment's state is in the replica of the epoch then in force (a move, a takeover or a
        # replace starts a new one).
        epoch = epoch_at(self.hosting.control, record.file_key, timestamp, record.epoch)
        url = self._replication().url_for(record.file_key, epoch)
        restore_epoch(url, target, timestamp, ended=epoch != record.epoch)
        try:
            conn = sqlite3.connect(f"{target.as_uri()}?mode=ro&immutable=1", uri=True)
            try:
                problems = [row[0] for row in conn.execute("PRAGMA integrity_check(10)")]
            finally:
                conn.close()
            if problems != ["ok"]:
                raise Unprocessable("The restored file failed its integrity check: " + "; ".join(problems))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if as_new:
            stamp = timestamp or "latest"
            return self.hosting.create_from_upload(
                target,
                filename="restored.sqlite",
                name=f"{record.name} (restored {stamp})",
                owner=owner or record.owner,
                created_by=created_by,
            )
        return self.hosting.replace_content(record, target, filename="restored.sqlite", actor=caller, kind="restore")
