"""API tokens: created by a team Admin, scoped to named databases of that team, stored hashed.

The body (`ast_` + 192 random bits) is shown once at creation. Look-up is by SHA-256 of the body,
followed by a constant-time comparison, so neither a stolen control plane nor response timing
reveals a token.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airsequel.core.auth.access import Principal, TeamAction, authorize_team
from airsequel.core.auth.accounts import digest
from airsequel.core.auth.teams import Team, Teams
from airsequel.core.clock import SYSTEM_CLOCK, Clock, iso_from_datetime, utc_now_iso
from airsequel.core.errors import InvalidInput, NotAuthenticated, NotFound
from airsequel.core.integer_text import parse_count
from airsequel.core.registry.connection import ControlRow
from airsequel.core.registry.control_plane import ControlPlane

PREFIX = "ast_"
PERMISSIONS = ("read", "write", "insert")
LAST_USED_RESOLUTION_SECONDS = 60.0


@dataclass
class TokenGrant:
    """What a presented token allows."""

    token_id: int
    team: str
    permissions: dict[str, str]  # database file key -> permission
    expiration_utc: str | None


class Tokens:
    """Every method that a caller's request reaches takes the caller and checks first that it may
    administer the token's team: tokens are a team Admin's business (or a server admin's)."""

    def __init__(self, control: ControlPlane, clock: Clock = SYSTEM_CLOCK, *, teams: Teams | None = None) -> None:
        self.control = control
        self.clock = clock  # what expiry is checked against (tests inject a ManualClock)
        self.teams = teams if teams is not None else Teams(control)
        self._last_used_written: dict[int, float] = {}
        self._lock = threading.Lock()

    def create(
        self,
        caller: Principal,
        team_name: str,
        *,
        name: str,
        description: str | None,
        expiration_utc: str | None,
        permissions: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """A new token of the team, with its body (the only time the body is shown)."""
        team = self.teams.authorized(caller, TeamAction.ADMINISTER, team_name)
        assert caller.user_id is not None  # only users administer teams
        name = _checked_name(name)
        expiration_utc = _checked_expiration(expiration_utc, self.clock)
        grants = self._checked_permissions(team, permissions)
        body = PREFIX + secrets.token_urlsafe(24)
        created_utc = utc_now_iso(self.clock)
        with self.control.transaction() as conn:
            token_id = conn.execute(
                "INSERT INTO tokens(team_id, name, description, token_hash, masked_body, created_by, created_utc,"
                " expiration_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    team.id,
                    name,
                    description,
                    digest(body),
                    body[:12] + "…",
                    caller.user_id,
                    created_utc,
                    expiration_utc,
                ),
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO token_permissions(token_id, db_file_key, permission) VALUES (?, ?, ?)",
                [(token_id, file_key, permission) for file_key, permission in grants.items()],
            )
        assert token_id is not None
        return {**self.get(token_id), "body": body}

    def show(self, caller: Principal, token_id: str) -> dict[str, Any]:
        """The token (its body masked), by the id as the path gives it."""
        return self.get(self.authorized_id(caller, token_id))

    def change(
        self, caller: Principal, token_id: str, changes: dict[str, Any], *, team_name: str | None = None
    ) -> dict[str, Any]:
        """Change name, description, expiration_utc or permissions (`changes` by those names); a
        `team_name` other than the token's is refused: a token stays in its team."""
        checked_id = self.authorized_id(caller, token_id)
        current = self.get(checked_id)
        if team_name is not None and team_name.lower() != current["team_name"].lower():
            raise InvalidInput("A token cannot move to another team")
        return self._update(checked_id, self.teams.get(current["team_name"]), changes)

    def revoke(self, caller: Principal, token_id: str) -> None:
        checked_id = self.authorized_id(caller, token_id)
        if not self.control.execute("DELETE FROM tokens WHERE id = ?", (checked_id,)):
            raise NotFound(f"Token {checked_id} does not exist")

    def of_team(self, caller: Principal, team_name: str) -> list[dict[str, Any]]:
        return self.list_for_team(self.teams.authorized(caller, TeamAction.ADMINISTER, team_name))

    def authorized_id(self, caller: Principal, token_id: str) -> int:
        """The token's number, after checking that the caller administers its team. A token of a team
        the caller does not see is as unknown as a token that does not exist."""
        number = parse_count(token_id)
        if number is None:
            raise NotFound(f"Token {token_id!r} does not exist")
        team_name = self.team_of(number)
        try:
            authorize_team(caller, TeamAction.ADMINISTER, team_name)
        except NotFound:
            raise NotFound(f"Token {token_id!r} does not exist") from None
        return number

    def get(self, token_id: int) -> dict[str, Any]:
        rows = self.control.query(
            "SELECT tokens.*, teams.name AS team_name FROM tokens JOIN teams ON teams.id = tokens.team_id WHERE tokens.id = ?",
            (token_id,),
        )
        if not rows:
            raise NotFound(f"Token {token_id} does not exist")
        return self._json(rows[0])

    def team_of(self, token_id: int) -> str:
        return self.get(token_id)["team_name"]

    def list_for_team(self, team: Team) -> list[dict[str, Any]]:
        rows = self.control.query(
            "SELECT tokens.*, teams.name AS team_name FROM tokens JOIN teams ON teams.id = tokens.team_id"
            " WHERE tokens.team_id = ? ORDER BY tokens.id",
            (team.id,),
        )
        return [self._json(row) for row in rows]

    def _update(self, token_id: int, team: Team, changes: dict[str, Any]) -> dict[str, Any]:
        assignments: dict[str, Any] = {}
        if "name" in changes:
            assignments["name"] = _checked_name(changes["name"])
        if "description" in changes:
            assignments["description"] = changes["description"]
        if "expiration_utc" in changes:
            # A past expiry here is allowed: it ends the token at once.
            assignments["expiration_utc"] = _checked_expiration(changes["expiration_utc"], None)
        grants = self._checked_permissions(team, changes["permissions"]) if "permissions" in changes else None
        with self.control.transaction() as conn:
            for column, value in assignments.items():
                conn.execute(f"UPDATE tokens SET {column} = ? WHERE id = ?", (value, token_id))
            if grants is not None:
                conn.execute("DELETE FROM token_permissions WHERE token_id = ?", (token_id,))
                conn.executemany(
                    "INSERT INTO token_permissions(token_id, db_file_key, permission) VALUES (?, ?, ?)",
                    [(token_id, file_key, permission) for file_key, permission in grants.items()],
                )
        return self.get(token_id)

    def grant_for(self, body: str) -> TokenGrant:
        """What the presented token allows; 401 when it is unknown, revoked or expired."""
        token_hash = digest(body)
        rows = self.control.query(
            "SELECT tokens.id, tokens.token_hash, tokens.expiration_utc, teams.name AS team_name FROM tokens"
            " JOIN teams ON teams.id = tokens.team_id WHERE tokens.token_hash = ?",
            (token_hash,),
        )
        if not rows or not hmac.compare_digest(rows[0]["token_hash"], token_hash):
            raise NotAuthenticated("The API token is unknown or was revoked")
        row = rows[0]
        if row["expiration_utc"] is not None and row["expiration_utc"] <= utc_now_iso(self.clock):
            raise NotAuthenticated("The API token has expired")
        self.touch(row["id"])
        permissions = {
            file_key: permission
            for file_key, permission in self.control.query(
                "SELECT db_file_key, permission FROM token_permissions WHERE token_id = ?", (row["id"],)
            )
        }
        return TokenGrant(row["id"], row["team_name"], permissions, row["expiration_utc"])

    def touch(self, token_id: int) -> None:
        """Record last use, at most once a minute per token (a write per request would cost)."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_used_written.get(token_id, -1e9) < LAST_USED_RESOLUTION_SECONDS:
                return
            self._last_used_written[token_id] = now
        self.control.execute("UPDATE tokens SET last_used_utc = ? WHERE id = ?", (utc_now_iso(self.clock), token_id))

    def _checked_permissions(self, team: Team, permissions: object) -> dict[str, str]:
        if not isinstance(permissions, list):
            raise InvalidInput("permissions must be a list of {db_id, name}")
        grants: dict[str, str] = {}
        for item in permissions:
            if (
                not isinstance(item, dict)
                or item.get("name") not in PERMISSIONS
                or not isinstance(item.get("db_id"), str)
            ):
                raise InvalidInput("Each permission needs db_id and name: 'read', 'write' or 'insert'")
            rows = self.control.query("SELECT file_key, owner FROM databases WHERE id = ?", (item["db_id"],))
            if not rows or (rows[0]["owner"] or "").lower() != team.name.lower():
                raise InvalidInput(f"The database {item['db_id']!r} does not belong to team {team.name!r}")
            grants[rows[0]["file_key"]] = item["name"]
        if not grants:
            # A token with no permission can do nothing at all: surely a mistake, never something to keep.
            raise InvalidInput(
                "A token needs at least one permission: 'read', 'write' or 'insert' on a database of the team"
            )
        return grants

    def _json(self, row: ControlRow) -> dict[str, Any]:
        permissions = [
            {"db_id": db_id, "db_name": db_name, "name": permission}
            for db_id, db_name, permission in self.control.query(
                "SELECT databases.id, databases.name, token_permissions.permission FROM token_permissions"
                " JOIN databases ON databases.file_key = token_permissions.db_file_key"
                " WHERE token_permissions.token_id = ? ORDER BY databases.name",
                (row["id"],),
            )
        ]
        return {
            "body": row["masked_body"],
            "created_utc": row["created_utc"],
            "description": row["description"],
            "expiration_utc": row["expiration_utc"],
            "id": row["id"],
            "last_used_utc": row["last_used_utc"],
            "name": row["name"],
            "permissions": permissions,
            "team_name": row["team_name"],
        }


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("A token needs a name of 1 to 200 characters")
    return name.strip()


def _checked_expiration(value: object, clock: Clock | None) -> str | None:
    """An expiry as stored; with a `clock`, it must be in the future (a new token that has already
    expired would never work)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("expiration_utc must be an ISO 8601 UTC time or null")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("expiration_utc must be an ISO 8601 UTC time such as 2030-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if clock is not None and moment <= clock.now():
        raise InvalidInput(f"expiration_utc {value} is already past: give a time in the future, or null for none")
    return iso_from_datetime(moment)
