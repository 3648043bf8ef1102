"""What kind of value a column holds, read from its declared SQLite type (by SQLite's affinity rules,
with BOOLEAN and BLOB told apart): the GraphQL schema, record filters and table objects all use it."""

from __future__ import annotations

from enum import Enum


class ValueKind(str, Enum):
    INT = "int"
    STRING = "string"
    BLOB = "blob"
    FLOAT = "float"
    BOOLEAN = "boolean"
    UNTYPED = "untyped"


def column_kind(declared_type: str) -> ValueKind:
    """First match wins: INT, CHAR/CLOB/TEXT, BLOB, REAL/FLOA/DOUB, BOOL; else Int; no type: String."""
    upper = declared_type.upper()
    if not upper.strip():
        return ValueKind.UNTYPED
    if "INT" in upper:
        return ValueKind.INT
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return ValueKind.STRING
    if "BLOB" in upper:
        return ValueKind.BLOB
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return ValueKind.FLOAT
    if "BOOL" in upper:
        return ValueKind.BOOLEAN
    return ValueKind.INT
