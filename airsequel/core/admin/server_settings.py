"""Settings a server admin changes at run time, without a restart: those of the settings table
(airsequel/config.py) that have an API name. Stored in the control plane and applied to the one
`LiveSettings` object that every request reads.

Precedence, highest first: flag, environment, stored here, default. A setting given by a flag or an
environment variable is fixed: changing it here is refused, since the start-up value would win again
at the next start.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any

import orjson

from airsequel.config import (
    BY_API_NAME,
    ENVIRONMENT,
    FLAG,
    SETTING_TYPES,
    SETTINGS,
    SETTINGS_DEFAULTS,
    STORED,
    LiveSettings,
    SettingError,
    Settings,
)
from airsequel.core.admin.env_vars import SERVER, EnvVars, checked_list, replace_in
from airsequel.core.auth.access import Principal, PrincipalKind, is_server_admin
from airsequel.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.setting_values import parse_value, type_name

log = logging.getLogger("airsequel.settings")


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else str(value) if hasattr(value, "__fspath__") else value


def require_server_admin(caller: Principal) -> None:
    if caller.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("Log in as a server admin")
    if not is_server_admin(caller):
        raise Forbidden("Only server admins manage server settings")


def _fixed_by(current: Settings, name: str) -> str | None:
    """The flag or environment variable that fixed the setting at start-up, if one did."""
    source, spec = current.source(name), SETTINGS[name]
    return spec.flag if source == FLAG else spec.env if source == ENVIRONMENT else None


def _from_json(key: str, name: str, value: Any) -> Any:
    """A JSON value for a setting: numbers must be JSON numbers (a whole float is fine for an
    integer setting), with the API's message when out of bounds."""
    kind, spec = SETTING_TYPES[name], SETTINGS[name]
    if kind in (int, float):
        whole = isinstance(value, float) and value.is_integer()
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind is int and not (isinstance(value, int) or whole))
        ):
            raise InvalidInput(f"{key} must be a number from {spec.minimum:g} to {spec.maximum:g}")
        value = int(value) if kind is int else float(value)
    try:
        return parse_value(name, value)
    except SettingError as error:
        if kind in (int, float):
            raise InvalidInput(f"{key} must be a number from {spec.minimum:g} to {spec.maximum:g}") from error
        raise InvalidInput(str(error)) from error


STORED_SETTINGS = "SELECT key, value_json FROM server_settings"


# Where, and as whom, the SMTP password is sent: fixed with it when the operator set it at start.
SMTP_PASSWORD_GOES_TO = ("smtp_host", "smtp_port", "smtp_tls", "smtp_user")


class ServerSettings:
    """Server settings and server environment variables, for server admins only."""

    def __init__(self, control: ControlPlane, live: LiveSettings, env_vars: EnvVars) -> None:
        self.control = control
        self.live = live
        self.env_vars = env_vars
        self.apply_stored()

    def apply_stored(self, *, reloading: bool = False) -> None:
        """Apply the values stored in the control plane (at start, and again in each worker process
        when another one may have changed them: then read without the control plane's lock, see
        shared_settings.py)."""
        live = self.live
        stored: dict[str, Any] = {}
        query = self.control.query_committed if reloading else self.control.query
        for key, value_json in query(STORED_SETTINGS):
            name = BY_API_NAME.get(key)
            if name is None:
                continue  # a setting that no longer exists
            given = _fixed_by(live.current, name)
            if given is not None:
                stored_value, in_force = orjson.loads(value_json), _json(getattr(live.current, name))
                if not reloading and in_force != stored_value:
                    if SETTINGS[name].secret:  # a secret's value never goes into the log
                        log.warning("%s set through the API is overridden by %s at this start", key, given)
                    else:
                        log.warning(
                            "%s set through the API to %r is overridden by %s (%r) at this start",
                            key,
                            stored_value,
                            given,
                            in_force,
                        )
                continue
            try:
                stored[name] = parse_value(name, orjson.loads(value_json))
            except SettingError as error:
                if not reloading:
                    log.warning("ignoring the stored server setting %s: %s", key, error)
        live.apply(stored, STORED)

    def view(self, caller: Principal) -> dict[str, Any]:
        """GET /api/settings: the settings and the server's variables with their values."""
        require_server_admin(caller)
        return {**self.as_json(), "envVars": self.env_vars.in_scope(SERVER, with_values=True)}

    def variables(self, caller: Principal) -> list[dict[str, Any]]:
        require_server_admin(caller)
        return self.env_vars.in_scope(SERVER, with_values=True)

    def create_variable(self, caller: Principal, name: Any, value: Any) -> dict[str, Any]:
        require_server_admin(caller)
        return self.env_vars.create(SERVER, name, value)

    def update_variable(self, caller: Principal, name: str, body: dict[str, Any]) -> None:
        require_server_admin(caller)
        self.env_vars.update(SERVER, name, body)

    def delete_variable(self, caller: Principal, name: str) -> None:
        require_server_admin(caller)
        self.env_vars.delete(SERVER, name)

    def as_json(self) -> dict[str, Any]:
        """Each run-time setting by its API name, and the whole table with where each value came from."""
        current = self.live.current
        # A secret (the SMTP password) is never shown back: only whether it is set.
        result: dict[str, Any] = {
            spec.api_name: bool(getattr(current, name)) if spec.secret else _json(getattr(current, name))
            for name, spec in SETTINGS.items()
            if spec.api_name
        }
        result["settings"] = [
            {
                "name": name,
                "apiName": spec.api_name,
                "environmentVariable": spec.env,
                "flag": spec.flag,
                "type": type_name(name).replace(" \\| ", " | "),
                "default": None if spec.secret else _json(SETTINGS_DEFAULTS[name]),
                "value": None if spec.secret else _json(getattr(current, name)),
                "source": current.source(name),
                "changeableAtRunTime": bool(spec.api_name) and current.source(name) not in (FLAG, ENVIRONMENT),
                "help": spec.help,
            }
            for name, spec in SETTINGS.items()
        ]
        return result

    def update(self, caller: Principal, changes: dict[str, Any], *, via: RequestHost | None = None) -> dict[str, Any]:
        """Check every change (`envVars`: the server's variables become exactly these), then store
        and apply them together, all or nothing. `via`: the Host header and local address the
        request came through; an allowedHosts that would refuse them is refused (400), since it
        would lock the caller out of the server it is changing."""
        require_server_admin(caller)
        variables = checked_list(changes["envVars"]) if "envVars" in changes else None
        checked: dict[str, Any] = {}
        current = self.live.current
        for key, value in changes.items():
            if key == "envVars":
                continue
            name = BY_API_NAME.get(key)
            if name is None:
                raise InvalidInput(f"Unknown setting {key!r}")
            if SETTING_TYPES[name] == tuple[str, ...] and not isinstance(value, list):
                raise InvalidInput(f"{key} must be a list of text")
            if isinstance(value, list) and not all(isinstance(item, str) and item.strip() for item in value):
                raise InvalidInput(f"{key} must be a list of non-empty text")
            checked[name] = _from_json(key, name, value)
            given = _fixed_by(current, name)
            if given is not None:
                raise Conflict(f"{key} was set by {given} when the server started: change it there")
            password_given = _fixed_by(current, "smtp_password")
            if name in SMTP_PASSWORD_GOES_TO and password_given is not None and current.smtp_password:
                # The password came from the operator: an admin session may not send it somewhere else.
                raise Conflict(
                    f"{key} cannot change through the API while the SMTP password comes from {password_given}:"
                    " change them together there"
                )
        if via is not None and "allowed_hosts" in checked:
            _refuse_lockout(checked["allowed_hosts"], via)
        with self.control.transaction() as conn:
            if variables is not None:
                replace_in(conn, SERVER, variables)
            for name, value in checked.items():
                conn.execute(
                    "INSERT INTO server_settings(key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                    " SET value_json = excluded.value_json",
                    (SETTINGS[name].api_name, orjson.dumps(_json(value)).decode()),
                )
            self.live.apply(checked, STORED)
        return self.as_json()

    def host_refusal(self, host: str, *, local_address: str | None = None) -> str | None:
        """Why a request with this Host header is refused, or None when it is answered (see
        `host_refusal`, with this server's allowedHosts)."""
        return cached_host_refusal(host, tuple(self.live.current.allowed_hosts), local_address)

    def host_allowed(self, host: str, *, local_address: str | None = None) -> bool:
        return self.host_refusal(host, local_address=local_address) is None


@dataclass(frozen=True)
class RequestHost:
    """Where a request came through: its Host header and the local address it arrived on."""

    host: str
    local_address: str | None = None


def host_refusal(host: str, allowed: tuple[str, ...], *, local_address: str | None = None) -> str | None:
    """Why a request with this Host header is refused under `allowed` (allowedHosts), or None when it is
    answered. `local_address`: the address the connection arrived on. With allowedHosts set, only the
    names listed (any port) or name:port pairs are answered. With it empty, a connection that arrived on
    a loopback address is answered only for loopback names (localhost, 127.0.0.1, [::1], any port): a
    web page elsewhere cannot reach a loopback server through a rebound DNS name. A Host header that is
    not a plain host[:port] (`db.example.org:@evil.example`) is never answered."""
    parsed = parse_host_header(host)
    if parsed is None:
        if not host and not allowed and not _is_loopback(local_address):
            return None  # an HTTP/1.0 request without Host, on a server that names no hosts
        return f"The Host header {host!r} is not a host name with an optional port"
    name, port = parsed
    if allowed:
        entries = {entry.lower() for entry in allowed}
        if name in entries or (port is not None and f"{name}:{port}" in entries):
            return None
        return f"The host {host!r} is not in this server's allowedHosts"
    if _is_loopback(local_address) and name not in LOOPBACK_NAMES:
        return (
            f"The host {host!r} is not a loopback name: a server reached on a loopback address answers"
            " only localhost, 127.0.0.1 and [::1] until allowedHosts names its other host names"
        )
    return None


HOST_ANSWERS = 1024  # distinct (Host, allowedHosts, local address) answers `cached_host_refusal` keeps


@functools.lru_cache(maxsize=HOST_ANSWERS)
def cached_host_refusal(host: str, allowed: tuple[str, ...], local_address: str | None) -> str | None:
    """`host_refusal`, remembered: every request asks it, and parsing the Host header (ipaddress
    included) cost ~3% of a quick read. It is a pure function of its arguments, allowedHosts among them,
    so a changed allowedHosts is a new key and never meets an old answer; the least recently used
    answers go first, so a client sending many Host values only costs itself misses."""
    return host_refusal(host, allowed, local_address=local_address)


def _refuse_lockout(allowed: tuple[str, ...], via: RequestHost) -> None:
    """400 when the new allowedHosts would refuse the very host this request came through."""
    if host_refusal(via.host, allowed, local_address=via.local_address) is None:
        return
    shown = ", ".join(repr(entry) for entry in allowed) if allowed else "empty: loopback names only"
    parsed = parse_host_header(via.host)
    name = f" (or {parsed[0]!r}, any port)" if parsed is not None and parsed[1] is not None else ""
    raise InvalidInput(
        f"allowedHosts would lock you out: this request came through the host {via.host!r}, which the new"
        f" list ({shown}) does not answer. Add {via.host!r}{name} to allowedHosts, or send the change"
        " through a host the new list names"
    )


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
HOST_HEADER = re.compile(rf"(?P<name>{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9a-f:.]{{2,45}}\])(?::(?P<port>[0-9]{{1,5}}))?")


def parse_host_header(host: str) -> tuple[str, int | None] | None:
    """(name, port) of a Host header (lower case, without a trailing dot), or None when it is not
    exactly a DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port."""
    match = HOST_HEADER.fullmatch(host.lower())
    if match is None:
        return None
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and port > 65535:
        return None
    name = match["name"].rstrip(".")
    if name.startswith("["):
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    return name, port


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False
