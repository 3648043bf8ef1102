"""Teams and their members' roles. Databases and tokens belong to a team; a team never loses its
last Admin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airsequel.core.auth.access import Principal, PrincipalKind, Role, TeamAction, authorize_team, require_user
from airsequel.core.clock import utc_now_iso
from airsequel.core.errors import Conflict, CoreError, InvalidInput, NotFound
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane

# Usernames (and so personal teams): 2 to 40 letters, digits, '-', '_' or '.'.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,39}")
# Other teams may also have single spaces inside their names ("Team 1", "New Team Name"), as Airsequel's
# teams do; a name never starts or ends with a space, so that it reads the same in a URL and on a page.
TEAM_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]| (?! ))*[A-Za-z0-9_.-]")


def checked_team_name(name: object, *, what: str = "team name") -> str:
    """A team name (`what="username"`: a username, which has no spaces) as given, or 400."""
    if what == "username":
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise InvalidInput(
                f"The {what} must have 2 to 40 characters: letters, digits, '-', '_' or '.', starting with a letter or"
                " digit"
            )
        return name
    if not isinstance(name, str) or not 2 <= len(name) <= 40 or not TEAM_NAME.fullmatch(name):
        raise InvalidInput(
            f"The {what} must have 2 to 40 characters: letters, digits, '-', '_', '.' or single spaces,"
            " starting with a letter or digit and not ending with a space"
        )
    return name


@dataclass
class Team:
    id: int
    name: str
    created_utc: str
    billing_email: str | None
    billing_plan: str | None
    billing_subscription_id: int | None


class Teams:
    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def insert_team(self, conn: ControlConnection, name: str, *, admin_user_id: int) -> int:
        """Create a team inside the caller's transaction, with one Admin."""
        if conn.execute("SELECT 1 FROM teams WHERE name = ?", (name,)).fetchone():
            raise Conflict(f"The team name {name!r} is taken")
        if conn.execute("SELECT 1 FROM users WHERE username = ? AND id <> ?", (name, admin_user_id)).fetchone():
            raise Conflict(f"The name {name!r} is taken by a user")
        team_id = conn.execute(
            "INSERT INTO teams(name, created_utc) VALUES (?, ?) RETURNING id", (name, utc_now_iso())
        ).fetchone()[0]
        conn.execute("INSERT INTO memberships(team_id, user_id, role) VALUES (?, ?, 'Admin')", (team_id, admin_user_id))
        assert team_id is not None
        return team_id

    def get(self, name: str) -> Team:
        """The team, whoever asks (callers' requests go through `authorized`)."""
        rows = self.control.query("SELECT * FROM teams WHERE name = ?", (name,))
        if not rows:
            raise NotFound(f"Team {name!r} does not exist")
        return Team(**dict(rows[0]))

    def authorized(self, caller: Principal, action: TeamAction, name: str) -> Team:
        """The team named `name`, after checking that the caller may do `action` there."""
        authorize_team(caller, action, name)
        return self.get(name)

    def allows(self, caller: Principal, action: TeamAction, name: str) -> bool:
        """Whether the caller may do `action` in the team (for showing or hiding what it may not do)."""
        try:
            authorize_team(caller, action, name)
        except CoreError:
            return False
        return True

    # --- what a caller asks for: the access check and the work, one call each ------------------

    def create(self, caller: Principal, name: str) -> dict[str, Any]:
        """A new team with the calling user as its Admin, as `team_json` shows it."""
        require_user(caller)
        assert caller.user_id is not None
        name = checked_team_name(name)
        with self.control.transaction() as conn:
            self.insert_team(conn, name, admin_user_id=caller.user_id)
        return self.team_json(self.get(name))

    def view(self, caller: Principal, name: str) -> dict[str, Any]:
        return self.team_json(self.authorized(caller, TeamAction.VIEW, name))

    def team_json(self, team: Team) -> dict[str, Any]:
        return {
            "billing": billing_json(team),
            "created_utc": team.created_utc,
            "databases": self.databases_json(team),
            "name": team.name,
        }

    def for_new_database(self, caller: Principal, team: str | None) -> tuple[str, str]:
        """(team name, username) that a database the caller creates belongs to: its personal team
        unless `team` names another in which it may create databases."""
        require_user(caller)
        assert caller.username is not None
        wanted = team or caller.username
        authorize_team(caller, TeamAction.CREATE_DATABASE, wanted)
        return self.get(wanted).name, caller.username

    def roles_of_user(self, user_id: int) -> dict[str, frozenset[Role]]:
        roles: dict[str, set[Role]] = {}
        for name, role in self.control.query(
            "SELECT teams.name, memberships.role FROM memberships JOIN teams ON teams.id = memberships.team_id"
            " WHERE memberships.user_id = ?",
            (user_id,),
        ):
            roles.setdefault(name.lower(), set()).add(Role(role))
        return {team: frozenset(values) for team, values in roles.items()}

    def teams_of_user(self, user_id: int) -> list[dict[str, Any]]:
        """The reference's short team objects: name, billing, numberOfDatabases."""
        rows = self.control.query(
            "SELECT DISTINCT teams.* FROM teams JOIN memberships ON memberships.team_id = teams.id"
            " WHERE memberships.user_id = ? ORDER BY teams.name",
            (user_id,),
        )
        return [
            {
                "billing": billing_json(Team(**dict(row))),
                "name": row["name"],
                "numberOfDatabases": self.count_databases(row["name"]),
            }
            for row in rows
        ]

    def count_databases(self, name: str) -> int:
        return self.control.query("SELECT count(*) FROM databases WHERE owner = ?", (name,))[0][0]

    def members(self, caller: Principal, name: str) -> list[dict[str, Any]]:
        """The team's members and their roles, to anyone who sees the team."""
        return self.members_of(self.authorized(caller, TeamAction.VIEW, name))

    def members_of(self, team: Team) -> list[dict[str, Any]]:
        members: dict[str, list[str]] = {}
        for username, role in self.control.query(
            "SELECT users.username, memberships.role FROM memberships JOIN users ON users.id = memberships.user_id"
            " WHERE memberships.team_id = ? ORDER BY users.username, memberships.role",
            (team.id,),
        ):
            members.setdefault(username, []).append(role)
        return [{"username": name, "roles": roles} for name, roles in members.items()]

    def set_roles(self, caller: Principal, name: str, username: str, roles: object) -> None:
        """Add a member or change their roles (team Admins only); refuse to remove the last Admin. `roles`
        comes straight from the request body and is checked here (a non-empty list of role names)."""
        team = self.authorized(caller, TeamAction.ADMINISTER, name)
        user_id = self._user_id(username)
        wanted = _checked_roles(roles)
        with self.control.transaction() as conn:
            conn.execute("DELETE FROM memberships WHERE team_id = ? AND user_id = ?", (team.id, user_id))
            conn.executemany(
                "INSERT INTO memberships(team_id, user_id, role) VALUES (?, ?, ?)",
                [(team.id, user_id, role.value) for role in wanted],
            )
            _ensure_an_admin(conn, team)

    def remove_member(self, caller: Principal, name: str, username: str) -> None:
        """Take a user out of the team: a team Admin may remove anyone, a member may leave; the last
        Admin stays."""
        leaving = caller.kind == PrincipalKind.USER and (caller.username or "").lower() == username.lower()
        team = self.authorized(caller, TeamAction.VIEW if leaving else TeamAction.ADMINISTER, name)
        user_id = self._user_id(username)
        with self.control.transaction() as conn:
            removed = conn.execute(
                "DELETE FROM memberships WHERE team_id = ? AND user_id = ?", (team.id, user_id)
            ).rowcount
            if not removed:
                raise NotFound("That user is not a member of this team")
            _ensure_an_admin(conn, team)

    def update(
        self, caller: Principal, team_name: str, *, name: str | None = None, billing: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Rename the team (its databases move along) or change its billing columns (team Admins only);
        the team as `team_json` shows it afterwards."""
        team = self.authorized(caller, TeamAction.ADMINISTER, team_name)
        billing = _checked_billing(billing or {})
        with self.control.transaction() as conn:
            if name is not None and name != team.name:
                name = checked_team_name(name)
                if conn.execute("SELECT 1 FROM teams WHERE name = ? AND id <> ?", (name, team.id)).fetchone():
                    raise Conflict(f"The team name {name!r} is taken")
                if (
                    conn.execute("SELECT 1 FROM users WHERE username = ?", (name,)).fetchone()
                    and name.lower() != team.name.lower()
                ):
                    raise Conflict(f"The name {name!r} is taken by a user")
                conn.execute("UPDATE teams SET name = ? WHERE id = ?", (name, team.id))
                conn.execute("UPDATE databases SET owner = ? WHERE owner = ?", (name, team.name))
            for column, value in billing.items():
                conn.execute(f"UPDATE teams SET {column} = ? WHERE id = ?", (value, team.id))
        return self.team_json(self.get(name or team.name))

    def delete(self, caller: Principal, name: str) -> None:
        """Delete a team that owns no databases (team Admins only)."""
        team = self.authorized(caller, TeamAction.ADMINISTER, name)
        with self.control.transaction() as conn:
            if conn.execute("SELECT 1 FROM databases WHERE owner = ?", (team.name,)).fetchone():
                raise Conflict("The team still owns databases: delete or move them first")
            conn.execute("DELETE FROM teams WHERE id = ?", (team.id,))

    def _user_id(self, username: str) -> int:
        rows = self.control.query("SELECT id FROM users WHERE username = ?", (username,))
        if not rows:
            raise NotFound(f"User {username!r} does not exist")
        return rows[0]["id"]

    def databases_json(self, team: Team) -> list[dict[str, Any]]:
        return [
            {
                "environment": row["environment"],
                "id": row["id"],
                "name": row["name"],
                "ownership_utc": row["ownership_utc"],
                "visibility": row["visibility"],
            }
            for row in self.control.query(
                "SELECT id, name, environment, ownership_utc, visibility FROM databases WHERE owner = ? ORDER BY name",
                (team.name,),
            )
        ]


def billing_json(team: Team) -> dict[str, Any] | None:
    if team.billing_email is None and team.billing_plan is None and team.billing_subscription_id is None:
        return None
    return {
        "email_address": team.billing_email,
        "plan": team.billing_plan,
        "subscription_id": team.billing_subscription_id,
    }


BILLING_COLUMNS = ("billing_email", "billing_plan", "billing_subscription_id")


def _checked_billing(billing: dict[str, Any]) -> dict[str, Any]:
    unknown = set(billing) - set(BILLING_COLUMNS)
    if unknown:
        raise InvalidInput(f"Unknown billing fields: {', '.join(sorted(unknown))}")
    value = billing.get("billing_subscription_id")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise InvalidInput("billing_subscription_id must be an integer or null")
    return billing


def _checked_roles(roles: object) -> list[Role]:
    if not isinstance(roles, list) or not roles:
        raise InvalidInput("roles must be a non-empty list of 'Admin', 'Editor', 'Viewer'")
    try:
        return sorted({Role(role) for role in roles}, key=lambda role: role.value)
    except ValueError:
        raise InvalidInput("roles must be a non-empty list of 'Admin', 'Editor', 'Viewer'") from None


def _ensure_an_admin(conn: ControlConnection, team: Team) -> None:
    if not conn.execute("SELECT 1 FROM memberships WHERE team_id = ? AND role = 'Admin'", (team.id,)).fetchone():
        raise Conflict("A team needs at least one Admin")
