"""The answers of the account and administration routes (status, users, teams, tokens, settings),
of the web pages under documented paths, of this documentation itself and of the routes of the
reference that this server does not include, keyed by (method, path) as the routing table names them."""

from __future__ import annotations

from airsequel.config import SETTINGS
from airsequel.http.openapi.declarations import Declared, declare, html, json, listing, named, page
from airsequel.http.openapi.schemas import BOOL, EMPTY, INT, STR, Schema, array, nullable, record, ref
from airsequel.http.routes.settings import run_time_setting_schemas

PUBLIC = (400, 429)


def _settings_view() -> Schema:
    """GET /api/settings: each run-time setting by its API name (typed as PATCH takes it), the whole
    settings table, and the server's variables."""
    by_api_name = run_time_setting_schemas()
    row = record(
        name=STR,
        apiName=nullable(STR),
        environmentVariable=nullable(STR),
        flag=nullable(STR),
        type=STR,
        default={"description": "The default, as JSON (null for a secret)"},
        value={"description": "The value in force, as JSON (null for a secret)"},
        source=STR,
        changeableAtRunTime=BOOL,
        help=STR,
    )
    # A secret (the SMTP password) is shown as whether it is set, never its value.
    secrets = {spec.api_name: {**BOOL, "description": "Whether it is set"} for spec in SETTINGS.values() if spec.secret}
    shown = {name: secrets.get(name, schema) for name, schema in by_api_name.items()}
    return record(**shown, settings=array(row), envVars=array(ref("EnvVar")))


NOT_INCLUDED = declare(errors=(501,))  # every answer is the 501 error
STATUS = record(
    ("numberOfDatabases", "replication"),
    status={"type": "string", "enum": ["ok", "degraded"]},
    version=STR,
    numberOfDatabases=INT,
    replication=record(("running",), enabled=BOOL, running=BOOL),
)

ACCOUNTS: dict[tuple[str, str], Declared] = {
    ("GET", "/api/status"): declare(
        json(STATUS, description="ok or degraded; the figures for server admins only"),
        query={"replication": {"type": "string", "enum": ["details"]}},
        errors=(),
    ),
    ("POST", "/api/users"): declare(json(record(username=STR), 201, "Signed up"), errors=(*PUBLIC, 403, 409, 413)),
    ("POST", "/api/login"): declare(
        json(record(sessionToken=STR, teams=array(ref("TeamSummary")), username=STR), description="Logged in"),
        errors=(*PUBLIC, 401, 413),
    ),
    ("POST", "/api/logout"): declare(json(EMPTY), errors=(401,)),
    ("POST", "/api/users/reset-password"): declare(json(EMPTY), errors=(*PUBLIC, 413)),
    ("POST", "/api/users/reset-password/submit"): declare(json(EMPTY), errors=(*PUBLIC, 413)),
    ("GET", "/api/users/{username}"): declare(
        json(record(emailVerified=BOOL, serverRoles=array(STR), teams=array(ref("TeamSummary")), username=STR)),
        errors=(401, 404),
    ),
    ("POST", "/api/teams"): declare(named("Team", 201, "The new team, you its Admin"), errors=(400, 401, 409, 413)),
    ("GET", "/api/teams/{team_name}"): declare(named("Team")),
    ("PATCH", "/api/teams/{team_name}"): declare(named("Team", description="The team, changed")),
    ("DELETE", "/api/teams/{team_name}"): declare(json(EMPTY)),
    ("GET", "/api/teams/{team_name}/members"): declare(listing("members", "Member")),
    ("PATCH", "/api/teams/{team_name}/members/{username}"): declare(json(EMPTY)),
    ("DELETE", "/api/teams/{team_name}/members/{username}"): declare(json(EMPTY)),
    ("GET", "/api/teams/{team_name}/tokens"): declare(listing("tokens", "Token")),
    ("POST", "/api/tokens"): declare(
        json({"allOf": [ref("Token"), record(body=STR)]}, 201, "The new token; `body`, its secret, is shown this once")
    ),
    ("GET", "/api/tokens/{token_id}"): declare(named("Token", description="The token, its body masked")),
    ("PATCH", "/api/tokens/{token_id}"): declare(named("Token", description="The token, changed")),
    ("DELETE", "/api/tokens/{token_id}"): declare(json(EMPTY)),
}

ENV_LIST = listing("envVars", "EnvVar")
SETTINGS_ROUTES: dict[tuple[str, str], Declared] = {
    ("GET", "/api/settings"): declare(json(_settings_view()), errors=(401, 403)),
    ("PATCH", "/api/settings"): declare(json(EMPTY), errors=(400, 401, 403, 413)),
    ("GET", "/api/settings/env"): declare(ENV_LIST, errors=(401, 403)),
    ("POST", "/api/settings/env"): declare(named("EnvVar", 201, "The new variable"), errors=(400, 401, 403, 409, 413)),
    ("PATCH", "/api/settings/env/{name}"): declare(json(EMPTY)),
    ("DELETE", "/api/settings/env/{name}"): declare(json(EMPTY)),
    ("GET", "/api/dbs/{db_id}/settings"): declare(
        json(
            record(
                auditing=BOOL,
                environment=nullable(STR),
                envVars=array(ref("EnvVar")),
                schemaLocked=BOOL,
                viewsTab=BOOL,
                visibility={"type": "string", "enum": ["public", "private"]},
            )
        )
    ),
    ("PATCH", "/api/dbs/{db_id}/settings"): declare(json(EMPTY)),
    ("GET", "/api/dbs/{db_id}/env"): declare(ENV_LIST),
    ("POST", "/api/dbs/{db_id}/env"): declare(named("EnvVar", 201, "The new variable")),
    ("PATCH", "/api/dbs/{db_id}/env/{name}"): declare(json(EMPTY)),
    ("DELETE", "/api/dbs/{db_id}/env/{name}"): declare(json(EMPTY)),
    ("GET", "/api/dbs/{db_id}/audit"): declare(
        json(record(entries=array(ref("AuditEntry")), next=nullable(INT)), description="Newest first; `next` pages on"),
        query={"before": {"type": "integer", "minimum": 0, "description": "Entries older than this id"}},
    ),
}

PAGES: dict[tuple[str, str], Declared] = {
    ("GET", "/api/openapi.json"): declare(json({"type": "object", "description": "This document"}), errors=()),
    ("GET", "/api/docs"): declare(html("This document as a web page"), errors=()),
    ("GET", "/dbs/{db_id}"): page(),
    ("GET", "/dbs/{db_id}/tables/{table}"): page(),
    ("GET", "/dbs/{db_id}/sql"): page(),
    ("GET", "/dbs/{db_id}/duplicate"): page(),
    ("GET", "/readonly/{readonly_id}/duplicate"): page(),
    ("GET", "/readonly/{readonly_id}"): page(),
    ("GET", "/readonly/{readonly_id}/tables/{table}"): page(),
    ("GET", "/readonly/{readonly_id}/sql"): page(),
    ("GET", "/dbs/{db_id}/regenerate-db-id"): page(),
    ("GET", "/dbs/{db_id}/regenerate-readonly-id"): page(),
    ("GET", "/api/dbs/{db_id}/apps"): declare(json(record(apps=array({"type": "object"})), description="None yet")),
    ("GET", "/dbs/{db_id}/apps/{app_id}"): declare(errors=(401, 403, 404)),  # no app exists: always an error
    ("POST", "/api/events/paddle"): NOT_INCLUDED,
    ("POST", "/api/users/invite"): declare(json(EMPTY), errors=(*PUBLIC, 401, 403, 404, 409, 413)),
}

RESPONSES: dict[tuple[str, str], Declared] = {**ACCOUNTS, **SETTINGS_ROUTES, **PAGES}
