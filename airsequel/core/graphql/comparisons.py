"""One column's comparison (`{_gte: 18, _lt: 65}`, every operator ANDed) as SQL. Identifiers are
real names, quoted and (inside relationship subqueries) qualified by their alias; every value is a
bound parameter.

JSON operators (text and untyped columns): a cell that is not valid JSON matches none of them
(json_valid() guards every JSON function, in a CASE, so a bad cell never fails the statement).
`_has_key` looks at the top level of a JSON object; `_contains` is JSON containment for a value made
of objects, arrays of scalars and scalars (see docs/graphql.md, "Filters").
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from airsequel.core.graphql.bindings import ColumnBinding
from airsequel.core.sql import regexp
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.value_kinds import ValueKind

_COMPARE = {"_eq": "=", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}
MAX_JSON_KEYS = 100  # keys in a _has_keys_any/_has_keys_all list, scalars in a _contains value


def column_sql(column: ColumnBinding, qualifier: str | None = None) -> str:
    name = column.name if column.is_rowid else quote_identifier(column.name)
    return f"{qualifier}.{name}" if qualifier else name


def balanced(parts: list[str], operator: str) -> str:
    """`parts` joined by AND or OR as a balanced tree of parentheses: SQLite's expression depth limit
    (200) would refuse a flat chain of 200 terms, a tree of them is 8 levels deep."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) <= 8:
        return "(" + f" {operator} ".join(parts) + ")"
    middle = len(parts) // 2
    return f"({balanced(parts[:middle], operator)} {operator} {balanced(parts[middle:], operator)})"


def bind_value(column: ColumnBinding, value: Any) -> Any:
    if column.kind == ValueKind.BOOLEAN and isinstance(value, bool):
        return int(value)
    return value


def comparison_sql(
    column: ColumnBinding, comparison: dict[str, Any] | None, params: list[Any], qualifier: str | None = None
) -> str:
    """All the operators of one column's comparison object, ANDed."""
    if not comparison:
        raise GraphQLError("Filter must not be empty")
    parts = []
    for raw_operator, value in comparison.items():
        operator = raw_operator if raw_operator.startswith("_") else f"_{raw_operator}"
        parts.append(condition(column, operator, value, params, qualifier))
    return balanced(parts, "AND")


def condition(column: ColumnBinding, operator: str, value: Any, params: list[Any], qualifier: str | None = None) -> str:
    sql = column_sql(column, qualifier)
    if operator in _EXTRA:
        if value is None:
            raise GraphQLError(f"{operator} must not be null")
        return _EXTRA[operator](sql, value, params)
    if column.kind == ValueKind.BOOLEAN and isinstance(value, bool) and operator in ("_eq", "_neq"):
        # Any non-zero integer reads as true, so compare the way the value is shown.
        is_true, is_false = f"({sql} IS NOT NULL AND {sql} <> 0)", f"{sql} = 0"
        if operator == "_eq":
            return is_true if value else is_false
        return f"({sql} IS NULL OR {is_false if value else is_true})"
    if operator == "_eq" and value is None:
        return f"{sql} IS NULL"
    if operator == "_neq":
        if value is None:
            return f"{sql} IS NOT NULL"
        params.append(bind_value(column, value))
        return f"({sql} IS NOT ? OR {sql} IS NULL)"
    if operator in _COMPARE:
        if value is None:
            return "0"
        params.append(bind_value(column, value))
        return f"{sql} {_COMPARE[operator]} ?"
    if operator in ("_in", "_nin"):
        given = value or []
        values = [bind_value(column, v) for v in given if v is not None]
        with_null = len(values) < len(given)
        params.extend(values)
        marks = ", ".join("?" for _ in values)
        if operator == "_in":
            found = f"{sql} IN ({marks})" if values else "0"
            return f"({found} OR {sql} IS NULL)" if with_null else found
        if with_null:  # not any of the values, and not empty
            return f"({sql} NOT IN ({marks}) AND {sql} IS NOT NULL)" if values else f"{sql} IS NOT NULL"
        return f"({sql} NOT IN ({marks}) OR {sql} IS NULL)" if values else "1"
    if operator in ("_like", "_ilike"):
        if value is None:
            return "0"
        # The pattern has the column's scalar type (as in AirGQL): `_like: 12` matches the text 12.
        pattern = value if isinstance(value, str) else str(bind_value(column, value))
        if operator == "_like":
            params.append(like_to_glob(pattern))
            return f"{sql} GLOB ?"
        params.append(pattern)
        return f"{sql} LIKE ? ESCAPE '\\'"
    if operator == "_is_null":
        if value is None:
            raise GraphQLError("_is_null must not be null")
        return f"{sql} IS NULL" if value else f"{sql} IS NOT NULL"
    raise GraphQLError(f"Unknown filter operator {operator}")


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (case-insensitive in SQLite) as a GLOB pattern (case-sensitive)."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


# --- text operators --------------------------------------------------------------------------


def _glob(sql: str, value: Any, params: list[Any]) -> str:
    params.append(str(value))
    return f"{sql} GLOB ?"


def _regex(sql: str, value: Any, params: list[Any], *, ignore_case: bool = False) -> str:
    pattern = f"(?i){value}" if ignore_case else str(value)
    try:
        regexp.compiled(pattern)  # refused here with its reason, before any SQL runs
    except regexp.PatternError as error:
        raise GraphQLError(str(error)) from None
    params.append(pattern)
    return f"{sql} REGEXP ?"


def _iregex(sql: str, value: Any, params: list[Any]) -> str:
    return _regex(sql, value, params, ignore_case=True)


# --- JSON operators --------------------------------------------------------------------------


def json_path(keys: list[str]) -> str:
    """A JSON path to nested object keys, each key quoted ($."a"."b c"). SQLite's path syntax has no
    escape for a double quote inside a key, so such a key is refused."""
    for key in keys:
        if '"' in key:
            raise GraphQLError(f"JSON keys with a double quote cannot be looked up: {key!r}")
    return "$" + "".join(f'."{key}"' for key in keys)


def _guarded(sql: str, test: str) -> str:
    # CASE evaluates in order: no JSON function sees a cell that is not valid JSON.
    return f"(CASE WHEN json_valid({sql}) THEN {test} ELSE 0 END)"


def _has_key(sql: str, value: Any, params: list[Any]) -> str:
    params.append(json_path([str(value)]))
    return _guarded(sql, f"json_type({sql}) = 'object' AND json_type({sql}, ?) IS NOT NULL")


def _has_keys(sql: str, value: Any, params: list[Any], *, joiner: str) -> str:
    keys = [str(key) for key in value if key is not None]
    if len(keys) > MAX_JSON_KEYS:
        raise GraphQLError(f"At most {MAX_JSON_KEYS} keys can be given")
    if not keys:
        return "1" if joiner == "AND" else "0"
    tests = []
    for key in keys:
        params.append(json_path([key]))
        tests.append(f"json_type({sql}, ?) IS NOT NULL")
    return _guarded(sql, f"json_type({sql}) = 'object' AND " + balanced(tests, joiner))


def _has_keys_any(sql: str, value: Any, params: list[Any]) -> str:
    return _has_keys(sql, value, params, joiner="OR")


def _has_keys_all(sql: str, value: Any, params: list[Any]) -> str:
    return _has_keys(sql, value, params, joiner="AND")


def _scalar_test(type_sql: str, value_sql: str, place: list[Any], value: Any, params: list[Any]) -> str:
    """The JSON value at a place (its json_type and value expressions, each taking the `place`
    parameters) equals the scalar `value`."""
    if value is None:
        params.extend(place)
        return f"{type_sql} = 'null'"
    if isinstance(value, bool):
        params.extend(place)
        return f"{type_sql} = '{'true' if value else 'false'}'"
    if isinstance(value, (int, float)):
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise GraphQLError(f"_contains: the integer {value} does not fit in 64 bits, as SQLite's JSON reads it")
        params.extend([*place, *place, value])
        return f"({type_sql} IN ('integer', 'real') AND {value_sql} = ?)"
    if isinstance(value, str):
        params.extend([*place, *place, value])
        return f"({type_sql} = 'text' AND {value_sql} = ?)"
    raise GraphQLError("_contains: arrays may hold scalars only (no objects or arrays inside arrays)")


def _contains_at(sql: str, keys: list[str], value: Any, params: list[Any], budget: list[int]) -> str:
    budget[0] -= 1
    if budget[0] < 0:
        raise GraphQLError(f"_contains: the value may have at most {MAX_JSON_KEYS} keys and items")
    path = json_path(keys)
    if isinstance(value, dict):
        params.append(path)
        tests = [f"json_type({sql}, ?) = 'object'"]
        for key, inner in value.items():
            tests.append(_contains_at(sql, [*keys, str(key)], inner, params, budget))
        return balanced(tests, "AND")
    if isinstance(value, list):
        params.append(path)
        tests = [f"json_type({sql}, ?) = 'array'"]
        for item in value:
            budget[0] -= 1
            if budget[0] < 0:
                raise GraphQLError(f"_contains: the value may have at most {MAX_JSON_KEYS} keys and items")
            params.append(path)
            test = _scalar_test('"_item".type', '"_item".value', [], item, params)
            tests.append(f'EXISTS (SELECT 1 FROM json_each({sql}, ?) AS "_item" WHERE {test})')
        return balanced(tests, "AND")
    return _scalar_test(f"json_type({sql}, ?)", f"json_extract({sql}, ?)", [path], value, params)


def _contains(sql: str, value: Any, params: list[Any]) -> str:
    inner: list[Any] = []
    test = _contains_at(sql, [], value, inner, [MAX_JSON_KEYS])
    params.extend(inner)
    return _guarded(sql, test)


_EXTRA = {
    "_glob": _glob,
    "_regex": _regex,
    "_iregex": _iregex,
    "_has_key": _has_key,
    "_has_keys_any": _has_keys_any,
    "_has_keys_all": _has_keys_all,
    "_contains": _contains,
}
