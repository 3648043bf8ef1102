"""Calling a function (the HTTP trigger /fns/<id>): who may, how many at once, the token the call
holds, its Deno process, and the invocation kept afterwards.

The call's code reaches its database through the server's own API on loopback (see
`loopback_api`) with an API token minted for that call alone: of the database's team, scoped to
that one database with the function's permission, expiring when the call's wall time ends, and
deleted when the call ends. The bounds on calls running at once are counted in this process.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airsequel.config import Settings
from airsequel.core.admin.env_vars import EnvVars
from airsequel.core.auth.access import Action, Principal, authorize
from airsequel.core.auth.accounts import digest
from airsequel.core.auth.teams import Teams
from airsequel.core.clock import iso_from_datetime, utc_now_iso
from airsequel.core.errors import CoreError, NotFound, TimedOut, Unavailable, Unprocessable
from airsequel.core.functions.sandbox import Api, Limits, Outcome, run_call
from airsequel.core.functions.store import CallableFunction, Functions
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.running_counts import RunningCounts

MAX_KEPT_DATA_CHARS = 64 * 1024  # of a call's data, in its invocation
TOKEN_PREFIX = "ast_"
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "localhost", "127.0.0.1", "::1", "[::1]")


class OutOfMemory(CoreError):
    """A function's call was stopped at its memory limit (507: the server would not hold it)."""

    status = 507


class FunctionFailed(Unprocessable):
    """The function threw, returned something else than {data}, or its module did not load."""


def loopback_api(settings: Settings) -> tuple[str, str]:
    """(base URL, Host header) of this server's own API as its function calls reach it: the port it
    listens on, at 127.0.0.1 when it listens on every address or on loopback, else at the one address
    it listens on. The Host header is the first of allowedHosts when those are set (the server
    answers no other), else the address itself."""
    host = settings.host.strip()
    address = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    base = f"http://{address}:{settings.port}"
    header = settings.allowed_hosts[0] if settings.allowed_hosts else f"{address}:{settings.port}"
    return base, header


class FunctionCalls:
    def __init__(
        self,
        control: ControlPlane,
        functions: Functions,
        teams: Teams,
        env_vars: EnvVars,
        settings: Callable[[], Settings],
        deno_dir: Path,
    ) -> None:
        self.control = control
        self.functions = functions
        self.teams = teams
        self.env_vars = env_vars
        self.settings = settings
        self.deno_dir = deno_dir
        self._running = RunningCounts()  # calls running now, per database (file key) and in all

    def call(self, caller: Principal, function_id: str, *, method: str, headers: dict[str, str], data: Any) -> Any:
        """The function's data, or the error that ended the call (its invocation is kept either way)."""
        function = self.functions.callable(function_id)
        record = self.control.database_by("file_key", function.file_key) if function is not None else None
        if function is None or record is None:
            raise NotFound(f"Function {function_id!r} does not exist")
        if not function.public:
            try:
                authorize(caller, Action.READ, record)
            except NotFound:
                raise NotFound(f"Function {function_id!r} does not exist") from None
        settings = self.settings()
        limits = Limits(settings.functions_wall_time_seconds, settings.functions_memory_bytes)
        with self._slot(function.file_key, settings):
            context = {
                "functionId": function.id,
                "databaseId": record.id,
                "method": method,
                "headers": headers,
                "data": data,
                "env": {v["name"]: v["value"] for v in self.env_vars.in_scope(record.file_key, with_values=True)},
            }
            base, host = loopback_api(settings)
            with self._call_token(function, record.owner, limits) as token:
                outcome = run_call(
                    function.content, function.language, context, Api(base, host, token), limits, self.deno_dir
                )
        self._keep(function, method, outcome)
        if outcome.ok:
            return outcome.data
        message = outcome.error or "The function failed"
        if outcome.limit == "memory":
            raise OutOfMemory(message)
        if outcome.limit is not None:
            raise TimedOut(message)
        raise FunctionFailed(f"The function failed: {message}")

    @contextmanager
    def _slot(self, file_key: str, settings: Settings) -> Iterator[None]:
        self._running.take(
            file_key,
            per_key=settings.functions_max_concurrent_per_database,
            total=settings.functions_max_concurrent,
            key_full=f"{settings.functions_max_concurrent_per_database} function calls of this database are running:"
            " try again shortly",
            all_full=f"{settings.functions_max_concurrent} function calls are running on this server: try again shortly",
        )
        try:
            yield
        finally:
            self._running.give_back(file_key)

    @contextmanager
    def _call_token(self, function: CallableFunction, owner: str | None, limits: Limits) -> Iterator[str]:
        """A token for this call only (see the module's docstring), deleted when the call ends."""
        if owner is None:
            raise Unavailable("The function's database belongs to no team: its calls cannot hold a token")
        team = self.teams.get(owner)
        body = TOKEN_PREFIX + secrets.token_urlsafe(24)
        now = utc_now_iso()
        expires = iso_from_datetime(datetime.now(UTC) + timedelta(seconds=limits.wall_seconds + 1))
        with self.control.transaction() as conn:
            token_id = conn.execute(
                "INSERT INTO tokens(team_id, name, description, token_hash, masked_body, created_by, created_utc,"
                " expiration_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    team.id,
                    f"function call {function.id}",
                    "Minted for one call of a cloud function; deleted when the call ends",
                    digest(body),
                    body[:12] + "…",
                    None,
                    now,
                    expires,
                ),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO token_permissions(token_id, db_file_key, permission) VALUES (?, ?, ?)",
                (token_id, function.file_key, function.permission),
            )
        try:
            yield body
        finally:
            self.control.execute("DELETE FROM tokens WHERE id = ?", (token_id,))

    def _keep(self, function: CallableFunction, method: str, outcome: Outcome) -> None:
        data_json = json.dumps(outcome.data) if outcome.ok else None
        if data_json is not None and len(data_json) > MAX_KEPT_DATA_CHARS:
            data_json = json.dumps(f"(data of {len(data_json)} characters, not kept)")
        self.functions.record_invocation(
            function,
            method=method,
            runtime_ms=outcome.runtime_ms,
            ok=outcome.ok,
            data_json=data_json,
            error=outcome.error,
            logs=outcome.logs,
        )
