"""Environment variables of the server and of each database: named secrets kept in the control
plane. They never go into a hosted file, a download or an export."""

from __future__ import annotations

import re
from typing import Any

from airsequel.core.clock import utc_now_iso
from airsequel.core.errors import Conflict, InvalidInput, NotFound
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane

SERVER = "server"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_VALUE = 64 * 1024


class EnvVars:
    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def in_scope(self, scope: str, *, with_values: bool) -> list[dict[str, Any]]:
        rows = self.control.query(
            "SELECT name, value, created_utc FROM env_vars WHERE scope = ? ORDER BY name", (scope,)
        )
        return [
            {"created_utc": r["created_utc"], "name": r["name"], **({"value": r["value"]} if with_values else {})}
            for r in rows
        ]

    def create(self, scope: str, name: Any, value: Any) -> dict[str, Any]:
        name, value = _checked(name, value)
        if self.control.query("SELECT 1 FROM env_vars WHERE scope = ? AND name = ?", (scope, name)):
            raise Conflict(f"The variable {name!r} exists already: PATCH it")
        created = utc_now_iso()
        self.control.execute(
            "INSERT INTO env_vars(scope, name, value, created_utc) VALUES (?, ?, ?, ?)", (scope, name, value, created)
        )
        return {"created_utc": created, "name": name, "value": value}

    def update(self, scope: str, name: str, body: dict[str, Any]) -> None:
        rows = self.control.query("SELECT value FROM env_vars WHERE scope = ? AND name = ?", (scope, name))
        if not rows:
            raise NotFound(f"The variable {name!r} does not exist")
        new_name, value = _checked(body.get("name", name), body.get("value", rows[0]["value"]))
        if new_name != name and self.control.query(
            "SELECT 1 FROM env_vars WHERE scope = ? AND name = ?", (scope, new_name)
        ):
            raise Conflict(f"The variable {new_name!r} exists already")
        self.control.execute(
            "UPDATE env_vars SET name = ?, value = ? WHERE scope = ? AND name = ?", (new_name, value, scope, name)
        )

    def delete(self, scope: str, name: str) -> None:
        if not self.control.execute("DELETE FROM env_vars WHERE scope = ? AND name = ?", (scope, name)):
            raise NotFound(f"The variable {name!r} does not exist")


def checked_list(variables: Any) -> list[tuple[str, str]]:
    """An `envVars` list of {name, value}, checked: (name, value) pairs with unique names."""
    if not isinstance(variables, list) or not all(isinstance(v, dict) for v in variables):
        raise InvalidInput("envVars must be a list of {name, value}")
    checked = [_checked(v.get("name"), v.get("value")) for v in variables]
    if len({name for name, _ in checked}) != len(checked):
        raise InvalidInput("envVars names must be unique")
    return checked


def replace_in(conn: ControlConnection, scope: str, checked: list[tuple[str, str]]) -> None:
    """Make `scope`'s variables exactly `checked`, inside the caller's control-plane transaction."""
    conn.execute("DELETE FROM env_vars WHERE scope = ?", (scope,))
    conn.executemany(
        "INSERT INTO env_vars(scope, name, value, created_utc) VALUES (?, ?, ?, ?)",
        [(scope, name, value, utc_now_iso()) for name, value in checked],
    )


def _checked(name: Any, value: Any) -> tuple[str, str]:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidInput("A variable name has letters, digits and '_' and does not start with a digit")
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        raise InvalidInput(f"A variable value is a string of at most {MAX_VALUE} characters")
    return name, value
