"""Per-team quotas, all of them settings: databases (team_max_databases), bytes of hosted files
(team_max_bytes), bytes of export files and assets (team_max_export_bytes), export jobs queued or
running (team_max_queued_jobs).

A database belongs to a team: its registry `owner` is the team's name, and a user's own databases
are owned by the user's personal team (named after the user), so they count as that team's. A
database without an owner (made by the server itself) counts against no quota.

Over a count (databases, queued jobs) is 429; over bytes is 413. Each refusal names the quota, the
numbers and the setting. The checks that decide run inside the control-plane transaction that
writes the new row, so concurrent requests cannot together pass a quota.
"""

from __future__ import annotations

from pathlib import Path

from airsequel.config import LiveSettings
from airsequel.core.errors import TooLarge, TooManyRequests
from airsequel.core.layout import DataLayout
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane

QUEUED_JOBS_RETRY_AFTER_SECONDS = 30  # a queued export usually finishes within this


class Quotas:
    def __init__(self, control: ControlPlane, live: LiveSettings, layout: DataLayout) -> None:
        self.control = control
        self.live = live
        self.layout = layout

    # --- hosted databases ---------------------------------------------------------------------

    def check_new_database(self, owner: str | None, size: int, conn: ControlConnection | None = None) -> None:
        """Refuse a new database of `size` bytes for team `owner` over its count or bytes quota.
        Pass `conn` inside the transaction that inserts the database, so the check holds."""
        if owner is None:
            return
        settings = self.live.current
        count, used = self._team_databases(owner, conn)
        if count >= settings.team_max_databases:
            raise TooManyRequests(
                f"Team {owner!r} holds {count} databases, as many as its quota allows (team_max_databases ="
                f" {settings.team_max_databases}, AIRSEQUEL_TEAM_MAX_DATABASES): delete one first",
                retry_after=None,
            )
        self._check_bytes(owner, used, size)

    def check_growth(self, owner: str | None, adding: int, conn: ControlConnection | None = None) -> None:
        """Refuse `adding` more bytes of hosted files to team `owner` (a replacement, a restore) over its quota."""
        if owner is None or adding <= 0:
            return
        self._check_bytes(owner, self._team_databases(owner, conn)[1], adding)

    def _check_bytes(self, owner: str, used: int, adding: int) -> None:
        limit = self.live.current.team_max_bytes
        if used + adding > limit:
            raise TooLarge(
                f"The databases of team {owner!r} would hold {used + adding} bytes, over its quota of {limit} bytes"
                f" (team_max_bytes, AIRSEQUEL_TEAM_MAX_BYTES); {used} are in use: nothing was written"
            )

    def _team_databases(self, owner: str, conn: ControlConnection | None) -> tuple[int, int]:
        row = self._first_row("SELECT count(*), coalesce(sum(size), 0) FROM databases WHERE owner = ?", owner, conn)
        return int(row[0]), int(row[1])

    def _first_row(self, sql: str, team: str, conn: ControlConnection | None) -> tuple:
        """One row of `sql` about `team`: inside the caller's transaction when given `conn`."""
        if conn is not None:
            return tuple(conn.execute(sql, (team,)).fetchone())
        return tuple(self.control.query(sql, (team,))[0])

    # --- exports and assets --------------------------------------------------------------------

    def export_bytes_used(self, team: str, *, except_asset: str | None = None) -> int:
        """Bytes of the team's assets and finished export files (as they are on disk)."""
        assets = self.control.query(
            "SELECT coalesce(sum(assets.size), 0) FROM assets JOIN databases USING (file_key)"
            " WHERE databases.owner = ? AND assets.id IS NOT ?",
            (team, except_asset),
        )[0][0]
        exports = 0
        for job_id, artifact in self.control.query(
            "SELECT id, artifact_name FROM export_jobs WHERE team = ? AND artifact_name IS NOT NULL", (team,)
        ):
            exports += _size(self.layout.exports_dir / job_id / artifact)
        return int(assets) + exports

    def check_export_bytes(self, team: str | None, adding: int, *, except_asset: str | None = None) -> None:
        """Refuse `adding` bytes of export files or assets to `team` over team_max_export_bytes
        (with `adding` 0: refuse when the team is at its quota already)."""
        if not team:
            return
        limit = self.live.current.team_max_export_bytes
        used = self.export_bytes_used(team, except_asset=except_asset)
        if used + adding > limit or (adding == 0 and used >= limit):
            raise TooLarge(
                f"The exports and assets of team {team!r} would hold {used + adding} bytes, over its quota of {limit}"
                f" bytes (team_max_export_bytes, AIRSEQUEL_TEAM_MAX_EXPORT_BYTES); {used} are in use:"
                " delete exports or assets first"
            )

    def check_queued_jobs(self, team: str, conn: ControlConnection | None = None) -> None:
        limit = self.live.current.team_max_queued_jobs
        queued = self._first_row(
            "SELECT count(*) FROM export_jobs WHERE team = ? AND status IN ('STARTED', 'RUNNING')", team, conn
        )[0]
        if queued >= limit:
            raise TooManyRequests(
                f"Team {team!r} has {queued} export jobs queued or running, as many as its quota allows"
                f" (team_max_queued_jobs = {limit}, AIRSEQUEL_TEAM_MAX_QUEUED_JOBS): wait for one to finish",
                retry_after=QUEUED_JOBS_RETRY_AFTER_SECONDS,
            )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
