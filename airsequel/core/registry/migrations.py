"""The control plane's schema: numbered migrations, written once in SQLite's SQL.

On SQLite the number reached is `PRAGMA user_version`; on PostgreSQL a row of `control_plane_version`,
and each migration runs as postgres_dialect.py translates it. A migration that only SQLite needs (a
table rebuild PostgreSQL does not need) has its PostgreSQL form in POSTGRESQL_FORMS. Never change a
migration that has shipped: append a new one.
"""

from __future__ import annotations

from airsequel.core.registry.generation import GENERATION_ROW
from airsequel.core.registry.token_id_migration import TOKEN_IDS_NEVER_REUSED

MIGRATIONS: list[str] = [
    # 1: the database registry
    """
    CREATE TABLE databases (
        file_key TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        readonly_id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        description TEXT,
        owner TEXT,
        created_by TEXT,
        created_utc TEXT NOT NULL,
        ownership_utc TEXT NOT NULL,
        last_modified_utc TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        schema_version INTEGER NOT NULL DEFAULT 0,
        user_version INTEGER NOT NULL DEFAULT 0,
        tables_json TEXT NOT NULL DEFAULT '[]',
        visibility TEXT NOT NULL DEFAULT 'private',
        schema_locked INTEGER NOT NULL DEFAULT 0,
        views_tab INTEGER NOT NULL DEFAULT 0,
        auditing INTEGER NOT NULL DEFAULT 0,
        environment TEXT,
        file_format TEXT NOT NULL DEFAULT 'sqlite',
        file_name TEXT NOT NULL DEFAULT 'database.sqlite'
    ) STRICT;
    CREATE INDEX databases_owner ON databases(owner);
    """,
    # 2: accounts, teams, sessions, API tokens
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        server_admin INTEGER NOT NULL DEFAULT 0,
        created_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_utc TEXT NOT NULL,
        billing_email TEXT,
        billing_plan TEXT,
        billing_subscription_id INTEGER
    ) STRICT;
    CREATE TABLE memberships (
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('Admin', 'Editor', 'Viewer')),
        PRIMARY KEY (team_id, user_id, role)
    ) STRICT;
    CREATE INDEX memberships_user ON memberships(user_id);
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_utc TEXT NOT NULL,
        expires_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE password_resets (
        key_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        token_hash TEXT NOT NULL UNIQUE,
        masked_body TEXT NOT NULL,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_utc TEXT NOT NULL,
        expiration_utc TEXT,
        last_used_utc TEXT
    ) STRICT;
    CREATE TABLE token_permissions (
        token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
        db_file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        permission TEXT NOT NULL CHECK (permission IN ('read', 'write', 'insert')),
        PRIMARY KEY (token_id, db_file_key)
    ) STRICT;
    """,
    # 3: descriptions and ordering of tables and columns, kept outside the hosted file
    """
    CREATE TABLE table_meta (
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        table_name TEXT NOT NULL,
        description TEXT,
        position REAL,
        PRIMARY KEY (file_key, table_name)
    ) STRICT;
    CREATE TABLE column_meta (
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        table_name TEXT NOT NULL,
        column_name TEXT NOT NULL,
        description TEXT,
        PRIMARY KEY (file_key, table_name, column_name)
    ) STRICT;
    """,
    # 4: export jobs and assets
    """
    CREATE TABLE export_jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
        token_id INTEGER REFERENCES tokens(id) ON DELETE CASCADE,
        team TEXT NOT NULL,
        request_json TEXT NOT NULL,
        status TEXT NOT NULL,
        rows_done INTEGER NOT NULL DEFAULT 0,
        rows_total INTEGER,
        artifact_name TEXT,
        error TEXT,
        created_utc TEXT NOT NULL,
        finished_utc TEXT,
        expires_utc TEXT
    ) STRICT;
    CREATE INDEX export_jobs_queue ON export_jobs(status, created_utc);
    CREATE TABLE assets (
        id TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        filename TEXT NOT NULL,
        is_uploaded INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    """,
    # 5: server settings, environment variables, audit log
    """
    CREATE TABLE server_settings (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL
    ) STRICT;
    CREATE TABLE env_vars (
        scope TEXT NOT NULL,  -- 'server' or a database file key
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        created_utc TEXT NOT NULL,
        PRIMARY KEY (scope, name)
    ) STRICT;
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        at_utc TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        statement TEXT,
        affected_tables_json TEXT NOT NULL,
        rows INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX audit_log_database ON audit_log(file_key, id);
    """,
    # 6: charts and dashboards
    """
    CREATE TABLE charts (
        ulid TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        definition_json TEXT NOT NULL
    ) STRICT;
    CREATE TABLE dashboards (
        ulid TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        definition_json TEXT NOT NULL
    ) STRICT;
    """,
    # 7: listing pages of databases without sorting them all
    """
    CREATE INDEX databases_created ON databases(created_utc, id);
    """,
    # 8: the read-only link is off until a manager turns it on (issue 16). Existing databases come
    # out of the upgrade with their link off: ids shown before to insert-only tokens, readers and
    # former members stop working; a manager turns the link on again with a fresh id.
    """
    ALTER TABLE databases ADD COLUMN readonly_enabled INTEGER NOT NULL DEFAULT 0;
    """,
    # 9: API token ids are never reused (issue 17): the audit actor `token:<id>` names one token
    TOKEN_IDS_NEVER_REUSED,
    # 10: across worker processes (issue 18): an export job is claimed with a lease that its runner
    # renews (another worker takes over a job whose lease ran out, up to a bounded number of
    # attempts), and failed logins are counted here rather than in one process's memory.
    """
    ALTER TABLE export_jobs ADD COLUMN claimed_by TEXT;
    ALTER TABLE export_jobs ADD COLUMN lease_until REAL;
    ALTER TABLE export_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at REAL NOT NULL
    ) STRICT;
    CREATE INDEX login_failures_key ON login_failures(key, at);
    """,
    # 11: the generation every process's caches are checked against, bumped by every write (issue 18)
    GENERATION_ROW,
    # 12: a cluster of nodes (issue 20): each database's owner node and ownership epoch, the epochs'
    # history (which node wrote which epoch from when: point-in-time restore finds its replica by
    # time), the nodes with their leases, and per database when a write is acknowledged.
    """
    ALTER TABLE databases ADD COLUMN node TEXT;
    ALTER TABLE databases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE databases ADD COLUMN durability TEXT NOT NULL DEFAULT 'local';
    CREATE INDEX databases_node ON databases(node);
    CREATE TABLE cluster_nodes (
        node_id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        incarnation INTEGER NOT NULL,
        lease_until REAL NOT NULL,
        draining INTEGER NOT NULL DEFAULT 0,
        started_utc TEXT NOT NULL,
        stats_json TEXT NOT NULL DEFAULT '{}'
    ) STRICT;
    CREATE TABLE database_epochs (
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        node TEXT NOT NULL,
        started_at REAL NOT NULL,
        handoff TEXT,  -- a planned move's snapshot for the new owner (its name under the epoch's prefix)
        PRIMARY KEY (file_key, epoch)
    ) STRICT;
    ALTER TABLE export_jobs ADD COLUMN node TEXT;
    """,
    # 13: mail (issue 22): when a user's address was verified, the keys of verification links and of
    # invitations (only their SHA-256, single use, expiring), and the queue of mails to send over SMTP
    # (claimed with a lease, so that one worker process sends each; a row goes once sent or given up).
    """
    ALTER TABLE users ADD COLUMN email_verified_utc TEXT;
    CREATE TABLE email_verifications (
        key_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        email TEXT NOT NULL,
        expires_utc TEXT NOT NULL
    ) STRICT;
    CREATE INDEX email_verifications_user ON email_verifications(user_id);
    CREATE TABLE invitations (
        key_hash TEXT PRIMARY KEY,
        email TEXT NOT NULL COLLATE NOCASE,
        team_id INTEGER REFERENCES teams(id) ON DELETE CASCADE,
        role TEXT CHECK (role IN ('Admin', 'Editor', 'Viewer')),
        invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_utc TEXT NOT NULL,
        expires_utc TEXT NOT NULL
    ) STRICT;
    CREATE TABLE mail_queue (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        purpose TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        claimed_by TEXT,
        lease_until REAL,
        last_error TEXT,
        created_utc TEXT NOT NULL
    ) STRICT;
    CREATE INDEX mail_queue_due ON mail_queue(next_attempt_at);
    """,
    # 14: cloud functions (issue 22): a database's functions (who may call them, with which
    # permission, the version in force), their immutable versions (code, name, description and the
    # diagnostics Deno gave when each was saved), and the last calls of each with their result,
    # duration and captured log lines.
    """
    CREATE TABLE functions (
        id TEXT PRIMARY KEY,
        file_key TEXT NOT NULL REFERENCES databases(file_key) ON DELETE CASCADE,
        permission TEXT NOT NULL CHECK (permission IN ('read', 'write')),
        public INTEGER NOT NULL DEFAULT 0,
        current_version TEXT NOT NULL,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_utc TEXT NOT NULL
    ) STRICT;
    CREATE INDEX functions_file_key ON functions(file_key);
    CREATE TABLE function_versions (
        id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        runtime TEXT NOT NULL,
        language TEXT NOT NULL,
        content TEXT NOT NULL,
        diagnostics_json TEXT NOT NULL,
        created_utc TEXT NOT NULL,
        UNIQUE (function_id, number)
    ) STRICT;
    CREATE TABLE function_invocations (
        id INTEGER PRIMARY KEY,
        function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
        version_id TEXT NOT NULL,
        method TEXT NOT NULL,
        created_utc TEXT NOT NULL,
        runtime_ms REAL NOT NULL,
        ok INTEGER NOT NULL,
        data_json TEXT,
        error TEXT,
        logs_json TEXT NOT NULL
    ) STRICT;
    CREATE INDEX function_invocations_function ON function_invocations(function_id, id);
    """,
]

# Migration number -> its PostgreSQL form, where the SQLite text does not translate.
POSTGRESQL_FORMS: dict[int, str] = {
    # 9: on PostgreSQL `tokens.id` is an identity column from migration 2 on, which never gives an id
    # twice: there is nothing to rebuild (the SQLite form rebuilds the table with AUTOINCREMENT).
    9: "",
}


def postgresql_migrations() -> list[str]:
    return [POSTGRESQL_FORMS.get(number, script) for number, script in enumerate(MIGRATIONS, start=1)]
