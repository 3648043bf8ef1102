"""The AI prompts: a question in words to SQL for one database, descriptions of a database or a
table, and a new database from a description.

The model is only ever asked; what it proposes goes through the same guarded paths as a caller's
own requests, with the caller's own rights:
- proposed SQL runs as POST /sql runs it, read-only unless the caller asked for it to run
  (`execute`) and may write: a proposed write is returned, not run;
- a description is stored only when asked (`store`) by a caller who may change the database;
- a new database's script must be schema (CREATE TABLE, INDEX, VIEW; INSERT only when sample rows
  were asked for) and is then run like the script of POST /api/dbs, in a team where the caller may
  create databases.
Every prompt is logged with its model, and written to the database's audit log when auditing is on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from airsequel.config import LiveSettings, Settings
from airsequel.core.admin.audit import AuditEntry, AuditLog
from airsequel.core.auth.access import Action, Principal, PrincipalKind, authorize
from airsequel.core.content.schema_edits import SchemaEdits
from airsequel.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound, SqlError, Unprocessable
from airsequel.core.prompts import instructions
from airsequel.core.prompts.answers import Proposal, description, json_object, sql_proposal
from airsequel.core.prompts.language_model import ModelAnswer, ModelLimits, TeamSlots, ask, resolve_model
from airsequel.core.prompts.schema_text import schema_text
from airsequel.core.registry.control_plane import DatabaseRecord, write_database_changes
from airsequel.core.sql.runner import SqlResult
from airsequel.core.sql.script import split_statements
from airsequel.core.storage.catalog import Catalog
from airsequel.core.storage.hosting import Hosting
from airsequel.core.storage.new_databases import checked_description, checked_name

log = logging.getLogger("airsequel.prompts")

MAX_PROMPT_SHARE = 4  # the caller's own words may fill at most a quarter of the prompt
SCHEMA_STATEMENT = re.compile(r"(?:--[^\n]*\n|/\*.*?\*/|\s)*CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX|VIEW)\b", re.I | re.S)
INSERT_STATEMENT = re.compile(r"(?:--[^\n]*\n|/\*.*?\*/|\s)*INSERT\b", re.I | re.S)
# CREATE TABLE name AS SELECT ...: rows, not schema (allowed only with sample rows).
TABLE_AS_SELECT = re.compile(
    r"(?:--[^\n]*\n|/\*.*?\*/|\s)*CREATE\s+(?:TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?:\"(?:[^\"]|\"\")*\"|\[[^\]]*\]|`[^`]*`|[^\s(]+)\s*AS\b",
    re.I | re.S,
)


@dataclass
class SqlPrompt:
    """What POST /api/dbs/:id/prompt answers: the proposal, whether it ran, and its result."""

    prompt: str
    model: str
    proposal: Proposal
    writes: bool | None  # None: unknown (the SQL failed before it could tell)
    executed: bool
    result: SqlResult | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Prompts:
    def __init__(
        self, hosting: Hosting, catalog: Catalog, schema_edits: SchemaEdits, audit: AuditLog, live: LiveSettings
    ) -> None:
        self.hosting = hosting
        self.catalog = catalog
        self.schema_edits = schema_edits
        self.audit = audit
        self.live = live
        self.slots = TeamSlots()

    # --- natural language to SQL ---------------------------------------------------------------

    def to_sql(
        self, caller: Principal, record: DatabaseRecord, prompt: object, *, execute: bool, table: str | None
    ) -> SqlPrompt:
        _authorize_prompt(caller, record)
        settings = self.live.current
        words = _checked_prompt(prompt, settings)
        model = resolve_model(settings.llm_model, settings.llm_key_env)
        system = instructions.to_sql(self._schema(record, settings, words), table)
        self._audit(caller, record, settings, words)
        answer = self._ask(model, words, system, settings, team=_team(record, caller))
        proposal = sql_proposal(answer.text)
        outcome = SqlPrompt(words, answer.model, proposal, writes=None, executed=False, result=None)
        if answer.cut:
            outcome.warnings.append(f"The model's answer was cut at {settings.llm_max_answer_chars} characters")
        try:
            if execute:
                outcome.result = self.hosting.run_sql_as(record, caller, proposal.sql)
                outcome.writes = outcome.result.wrote
            else:
                outcome.result = self.hosting.run_sql(record, proposal.sql, may_write=False, actor=caller)
                outcome.writes = False
            outcome.executed = True
        except (Forbidden, NotAuthenticated) as refused:
            outcome.writes = True
            if execute:
                outcome.errors.extend(refused.messages)
            else:
                outcome.warnings.append(
                    "This SQL writes to the database, so it was not run: send the prompt again with"
                    ' "execute": true, or the SQL itself to POST /dbs/<id>/sql, with write permission'
                )
        except SqlError as failed:
            outcome.errors.extend(failed.messages)
        return outcome

    # --- descriptions ------------------------------------------------------------------------------

    def describe_database(self, caller: Principal, record: DatabaseRecord, *, store: bool) -> dict[str, Any]:
        _authorize_prompt(caller, record)
        if store:
            authorize(caller, Action.MANAGE, record)  # as PATCH /api/dbs/:dbId changes a description
        settings = self.live.current
        model = resolve_model(settings.llm_model, settings.llm_key_env)
        system = instructions.describe_database(record.name, self._schema(record, settings, ""))
        self._audit(caller, record, settings, "describe-database")
        answer = self._ask(model, instructions.DESCRIBE_DATABASE_PROMPT, system, settings, team=_team(record, caller))
        text = checked_description(description(answer.text)[: instructions.MAX_DESCRIPTION]) or ""
        if store:
            with self.hosting.control.transaction() as conn:
                write_database_changes(conn, record.file_key, {"description": text})
                self.audit.write(conn, record, AuditEntry(caller, "describe", "description written by the model"))
        return {"description": text, "model": answer.model, "stored": store}

    def describe_table(
        self, caller: Principal, record: DatabaseRecord, table: object, *, store: bool
    ) -> dict[str, Any]:
        _authorize_prompt(caller, record)
        if store:
            authorize(caller, Action.WRITE, record)  # as PATCH /api/dbs/:dbId/tables/:table changes one
        if not isinstance(table, str) or not table:
            raise InvalidInput("tableName must name a table of the database")
        if table not in {t["name"] for t in record.tables}:
            raise NotFound(f"The database has no table {table!r}")
        settings = self.live.current
        model = resolve_model(settings.llm_model, settings.llm_key_env)
        system = instructions.describe_table(table, self._schema(record, settings, "", only=[table]))
        self._audit(caller, record, settings, f"describe-table {table}")
        answer = self._ask(model, instructions.DESCRIBE_TABLE_PROMPT, system, settings, team=_team(record, caller))
        text = description(answer.text)[: instructions.MAX_DESCRIPTION]
        if store:
            self.schema_edits.change_table(record, caller, table, description=text)
        return {"description": text, "model": answer.model, "stored": store, "tableName": table}

    def describe_source(
        self, caller: Principal, record: DatabaseRecord, name: str, source: str, runtime: str
    ) -> dict[str, Any]:
        """A description of a function's source (the caller passed the functions' own checks)."""
        _authorize_prompt(caller, record)
        settings = self.live.current
        model = resolve_model(settings.llm_model, settings.llm_key_env)
        budget = settings.llm_max_prompt_chars - len(instructions.DESCRIBE_FUNCTION_PROMPT) - 2_000
        system = instructions.describe_function(name, runtime, source[: max(0, budget // 2)])
        self._audit(caller, record, settings, f"describe-function {name}")
        answer = self._ask(model, instructions.DESCRIBE_FUNCTION_PROMPT, system, settings, team=_team(record, caller))
        return {"description": description(answer.text)[: instructions.MAX_DESCRIPTION], "model": answer.model}

    # --- a new database ------------------------------------------------------------------------------

    def create_database(
        self, caller: Principal, prompt: object, *, team: str | None, name: str | None, sample_rows: bool
    ) -> tuple[DatabaseRecord, dict[str, Any]]:
        settings = self.live.current
        words = _checked_prompt(prompt, settings)
        chosen_name = checked_name(name) if name is not None else None
        owner, _username = self.catalog.teams.for_new_database(caller, team)  # refused before the model is asked
        model = resolve_model(settings.llm_model, settings.llm_key_env)
        log.info(
            "AI prompt for a new database of %s by %s with model %s: %r",
            owner,
            _who(caller),
            settings.llm_model,
            words[:200],
        )
        answer = self._ask(model, words, instructions.create_database(sample_rows), settings, team=owner)
        proposal = sql_proposal(answer.text)
        _check_schema_script(proposal.sql, sample_rows=sample_rows)
        title = chosen_name or _proposed_name(answer.text) or "New database"
        explanation = proposal.explanation[: instructions.MAX_DESCRIPTION] or None
        record = self.catalog.create(caller, owner, title, description=explanation, query=proposal.sql)
        self._audit(caller, record, settings, words)
        return record, {"sql": proposal.sql, "explanation": proposal.explanation, "model": answer.model}

    # --- shared ------------------------------------------------------------------------------------

    def _schema(self, record: DatabaseRecord, settings: Settings, words: str, only: list[str] | None = None) -> str:
        budget = settings.llm_max_prompt_chars - len(words) - instructions.OVERHEAD
        with self.hosting.read_snapshot(record) as conn:
            return schema_text(conn, sample_count=settings.llm_sample_rows, max_chars=budget, only=only)[:budget]

    def _ask(self, model: Any, prompt: str, system: str, settings: Settings, *, team: str) -> ModelAnswer:
        limits = ModelLimits(settings.llm_timeout_seconds, settings.llm_max_answer_chars)
        return ask(model, prompt, system, limits, slots=self.slots, team=team, team_limit=settings.llm_team_concurrency)

    def _audit(self, caller: Principal, record: DatabaseRecord, settings: Settings, words: str) -> None:
        """Before the model is asked: a prompt that then fails or times out is on record too."""
        model = settings.llm_model
        log.info("AI prompt on %s by %s with model %s: %r", record.id, _who(caller), model, words[:200])
        if record.auditing:
            with self.hosting.control.transaction() as conn:
                self.audit.write(conn, record, AuditEntry(caller, "prompt", f"model {model}: {words}"))


def _authorize_prompt(caller: Principal, record: DatabaseRecord) -> None:
    """Read access, and someone known: a prompt spends the operator's model, which a visitor of a public
    database may not."""
    authorize(caller, Action.READ, record)
    if caller.kind == PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("AI prompts need a login or an API token")


def _checked_prompt(prompt: object, settings: Settings) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("prompt must be a non-empty text: what to ask the model")
    most = settings.llm_max_prompt_chars // MAX_PROMPT_SHARE
    if len(prompt) > most:
        raise InvalidInput(f"prompt is {len(prompt)} characters long, more than the limit of {most}")
    return prompt.strip()


def _check_schema_script(script: str, *, sample_rows: bool) -> None:
    statements = split_statements(script)
    if not statements:
        raise Unprocessable("The language model proposed an empty schema")
    for statement in statements:
        if sample_rows and INSERT_STATEMENT.match(statement):
            continue
        if SCHEMA_STATEMENT.match(statement) and (sample_rows or not TABLE_AS_SELECT.match(statement)):
            continue
        allowed = "CREATE TABLE, CREATE INDEX, CREATE VIEW" + (
            " and INSERT" if sample_rows else " (no CREATE TABLE ... AS)"
        )
        raise Unprocessable(
            f"The proposed schema may hold only {allowed} statements; it has: {statement.strip()[:200]!r}"
        )


def _proposed_name(text: str) -> str | None:
    found = json_object(text)
    value = found.get("name") if found else None
    if isinstance(value, str) and value.strip():
        try:
            return checked_name(value.strip()[:100])
        except InvalidInput:
            return None
    return None


def _team(record: DatabaseRecord, caller: Principal) -> str:
    return record.owner or f"user:{caller.username}"


def _who(caller: Principal) -> str:
    return caller.username or caller.kind.value
