"""Control-plane migration: API token ids are never reused.

`tokens.id` was a plain INTEGER PRIMARY KEY, for which SQLite hands out max(id) + 1: deleting the newest
token gave its id to the next one, so an audit actor `token:7` could name two different tokens. With
AUTOINCREMENT SQLite keeps the highest id ever given (in sqlite_sequence) and never gives it again.

SQLite cannot add AUTOINCREMENT to a table, so the table is rebuilt (create the new table, copy, drop
the old one, rename the new one), in the migration's transaction. Foreign keys stay on while migrations
run, and dropping `tokens` deletes its rows first, with their ON DELETE actions: the permissions are
copied aside and put back, and the export jobs a token asked for are detached from it first and
reattached after, so that no job is deleted. The counter starts above every id known to have been
given: the tokens, their export jobs and the audit log's `token:<id>` actors.
"""

from __future__ import annotations

TOKEN_IDS_NEVER_REUSED = """
CREATE TABLE tokens_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO tokens_rebuilt(
    id, team_id, name, description, token_hash, masked_body, created_by, created_utc, expiration_utc, last_used_utc
)
SELECT id, team_id, name, description, token_hash, masked_body, created_by, created_utc, expiration_utc, last_used_utc
FROM tokens;
CREATE TABLE kept_token_permissions AS SELECT token_id, db_file_key, permission FROM token_permissions;
CREATE TABLE kept_token_jobs AS SELECT id, token_id FROM export_jobs WHERE token_id IS NOT NULL;
UPDATE export_jobs SET token_id = NULL WHERE token_id IS NOT NULL;
DROP TABLE tokens;
ALTER TABLE tokens_rebuilt RENAME TO tokens;
INSERT INTO token_permissions(token_id, db_file_key, permission)
SELECT token_id, db_file_key, permission FROM kept_token_permissions;
UPDATE export_jobs SET token_id = (SELECT token_id FROM kept_token_jobs WHERE kept_token_jobs.id = export_jobs.id)
WHERE id IN (SELECT id FROM kept_token_jobs);
INSERT INTO sqlite_sequence(name, seq) SELECT 'tokens', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'tokens');
UPDATE sqlite_sequence SET seq = max(
    seq,
    coalesce((SELECT max(id) FROM tokens), 0),
    coalesce((SELECT max(token_id) FROM kept_token_jobs), 0),
    coalesce((SELECT max(CAST(substr(actor, 7) AS INTEGER)) FROM audit_log WHERE actor GLOB 'token:[0-9]*'), 0)
) WHERE name = 'tokens';
DROP TABLE kept_token_permissions;
DROP TABLE kept_token_jobs;
"""
