"""Server settings a server admin changes at run time (no restart): allowed hosts, sign-up mode,
limits. Stored in the control plane; applied over the start-up configuration."""

from __future__ import annotations

from typing import Any

import orjson

from airsequel.config import Settings
from airsequel.core.errors import InvalidInput
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.sql.runner import SqlLimits

# JSON name -> (Settings attribute, type, minimum, maximum)
LIMITS: dict[str, tuple[str, type, float, float]] = {
    "sqlTimeLimitSeconds": ("sql_time_limit_seconds", float, 0.1, 3600),
    "maxUploadBytes": ("max_upload_bytes", int, 1024, 1 << 40),
    "maxRowsPerResponse": ("max_rows", int, 1, 1_000_000),
}


class ServerSettings:
    def __init__(self, control: ControlPlane, settings: Settings, limits: SqlLimits) -> None:
        self.control = control
        self.settings = settings
        self.limits = limits
        self.allowed_hosts: list[str] = []
        for key, value_json in control.query("SELECT key, value_json FROM server_settings"):
            self._apply(key, orjson.loads(value_json))

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"allowedHosts": self.allowed_hosts, "signup": self.settings.signup}
        for name, (attribute, _kind, _low, _high) in LIMITS.items():
            result[name] = getattr(self.settings, attribute)
        return result

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "envVars":
                continue  # handled by the env var store
            if key == "allowedHosts":
                if not isinstance(value, list) or not all(isinstance(h, str) and h.strip() for h in value):
                    raise InvalidInput("allowedHosts must be a list of host names (with :port where needed)")
                checked[key] = [h.strip().lower() for h in value]
            elif key == "signup":
                if value not in ("open", "closed"):
                    raise InvalidInput("signup must be 'open' or 'closed'")
                checked[key] = value
            elif key in LIMITS:
                _attribute, kind, low, high = LIMITS[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                    raise InvalidInput(f"{key} must be a number from {low:g} to {high:g}")
                checked[key] = kind(value)
            else:
                raise InvalidInput(f"Unknown setting {key!r}")
        with self.control.transaction() as conn:
            for key, value in checked.items():
                conn.execute(
                    "INSERT INTO server_settings(key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                    " SET value_json = excluded.value_json",
                    (key, orjson.dumps(value).decode()),
                )
        for key, value in checked.items():
            self._apply(key, value)
        return self.as_json()

    def _apply(self, key: str, value: Any) -> None:
        if key == "allowedHosts":
            self.allowed_hosts = list(value)
        elif key == "signup":
            self.settings.signup = value
        elif key in LIMITS:
            attribute = LIMITS[key][0]
            setattr(self.settings, attribute, value)
            if attribute == "sql_time_limit_seconds":
                self.limits.time_limit_seconds = value
            elif attribute == "max_rows":
                self.limits.max_rows = value

    def host_allowed(self, host: str) -> bool:
        if not self.allowed_hosts:
            return True
        host = host.lower()
        return host in self.allowed_hosts or host.split(":")[0] in self.allowed_hosts
