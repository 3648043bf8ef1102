"""What the model is asked: the system prompts of each kind of AI prompt. The caller's own words are
the prompt itself; the schema goes into the system prompt."""

from __future__ import annotations

OVERHEAD = 1_500  # room kept for the words around the schema
MAX_DESCRIPTION = 2_000

TO_SQL = """You write SQLite SQL for the database described below.
Answer with one JSON object and nothing else: {{"sql": "<one SQLite statement, or a few separated by ;>",
"explanation": "<what it does, in one or two sentences>"}}.
Use only the tables and columns below; quote names that need it with double quotes. Prefer one read-only
SELECT; write (INSERT, UPDATE, DELETE) only when the question asks for a change.{about}

The database:
{schema}"""

DESCRIBE_DATABASE = """Describe the SQLite database {name!r} below for the people who will use it: what it
holds and how its tables relate, in at most three sentences. Answer with the description alone.

{schema}"""
DESCRIBE_DATABASE_PROMPT = "Describe this database."

DESCRIBE_TABLE = """Describe the table {name!r} of a SQLite database for the people who will use it: what a
row is and what its columns hold, in at most two sentences. Answer with the description alone.

{schema}"""
DESCRIBE_TABLE_PROMPT = "Describe this table."

DESCRIBE_FUNCTION = """Describe the {runtime} function {name!r} below for the people who will call it: what it
does, what it expects in its request and what it answers, in at most three sentences. Answer with the
description alone.

{source}"""
DESCRIBE_FUNCTION_PROMPT = "Describe this function."

CREATE_DATABASE = """You design SQLite databases. From the description you are given, propose a schema.
Answer with one JSON object and nothing else: {{"name": "<a short name for the database>", "sql": "<CREATE TABLE
statements (and CREATE INDEX / CREATE VIEW where useful), separated by ;>", "explanation": "<what the database
holds, in one or two sentences>"}}.
{samples}"""
WITH_SAMPLES = "After the CREATE statements, add a few INSERT statements with realistic sample rows."
WITHOUT_SAMPLES = "Only CREATE statements: no INSERT, no other statements."


def to_sql(schema: str, table: str | None) -> str:
    about = f"\nThe question is about the table {table!r}." if table else ""
    return TO_SQL.format(schema=schema, about=about)


def describe_database(name: str, schema: str) -> str:
    return DESCRIBE_DATABASE.format(name=name, schema=schema)


def describe_table(name: str, schema: str) -> str:
    return DESCRIBE_TABLE.format(name=name, schema=schema)


def describe_function(name: str, runtime: str, source: str) -> str:
    return DESCRIBE_FUNCTION.format(name=name, runtime=runtime, source=source)


def create_database(sample_rows: bool) -> str:
    return CREATE_DATABASE.format(samples=WITH_SAMPLES if sample_rows else WITHOUT_SAMPLES)
