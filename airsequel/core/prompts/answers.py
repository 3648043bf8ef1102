"""Reading what a model answered. Models are asked for one JSON object; they do not always comply,
so a fenced ```sql block, or an answer that is SQL alone, is taken too."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from airsequel.core.errors import Unprocessable

FENCED = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n(.*?)```", re.S)
SQL_START = re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|PRAGMA|VALUES)\b", re.I)
MAX_SHOWN = 300


@dataclass(frozen=True)
class Proposal:
    sql: str
    explanation: str
    sample_rows: bool = False  # create-database: the script inserts rows too


def json_object(text: str) -> dict[str, object] | None:
    stripped = text.strip()
    fenced = FENCED.search(stripped)
    candidates = [stripped]
    if fenced and fenced.group(1).lower() in ("", "json"):
        candidates.insert(0, fenced.group(2).strip())
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            value = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _shown(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def sql_proposal(text: str) -> Proposal:
    """The SQL (and its explanation) a model proposed in `text`; Unprocessable when it proposed none."""
    found = json_object(text)
    if found is not None and isinstance(found.get("sql"), str) and str(found["sql"]).strip():
        explanation = found.get("explanation")
        return Proposal(str(found["sql"]).strip(), explanation if isinstance(explanation, str) else "")
    for match in FENCED.finditer(text):
        if match.group(1).lower() in ("sql", "sqlite", "") and SQL_START.match(match.group(2)):
            explanation = (text[: match.start()] + text[match.end() :]).strip()
            return Proposal(match.group(2).strip(), explanation)
    if SQL_START.match(text):
        return Proposal(text.strip(), "")
    raise Unprocessable(f"The language model proposed no SQL; it answered: {_shown(text.strip())!r}")


def description(text: str) -> str:
    """A description the model wrote: its JSON `description` when it sent one, else its text."""
    found = json_object(text)
    if found is not None and isinstance(found.get("description"), str):
        return str(found["description"]).strip()
    stripped = text.strip()
    if not stripped:
        raise Unprocessable("The language model answered nothing")
    return stripped
