"""SQL text: quoting identifiers, and splitting a script into statements the way SQLite reads it."""

from __future__ import annotations

import functools
import sqlite3


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQLite identifier, safe for any string."""
    return '"' + name.replace('"', '""') + '"'


def split_statements(script: str) -> list[str]:
    """The statements of `script`, in order, without empty ones (remembered for recent scripts)."""
    return list(_split_cached(script)) if len(script) <= 4096 else _split(script)


@functools.lru_cache(maxsize=1024)
def _split_cached(script: str) -> tuple[str, ...]:
    return tuple(_split(script))


def _split(script: str) -> list[str]:
    """The statements of `script`, in order, without empty ones.

    SQLite's own `complete_statement` decides where a statement ends, so semicolons inside strings,
    comments and `CREATE TRIGGER ... BEGIN ... END` bodies are handled as SQLite handles them.
    """
    statements: list[str] = []
    start = 0
    position = script.find(";")
    while position != -1:
        candidate = script[start : position + 1]
        if sqlite3.complete_statement(candidate):
            if _has_code(candidate):
                statements.append(candidate.strip())
            start = position + 1
        position = script.find(";", position + 1)
    rest = script[start:]
    if _has_code(rest):
        statements.append(rest.strip())
    return statements


def _has_code(fragment: str) -> bool:
    """True unless `fragment` is only whitespace, semicolons and comments."""
    return bool(_strip_comments(fragment).strip(" \t\r\n;"))


def _strip_comments(fragment: str) -> str:
    out: list[str] = []
    i, n = 0, len(fragment)
    while i < n:
        ch = fragment[i]
        if ch == "-" and fragment.startswith("--", i):
            end = fragment.find("\n", i)
            i = n if end == -1 else end + 1
        elif ch == "/" and fragment.startswith("/*", i):
            end = fragment.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif ch in "'\"`[":
            close = "]" if ch == "[" else ch
            end = fragment.find(close, i + 1)
            end = n if end == -1 else end + 1
            out.append(fragment[i:end])
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out)
