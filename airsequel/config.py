"""Server configuration: one table of settings, declared once as the fields of `Settings`.

Each field's metadata (see `setting()`) says its environment variable, its command-line flag, its
help text, its bounds, and its name in `PATCH /api/settings` when a server admin may change it at
run time. That one declaration feeds the `airsequel serve` flags, the environment parsing, the
admin settings API and the README's configuration table (tests/test_settings_table.py holds the
README to it).

Precedence, highest first: a command-line flag, then the environment variable, then a value a
server admin stored through `PATCH /api/settings`, then the default. A setting fixed by a flag or
an environment variable cannot be changed through the API (it would come back at the next start).

`Settings` is frozen. What changes at run time lives in one `LiveSettings` object: it holds the
current `Settings` and swaps in a new one when an admin changes something, so a request reads one
consistent set of limits.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airsequel.core.layout import DataLayout

GIB = 1024**3
MIB = 1024**2

# Where a setting's value came from, highest precedence first.
FLAG, ENVIRONMENT, STORED, DEFAULT = "flag", "environment", "stored", "default"


@dataclass(frozen=True)
class SettingSpec:
    """What the table says of one setting (the metadata of a `Settings` field)."""

    help: str
    env: str
    flag: str | None
    api_name: str | None  # its key in GET/PATCH /api/settings when it may change at run time
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...] | None
    secret: bool


def setting(
    default: Any,
    help: str,
    *,
    env: str,
    flag: str | None = None,
    api_name: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
) -> Any:
    spec = SettingSpec(help, env, flag, api_name, minimum, maximum, choices, secret)
    return field(default=default, metadata={"setting": spec})


class SettingError(ValueError):
    """A value that does not fit its setting; the message names the setting and the rule."""


@dataclass(frozen=True)
class Settings:
    """Everything the server is told at start-up. Build with `Settings.from_env()`."""

    data_dir: Path = setting(
        Path("storage"),
        "Data directory: the control plane and one folder per hosted database",
        env="AIRSEQUEL_DATA_DIR",
        flag="--data-dir",
    )
    control_plane: str = setting(
        "",
        "Where the control plane lives: empty for control.sqlite in the data directory, or a"
        " postgresql://user:password@host:port/database URL",
        env="AIRSEQUEL_CONTROL_PLANE",
        flag="--control-plane",
        secret=True,
    )
    host: str = setting("127.0.0.1", "Address to listen on", env="AIRSEQUEL_HOST", flag="--host")
    port: int = setting(4185, "Port to listen on", env="AIRSEQUEL_PORT", flag="--port", minimum=0, maximum=65535)
    log_level: str = setting(
        "info",
        "Log level",
        env="AIRSEQUEL_LOG_LEVEL",
        flag="--log-level",
        choices=("debug", "info", "warning", "error"),
    )
    secret_key: str = setting(
        "",
        "Key that signs session cookies; empty: one is generated once and kept in the data directory",
        env="AIRSEQUEL_SECRET_KEY",
        secret=True,
    )
    # Guarded SQL
    sql_time_limit_seconds: float = setting(
        10.0,
        "Time limit of every statement run against a hosted file (user SQL, GraphQL, pages, exports)",
        env="AIRSEQUEL_SQL_TIME_LIMIT",
        flag="--sql-time-limit",
        api_name="sqlTimeLimitSeconds",
        minimum=0.1,
        maximum=3600,
    )
    max_rows: int = setting(
        10_000,
        "Rows a POST /sql response holds at most (the rest is cut, with a warning)",
        env="AIRSEQUEL_MAX_ROWS",
        flag="--max-rows",
        api_name="maxRowsPerResponse",
        minimum=1,
        maximum=1_000_000,
    )
    max_response_bytes: int = setting(
        64 * MIB,
        "Bytes of row data a POST /sql or GraphQL response holds at most (refused past it, counted while rows are fetched)",
        env="AIRSEQUEL_MAX_RESPONSE_BYTES",
        flag="--max-response-bytes",
        api_name="maxResponseBytes",
        minimum=1024,
        maximum=16 * GIB,
    )
    max_query_bytes: int = setting(
        1 * MIB,
        "Length of a POST /sql query in bytes",
        env="AIRSEQUEL_MAX_QUERY_BYTES",
        flag="--max-query-bytes",
        api_name="maxQueryBytes",
        minimum=1024,
        maximum=64 * MIB,
    )
    tenant_max_concurrent_queries: int = setting(
        8,
        "Statements one caller (a user, or an anonymous client address) may have running at once; more get 429 with Retry-After",
        env="AIRSEQUEL_TENANT_MAX_CONCURRENT_QUERIES",
        flag="--tenant-max-concurrent-queries",
        api_name="tenantMaxConcurrentQueries",
        minimum=1,
        maximum=10_000,
    )
    max_temp_bytes: int = setting(
        1 * GIB,
        "Bytes of temporary files (sorting, grouping) all running statements may use together; past it the longest-running one is stopped",
        env="AIRSEQUEL_MAX_TEMP_BYTES",
        flag="--max-temp-bytes",
        api_name="maxTempBytes",
        minimum=1 * MIB,
        maximum=1 << 44,
    )
    # GraphQL
    graphql_max_rows: int = setting(
        10_000,
        "Rows one GraphQL field returns at most without an explicit limit (more is an error)",
        env="AIRSEQUEL_GRAPHQL_MAX_ROWS",
        flag="--graphql-max-rows",
        api_name="graphqlMaxRows",
        minimum=1,
        maximum=1_000_000,
    )
    graphql_max_query_chars: int = setting(
        100_000,
        "Length of a GraphQL document in characters",
        env="AIRSEQUEL_GRAPHQL_MAX_QUERY_CHARS",
        flag="--graphql-max-query-chars",
        api_name="graphqlMaxQueryCharacters",
        minimum=100,
        maximum=10_000_000,
    )
    graphql_max_depth: int = setting(
        12,
        "Levels a GraphQL selection may nest (relationships within relationships)",
        env="AIRSEQUEL_GRAPHQL_MAX_DEPTH",
        flag="--graphql-max-depth",
        minimum=1,
        maximum=100,
    )
    graphql_max_cost: int = setting(
        200_000,
        "Rows a GraphQL operation may ask for, estimated before it runs (each field's row limit times its parents' and aliases')",
        env="AIRSEQUEL_GRAPHQL_MAX_COST",
        flag="--graphql-max-cost",
        api_name="graphqlMaxCost",
        minimum=1,
        maximum=1 << 40,
    )
    graphql_max_tables: int = setting(
        2_000,
        "Tables and views a database may have for its GraphQL schema to be built (more: a clear error, cached)",
        env="AIRSEQUEL_GRAPHQL_MAX_TABLES",
        flag="--graphql-max-tables",
        minimum=1,
        maximum=1_000_000,
    )
    graphql_max_subscriptions_per_principal: int = setting(
        20,
        "Live queries (GraphQL subscriptions over WebSocket) one caller may have open at once in a worker process; more are refused",
        env="AIRSEQUEL_GRAPHQL_MAX_SUBSCRIPTIONS_PER_PRINCIPAL",
        flag="--graphql-max-subscriptions-per-principal",
        api_name="graphqlMaxSubscriptionsPerPrincipal",
        minimum=0,
        maximum=100_000,
    )
    graphql_max_subscriptions_per_database: int = setting(
        200,
        "Live queries one database may have open at once in a worker process, all callers together; more are refused",
        env="AIRSEQUEL_GRAPHQL_MAX_SUBSCRIPTIONS_PER_DATABASE",
        flag="--graphql-max-subscriptions-per-database",
        api_name="graphqlMaxSubscriptionsPerDatabase",
        minimum=0,
        maximum=1_000_000,
    )
    # Requests and pages
    max_json_body_bytes: int = setting(
        4 * MIB,
        "Size of a JSON request body (POST /sql has its own limit: max_query_bytes)",
        env="AIRSEQUEL_MAX_JSON_BODY_BYTES",
        flag="--max-json-body-bytes",
        api_name="maxJsonBodyBytes",
        minimum=1024,
        maximum=1 * GIB,
    )
    records_max_rows: int = setting(
        10_000,
        "Rows a records page (GET .../records) holds at most, and without ?limit",
        env="AIRSEQUEL_RECORDS_MAX_ROWS",
        flag="--records-max-rows",
        api_name="recordsMaxRows",
        minimum=1,
        maximum=1_000_000,
    )
    # Files
    max_upload_bytes: int = setting(
        1 * GIB,
        "Size of an uploaded file (SQLite or CSV)",
        env="AIRSEQUEL_MAX_UPLOAD_BYTES",
        flag="--max-upload-bytes",
        api_name="maxUploadBytes",
        minimum=1024,
        maximum=1 << 40,
    )
    max_file_cell_bytes: int = setting(
        64 * MIB,
        "Size of a file stored into one BLOB cell (PUT .../files/...)",
        env="AIRSEQUEL_MAX_FILE_CELL_BYTES",
        flag="--max-file-cell-bytes",
        api_name="maxFileCellBytes",
        minimum=1,
        maximum=1 * GIB,
    )
    max_database_bytes: int = setting(
        4 * GIB,
        "Size a hosted database may grow to",
        env="AIRSEQUEL_MAX_DATABASE_BYTES",
        flag="--max-database-bytes",
        minimum=64 * 1024,
        maximum=1 << 44,
    )
    search_max_rows: int = setting(
        100,
        "Rows a table search (GET .../search/:term) returns at most",
        env="AIRSEQUEL_SEARCH_MAX_ROWS",
        flag="--search-max-rows",
        api_name="searchMaxRows",
        minimum=1,
        maximum=10_000,
    )
    # Connections and threads
    pool_size: int = setting(
        64,
        "Open SQLite connections to hosted files at most",
        env="AIRSEQUEL_POOL_SIZE",
        flag="--pool-size",
        minimum=2,
        maximum=100_000,
    )
    sqlite_threads: int = setting(
        1,
        "Threads running SQL for /sql and GraphQL (a query slower than 50 ms gets a thread of its own; none runs on the event loop)",
        env="AIRSEQUEL_SQLITE_THREADS",
        flag="--sqlite-threads",
        minimum=1,
        maximum=256,
    )
    max_connections: int = setting(
        2_000,
        "Concurrent HTTP connections at most; more are answered 503 at once",
        env="AIRSEQUEL_MAX_CONNECTIONS",
        flag="--max-connections",
        minimum=1,
        maximum=1_000_000,
    )
    body_timeout_seconds: float = setting(
        30.0,
        "Seconds a request body may stall (no bytes arriving) before the connection is dropped",
        env="AIRSEQUEL_BODY_TIMEOUT",
        flag="--body-timeout",
        minimum=0.1,
        maximum=3600,
    )
    workers: int = setting(
        1,
        "Server processes answering on the port (a worker that dies is replaced); 1: a single process",
        env="AIRSEQUEL_WORKERS",
        flag="--workers",
        minimum=1,
        maximum=256,
    )
    # Exports and assets
    export_ttl_days: float = setting(
        7.0,
        "Days an export's file is kept",
        env="AIRSEQUEL_EXPORT_TTL_DAYS",
        flag="--export-ttl-days",
        minimum=0.001,
        maximum=3650,
    )
    max_asset_bytes: int = setting(
        1 * GIB,
        "Bytes of assets one database may hold",
        env="AIRSEQUEL_MAX_ASSET_BYTES",
        flag="--max-asset-bytes",
        minimum=0,
        maximum=1 << 44,
    )
    # Quotas per team (a user's own databases count as their personal team's)
    team_max_databases: int = setting(
        1_000,
        "Databases one team (or one user's personal space) may hold",
        env="AIRSEQUEL_TEAM_MAX_DATABASES",
        flag="--team-max-databases",
        api_name="teamMaxDatabases",
        minimum=0,
        maximum=10_000_000,
    )
    team_max_bytes: int = setting(
        100 * GIB,
        "Bytes of hosted files one team may hold, all its databases together",
        env="AIRSEQUEL_TEAM_MAX_BYTES",
        flag="--team-max-bytes",
        api_name="teamMaxBytes",
        minimum=0,
        maximum=1 << 50,
    )
    team_max_export_bytes: int = setting(
        10 * GIB,
        "Bytes of export files and assets one team may hold",
        env="AIRSEQUEL_TEAM_MAX_EXPORT_BYTES",
        flag="--team-max-export-bytes",
        api_name="teamMaxExportBytes",
        minimum=0,
        maximum=1 << 50,
    )
    team_max_queued_jobs: int = setting(
        10,
        "Export jobs one team may have queued or running at once",
        env="AIRSEQUEL_TEAM_MAX_QUEUED_JOBS",
        flag="--team-max-queued-jobs",
        api_name="teamMaxQueuedJobs",
        minimum=0,
        maximum=100_000,
    )
    min_free_disk_bytes: int = setting(
        256 * MIB,
        "Free space the data directory's disk keeps: below it every write is refused with 507 (deletes still work)",
        env="AIRSEQUEL_MIN_FREE_DISK_BYTES",
        flag="--min-free-disk-bytes",
        api_name="minFreeDiskBytes",
        minimum=0,
        maximum=1 << 50,
    )
    # Continuous backups (Litestream): off unless a replica URL is set
    replica_url: str | None = setting(
        None,
        "Litestream replica URL (file:// or s3://); every database is replicated there",
        env="AIRSEQUEL_REPLICA_URL",
        flag="--replica-url",
    )
    s3_endpoint: str | None = setting(
        None, "S3-compatible endpoint for an s3:// replica", env="AIRSEQUEL_S3_ENDPOINT", flag="--s3-endpoint"
    )
    # A cluster of nodes (docs/cluster.md): off unless --cluster
    cluster: bool = setting(
        False,
        "Run as one node of a cluster: databases placed on nodes, leases in the control plane (needs a"
        " postgresql:// control plane, a replica URL, a node id, an advertise URL and a secret key)",
        env="AIRSEQUEL_CLUSTER",
        flag="--cluster",
    )
    node_id: str | None = setting(
        None, "This node's name in the cluster (letters, digits, - and _)", env="AIRSEQUEL_NODE_ID", flag="--node-id"
    )
    advertise_url: str | None = setting(
        None,
        "The URL the other nodes reach this node at, e.g. http://10.0.0.5:4185",
        env="AIRSEQUEL_ADVERTISE_URL",
        flag="--advertise-url",
    )
    lease_seconds: float = setting(
        10.0,
        "How long a node's lease lasts: a node that cannot renew it stops serving, and after it the"
        " other nodes take its databases over",
        env="AIRSEQUEL_LEASE_SECONDS",
        flag="--lease-seconds",
        minimum=1,
        maximum=600,
    )
    # Accounts and access
    signup: str = setting(
        "open",
        "open: anyone may sign up; closed: only a server admin creates users",
        env="AIRSEQUEL_SIGNUP",
        flag="--signup",
        api_name="signup",
        choices=("open", "closed"),
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        "Host headers the server answers (comma-separated, with :port where needed);"
        " empty: any, but only loopback names on a loopback connection",
        env="AIRSEQUEL_ALLOWED_HOSTS",
        flag="--allowed-hosts",
        api_name="allowedHosts",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        "Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated); empty: the peer address is the client",
        env="AIRSEQUEL_TRUSTED_PROXIES",
        flag="--trusted-proxies",
    )
    outbox_dir: Path | None = setting(
        None,
        "Where password-reset messages are written (default: outbox/ in the data directory)",
        env="AIRSEQUEL_OUTBOX_DIR",
        flag="--outbox-dir",
    )
    password_hashing: str = setting(
        "strong",
        "Argon2 parameters: strong, or fast-insecure-for-tests (never in production)",
        env="AIRSEQUEL_PASSWORD_HASHING",
        choices=("strong", "fast-insecure-for-tests"),
    )
    # AI prompts: a language model the operator chooses, through the `llm` library and its plugins.
    llm_model: str | None = setting(
        None,
        "The language model of the AI prompt routes: an `llm` model id (e.g. gpt-4o-mini, or a plugin's"
        " model such as llama3.2 from llm-ollama); unset: those routes answer 501",
        env="AIRSEQUEL_LLM_MODEL",
        flag="--llm-model",
        api_name="llmModel",
    )
    llm_key_env: str | None = setting(
        None,
        "The name of the environment variable holding the model's API key (read from the server's"
        " environment at each prompt; never stored or shown); unset: the `llm` library's own lookup",
        env="AIRSEQUEL_LLM_KEY_ENV",
    )
    llm_timeout_seconds: float = setting(
        60.0,
        "Time limit of the model's answer to one AI prompt (the SQL it proposes then runs under the SQL time limit)",
        env="AIRSEQUEL_LLM_TIMEOUT_SECONDS",
        api_name="llmTimeoutSeconds",
        minimum=1,
        maximum=600,
    )
    llm_max_answer_chars: int = setting(
        20_000,
        "The most characters of a model's answer read (the model is stopped there); also asked as"
        " max_tokens of models that take it",
        env="AIRSEQUEL_LLM_MAX_ANSWER_CHARS",
        api_name="llmMaxAnswerChars",
        minimum=200,
        maximum=1_000_000,
    )
    llm_max_prompt_chars: int = setting(
        60_000,
        "The most characters sent to the model in one prompt (the schema is shortened to fit)",
        env="AIRSEQUEL_LLM_MAX_PROMPT_CHARS",
        api_name="llmMaxPromptChars",
        minimum=2_000,
        maximum=2_000_000,
    )
    llm_sample_rows: int = setting(
        0,
        "Rows of each table the model may see with the schema (0: the model never sees row data)",
        env="AIRSEQUEL_LLM_SAMPLE_ROWS",
        api_name="llmSampleRows",
        minimum=0,
        maximum=20,
    )
    llm_team_concurrency: int = setting(
        2,
        "AI prompts a team may have running at once in one server process (429 beyond)",
        env="AIRSEQUEL_LLM_TEAM_CONCURRENCY",
        api_name="llmTeamConcurrency",
        minimum=1,
        maximum=100,
    )
    # Cloud functions (docs/functions.md): each call in a Deno subprocess of its own
    functions_wall_time_seconds: float = setting(
        10.0,
        "Wall time one function call may take (its process is killed past it); its CPU time has the same limit",
        env="AIRSEQUEL_FUNCTIONS_WALL_TIME",
        flag="--functions-wall-time",
        api_name="functionsWallTimeSeconds",
        minimum=0.5,
        maximum=600,
    )
    functions_memory_bytes: int = setting(
        256 * MIB,
        "Memory (resident bytes, JavaScript heap and buffers together) one function call may use; its process is killed above it",
        env="AIRSEQUEL_FUNCTIONS_MEMORY_BYTES",
        flag="--functions-memory-bytes",
        api_name="functionsMemoryBytes",
        minimum=64 * MIB,
        maximum=16 * GIB,
    )
    functions_max_concurrent_per_database: int = setting(
        4,
        "Function calls of one database that may run at once in one server process; more get 429 with Retry-After",
        env="AIRSEQUEL_FUNCTIONS_MAX_CONCURRENT_PER_DATABASE",
        flag="--functions-max-concurrent-per-database",
        api_name="functionsMaxConcurrentPerDatabase",
        minimum=1,
        maximum=1000,
    )
    functions_max_concurrent: int = setting(
        8,
        "Function calls that may run at once in one server process, all databases together; more get 429 with Retry-After",
        env="AIRSEQUEL_FUNCTIONS_MAX_CONCURRENT",
        flag="--functions-max-concurrent",
        api_name="functionsMaxConcurrent",
        minimum=1,
        maximum=10_000,
    )
    # Mail (docs/mail.md): sent over SMTP when smtp_host is set, else written to the outbox directory.
    smtp_host: str | None = setting(
        None,
        "SMTP server that sends the invitation, email verification and password reset mails; unset:"
        " they are written to the outbox directory instead (invitations and resets; no verification)",
        env="AIRSEQUEL_SMTP_HOST",
        flag="--smtp-host",
        api_name="smtpHost",
    )
    smtp_port: int = setting(
        0,
        "Port of the SMTP server; 0: the usual one of smtp_tls (587 starttls, 465 tls, 25 none)",
        env="AIRSEQUEL_SMTP_PORT",
        flag="--smtp-port",
        api_name="smtpPort",
        minimum=0,
        maximum=65535,
    )
    smtp_tls: str = setting(
        "starttls",
        "How the SMTP connection is encrypted: starttls (upgraded after connecting), tls (from the"
        " start) or none; the server's certificate is verified against the system's CAs",
        env="AIRSEQUEL_SMTP_TLS",
        flag="--smtp-tls",
        api_name="smtpTls",
        choices=("starttls", "tls", "none"),
    )
    smtp_user: str | None = setting(
        None,
        "User name for SMTP AUTH; unset: no login",
        env="AIRSEQUEL_SMTP_USER",
        flag="--smtp-user",
        api_name="smtpUser",
    )
    smtp_password: str | None = setting(
        None,
        "Password for SMTP AUTH (never shown back by the API)",
        env="AIRSEQUEL_SMTP_PASSWORD",
        api_name="smtpPassword",
        secret=True,
    )
    smtp_from: str | None = setting(
        None,
        "Sender address of the mails (From:); unset: airsequel@ the SMTP server's host name",
        env="AIRSEQUEL_SMTP_FROM",
        flag="--smtp-from",
        api_name="smtpFrom",
    )
    public_url: str | None = setting(
        None,
        "The address people open this server at (e.g. https://db.example.org), for the links in mails;"
        " unset: http:// the listen address and port (never the request's Host header)",
        env="AIRSEQUEL_PUBLIC_URL",
        flag="--public-url",
        api_name="publicUrl",
    )
    # Where each value came from (FLAG, ENVIRONMENT, STORED or DEFAULT): not a setting itself.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None, **flags: object) -> Settings:
        """Read the `AIRSEQUEL_*` variables; keyword arguments (the command-line flags) win when not None."""
        return cls.from_sources(os.environ if environ is None else environ, flags)

    @classmethod
    def from_sources(cls, environ: Mapping[str, str], flags: Mapping[str, object]) -> Settings:
        """The settings from command-line `flags` (None: not given) over `environ` over the defaults."""
        from airsequel.setting_values import parse_value  # it reads this module's table

        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        unknown = set(flags) - set(SETTINGS)
        if unknown:
            raise TypeError(f"Unknown settings: {', '.join(sorted(unknown))}")
        for name, spec in SETTINGS.items():
            flagged = flags.get(name)
            if flagged is not None:
                values[name] = parse_value(name, flagged)
                sources[name] = FLAG
            elif environ.get(spec.env, "") != "":
                values[name] = parse_value(name, environ[spec.env], origin=spec.env)
                sources[name] = ENVIRONMENT
            else:
                sources[name] = DEFAULT
        values["data_dir"] = Path(values.get("data_dir", SETTINGS_DEFAULTS["data_dir"])).resolve()
        return cls(**values, sources=sources)

    def source(self, name: str) -> str:
        return self.sources.get(name, DEFAULT)

    def changed(self, changes: Mapping[str, Any], source: str = STORED) -> Settings:
        """A copy with `changes` (already checked by `parse_value`) applied."""
        sources = {**self.sources, **{name: source for name in changes}}
        return dataclasses.replace(self, **changes, sources=sources)

    def with_secret_key(self) -> Settings:
        """Use AIRSEQUEL_SECRET_KEY, else a key generated once and kept in the data directory,
        so that a restart does not invalidate signed cookies."""
        if self.secret_key:
            return self
        path = DataLayout(self.data_dir).secret_key_file
        if path.exists():
            return dataclasses.replace(self, secret_key=path.read_text().strip())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return dataclasses.replace(self, secret_key=key)


SETTINGS: dict[str, SettingSpec] = {
    f.name: f.metadata["setting"] for f in dataclasses.fields(Settings) if "setting" in f.metadata
}
SETTINGS_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings) if "setting" in f.metadata}
SETTING_TYPES: dict[str, Any] = {
    name: hint for name, hint in typing.get_type_hints(Settings).items() if name in SETTINGS
}
BY_API_NAME: dict[str, str] = {spec.api_name: name for name, spec in SETTINGS.items() if spec.api_name}


class LiveSettings:
    """The settings in force now: the start-up ones with what a server admin changed since.

    Readers take `.current` once per operation and use that one consistent `Settings`.
    """

    def __init__(self, settings: Settings) -> None:
        self._current = settings
        self._lock = threading.Lock()

    @property
    def current(self) -> Settings:
        return self._current

    def apply(self, changes: Mapping[str, Any], source: str = STORED) -> Settings:
        with self._lock:
            self._current = self._current.changed(changes, source)
            return self._current


if __name__ == "__main__":
    from airsequel.setting_values import markdown_table

    print(markdown_table(), end="")
