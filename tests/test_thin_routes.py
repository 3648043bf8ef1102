"""HTTP routes are thin: they parse, authorize through airsequel.http.context, make one core call
and serialize. What the core owns never appears in a route module: SQLite, the control plane,
SQL text, or an access decision of its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import airsequel

ROUTES = Path(airsequel.__file__).parent / "http" / "routes"
FORBIDDEN_IMPORTS = {"sqlite3"}
# Names a route never calls: access decisions and the control plane belong to the core.
FORBIDDEN_CALLS = {"may", "authorize", "authorize_team", "require_user", "allowed_actions"}
FORBIDDEN_ATTRIBUTES = {"control", "read_snapshot", "write_transaction", "pool"}
SQL = re.compile(
    r"^\s*(SELECT\s.*\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s"
    r"|(CREATE|DROP|ALTER)\s+(TABLE|INDEX|VIEW|TRIGGER)\s|PRAGMA\s)",
    re.IGNORECASE,
)


def findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{where} imports {n}" for n in names if n in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            found.append(f"{where} decides access itself: {node.func.id}()")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{where} reaches into the core: .{node.attr}")
        elif isinstance(node, ast.Compare) and any(
            isinstance(side, ast.Attribute) and side.attr == "kind" for side in [node.left, *node.comparators]
        ):
            found.append(f"{where} decides access itself: compares a principal's kind")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            found.append(f"{where} holds SQL: {node.value[:40]!r}")
    return found


@pytest.mark.parametrize("module", sorted(p.name for p in ROUTES.glob("*.py") if p.name != "__init__.py"))
def test_a_route_module_leaves_sql_storage_and_access_to_the_core(module):
    assert findings(ROUTES / module) == []


def test_the_check_sees_a_route_that_runs_sql(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlite3\n"
        "def route(request, services, caller, record):\n"
        "    if caller.kind == 'user' and may(caller, 'read', record):\n"
        "        services.control.query('SELECT * FROM databases')\n"
    )
    assert sorted(findings(bad)) == [
        "bad.py:1 imports sqlite3",
        "bad.py:3 decides access itself: compares a principal's kind",
        "bad.py:3 decides access itself: may()",
        "bad.py:4 holds SQL: 'SELECT * FROM databases'",
        "bad.py:4 reaches into the core: .control",
    ]
