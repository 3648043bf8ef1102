"""Who may do what: the one place that decides (principal, action, database or team).

Principals: anonymous callers, users (by their team roles, or as server admin), API tokens (by the
permission they hold on each named database) and holders of a read-only id (read access to that one
database, while its managers keep the link on). The core's methods call `authorize` / `authorize_team` (routes only through the helpers
of http/context.py); routes never decide for themselves.

Answers: 404 when the caller may not even see a private database (ids cannot be probed), 401 when a
login would help, 403 when the caller is known and sees the thing but lacks the right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from airsequel.core.errors import Forbidden, NotAuthenticated, NotFound
from airsequel.core.registry.control_plane import DatabaseRecord


class Action(str, Enum):
    READ = "read"  # query, download, duplicate, see metadata
    INSERT = "insert"  # insert rows only (forms, webhooks): GraphQL insert-only mode
    WRITE = "write"  # change data or schema, replace content, vacuum
    MANAGE = "manage"  # rename, delete, regenerate ids, read-only link, settings, restore a past state


class TeamAction(str, Enum):
    VIEW = "view"  # see the team, its databases and members
    CREATE_DATABASE = "create-database"
    ADMINISTER = "administer"  # members, tokens, rename, delete


class Role(str, Enum):
    ADMIN = "Admin"
    EDITOR = "Editor"
    VIEWER = "Viewer"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.EDITOR: frozenset({Action.READ, Action.INSERT, Action.WRITE}),
    Role.ADMIN: frozenset(Action),
}
ROLE_TEAM_ACTIONS: dict[Role, frozenset[TeamAction]] = {
    Role.VIEWER: frozenset({TeamAction.VIEW}),
    Role.EDITOR: frozenset({TeamAction.VIEW, TeamAction.CREATE_DATABASE}),
    Role.ADMIN: frozenset(TeamAction),
}
TOKEN_ACTIONS: dict[str, frozenset[Action]] = {
    "read": frozenset({Action.READ}),
    "write": frozenset({Action.READ, Action.INSERT, Action.WRITE}),
    "insert": frozenset({Action.INSERT}),
}


class PrincipalKind(str, Enum):
    ANONYMOUS = "anonymous"
    USER = "user"
    TOKEN = "token"
    READONLY_ID = "readonly-id"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    user_id: int | None = None
    username: str | None = None
    server_admin: bool = False
    # team name (lower case) -> the user's roles there
    team_roles: dict[str, frozenset[Role]] = field(default_factory=dict)
    token_id: int | None = None
    token_team: str | None = None
    # database file key -> "read" | "write" | "insert"
    token_permissions: dict[str, str] = field(default_factory=dict)
    readonly_file_key: str | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(PrincipalKind.ANONYMOUS)

    @classmethod
    def for_readonly_id(cls, record: DatabaseRecord) -> Principal:
        return cls(PrincipalKind.READONLY_ID, readonly_file_key=record.file_key)

    def roles_in(self, team: str | None) -> frozenset[Role]:
        if team is None:
            return frozenset()
        return self.team_roles.get(team.lower(), frozenset())


def is_server_admin(principal: Principal) -> bool:
    """A logged-in user who is a server admin (a token never is, whoever made it)."""
    return principal.kind == PrincipalKind.USER and principal.server_admin


def allowed_actions(principal: Principal, record: DatabaseRecord) -> frozenset[Action]:
    """Everything `principal` may do with the database."""
    actions: set[Action] = set()
    if record.visibility == "public":
        actions.add(Action.READ)
    if principal.kind == PrincipalKind.USER:
        if principal.server_admin:
            return frozenset(Action)
        for role in principal.roles_in(record.owner):
            actions |= ROLE_ACTIONS[role]
    elif principal.kind == PrincipalKind.TOKEN:
        permission = principal.token_permissions.get(record.file_key)
        if permission:
            actions |= TOKEN_ACTIONS[permission]
    elif (
        principal.kind == PrincipalKind.READONLY_ID
        and principal.readonly_file_key == record.file_key
        and record.readonly_enabled
    ):
        actions.add(Action.READ)
    return frozenset(actions)


def may(principal: Principal, action: Action, record: DatabaseRecord) -> bool:
    return action in allowed_actions(principal, record)


@dataclass(frozen=True)
class Disclosure:
    """What a caller may see of a database's registry entry beyond its name and shape."""

    readonly_id: str | None  # the read-only link's id: to managers, while the link is on
    contents: bool  # facts that follow from the rows (size, last modification): to readers


def disclosure(principal: Principal, record: DatabaseRecord) -> Disclosure:
    """The read-only id goes only to those who manage sharing (and only while the link is on); an
    insert-only caller learns nothing that follows from existing rows."""
    actions = allowed_actions(principal, record)
    shown = record.readonly_id if record.readonly_enabled and Action.MANAGE in actions else None
    return Disclosure(readonly_id=shown, contents=Action.READ in actions)


def authorize(principal: Principal, action: Action, record: DatabaseRecord) -> None:
    actions = allowed_actions(principal, record)
    if action in actions:
        return
    if not actions:
        raise NotFound(f"Database {record.id!r} does not exist")
    if principal.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in or send an API token to do this")
    if actions == {Action.INSERT} and action == Action.READ:
        raise Forbidden(
            "This access allows inserts only: POST /sql, downloads and every other read need a read or write"
            f" permission; insert rows with the GraphQL insert mutations (POST /dbs/{record.id}/graphql)"
        )
    raise Forbidden(f"Your access to this database does not allow {action.value}")


def authorize_team(principal: Principal, action: TeamAction, team: str) -> None:
    """Team-level rights. Tokens and read-only ids have none: they cannot create databases,
    tokens or memberships."""
    if principal.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in to do this")
    if principal.kind != PrincipalKind.USER:
        raise Forbidden("API tokens and read-only ids cannot manage teams, tokens or databases")
    if principal.server_admin:
        return
    roles = principal.roles_in(team)
    if not roles:
        raise NotFound(f"Team {team!r} does not exist")
    if not any(action in ROLE_TEAM_ACTIONS[role] for role in roles):
        raise Forbidden(f"Your roles in team {team!r} do not allow this ({action.value})")


def require_user(principal: Principal) -> None:
    if principal.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in to do this")
    if principal.kind != PrincipalKind.USER:
        raise Forbidden("This needs a logged-in user, not an API token or read-only id")
