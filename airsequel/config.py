"""Server configuration: command-line flags over environment variables over defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3
MIB = 1024**2


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


@dataclass
class Settings:
    """Everything the server needs to know at start-up. Build with `Settings.from_env()`."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 4185
    secret_key: str = ""
    # Guarded SQL execution
    sql_time_limit_seconds: float = 10.0
    max_rows: int = 10_000
    max_response_bytes: int = 64 * MIB
    max_query_bytes: int = 1 * MIB
    # Files
    max_upload_bytes: int = 1 * GIB
    max_database_bytes: int = 4 * GIB
    # Connections: an upper bound on open SQLite connections to hosted files
    pool_size: int = 64
    sqlite_threads: int = 1  # threads running SQLite for the hot routes (more only for slow queries)
    # Exports and assets
    export_ttl_days: float = 7.0
    max_asset_bytes: int = 1 * GIB  # per database
    # Continuous backups (Litestream): off unless a replica URL is set
    replica_url: str | None = None
    s3_endpoint: str | None = None
    # Accounts
    signup: str = "open"  # "open": anyone may sign up; "closed": only a server admin creates users
    outbox_dir: Path | None = None  # where password-reset messages are written (default <data-dir>/outbox)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read `AIRSEQUEL_*` variables; keyword overrides (from CLI flags) win when not None."""
        values: dict[str, object] = {
            "data_dir": Path(os.environ.get("AIRSEQUEL_DATA_DIR", "storage")),
            "host": os.environ.get("AIRSEQUEL_HOST", "127.0.0.1"),
            "port": _env_int("AIRSEQUEL_PORT", 4185),
            "secret_key": os.environ.get("AIRSEQUEL_SECRET_KEY", ""),
            "sql_time_limit_seconds": _env_float("AIRSEQUEL_SQL_TIME_LIMIT", 10.0),
            "max_rows": _env_int("AIRSEQUEL_MAX_ROWS", 10_000),
            "max_upload_bytes": _env_int("AIRSEQUEL_MAX_UPLOAD_BYTES", 1 * GIB),
            "max_database_bytes": _env_int("AIRSEQUEL_MAX_DATABASE_BYTES", 4 * GIB),
            "pool_size": _env_int("AIRSEQUEL_POOL_SIZE", 64),
            "sqlite_threads": _env_int("AIRSEQUEL_SQLITE_THREADS", 1),
            "signup": os.environ.get("AIRSEQUEL_SIGNUP", "open"),
            "replica_url": os.environ.get("AIRSEQUEL_REPLICA_URL") or None,
            "s3_endpoint": os.environ.get("AIRSEQUEL_S3_ENDPOINT") or None,
            "export_ttl_days": _env_float("AIRSEQUEL_EXPORT_TTL_DAYS", 7.0),
            "max_asset_bytes": _env_int("AIRSEQUEL_MAX_ASSET_BYTES", 1 * GIB),
            "outbox_dir": Path(os.environ["AIRSEQUEL_OUTBOX_DIR"]) if os.environ.get("AIRSEQUEL_OUTBOX_DIR") else None,
        }
        for key, value in overrides.items():
            if value is not None:
                values[key] = value
        settings = cls(**values)  # type: ignore[arg-type]
        settings.data_dir = Path(settings.data_dir).resolve()
        if settings.signup not in ("open", "closed"):
            raise SystemExit(f"AIRSEQUEL_SIGNUP must be 'open' or 'closed', got {settings.signup!r}")
        return settings

    def ensure_secret_key(self) -> str:
        """Use AIRSEQUEL_SECRET_KEY, else a key generated once and kept in the data directory,
        so that a restart does not invalidate signed cookies."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            self.secret_key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
            self.secret_key = key
        return self.secret_key
