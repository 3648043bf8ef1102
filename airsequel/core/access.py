"""Who may do what: the one place that decides (principal, action, database).

Until accounts exist the server runs in open single-user mode: the principal is the operator,
who may do everything. Routes ask `authorize` and never decide for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from airsequel.core.control_plane import DatabaseRecord
from airsequel.core.errors import Forbidden


class Action(str, Enum):
    READ = "read"  # query, download, duplicate, see metadata
    WRITE = "write"  # change data or schema, replace content, vacuum
    MANAGE = "manage"  # rename, delete, regenerate ids, settings
    CREATE = "create"  # create a database (in a team)


@dataclass(frozen=True)
class Principal:
    name: str | None
    actions: frozenset[Action]

    @classmethod
    def operator(cls) -> "Principal":
        return cls(name=None, actions=frozenset(Action))

    @classmethod
    def read_only(cls) -> "Principal":
        return cls(name=None, actions=frozenset({Action.READ}))


def authorize(principal: Principal, action: Action, record: DatabaseRecord | None = None) -> None:
    if action not in principal.actions:
        raise Forbidden(f"This access does not allow the action {action.value!r}")


def may(principal: Principal, action: Action, record: DatabaseRecord | None = None) -> bool:
    return action in principal.actions
