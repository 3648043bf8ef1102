"""The core's subpackages are layers: a module imports only from its own layer and those below.

    leaf modules (errors, clock, ids, layout, ...)  <  sql  <  formats  <  imports  <  registry  <  mail  <  auth
    <  admin  <  storage  <  content  <  graphql  <  exports  <  cluster  <  functions  <  prompts  <  services

(storage sits above admin so that a change to a hosted file writes its audit entry itself.)

`airsequel.config` sits below the core (it may use the leaf modules only), and nothing in the core
imports `airsequel.http` or `airsequel.cli`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import airsequel

PACKAGE = Path(airsequel.__file__).parent
LAYERS = [
    "sql",
    "formats",
    "imports",
    "registry",
    "mail",
    "auth",
    "admin",
    "storage",
    "content",
    "graphql",
    "exports",
    "cluster",
    "functions",
    "prompts",
]
LEAVES = {"errors", "clock", "ids", "integer_text", "durability", "file_types", "layout", "running_counts"}


def layer_of(module: str) -> int | None:
    """0 for a leaf module, 1.. for the subpackages in order, len+1 for services; None outside the core."""
    parts = module.split(".")
    if parts[:2] != ["airsequel", "core"] or len(parts) < 3:
        return None
    if parts[2] in LEAVES:
        return 0
    if parts[2] in LAYERS:
        return LAYERS.index(parts[2]) + 1
    if parts[2] == "services":
        return len(LAYERS) + 1
    raise AssertionError(f"{module} is in no layer: add it to LAYERS or LEAVES in this test")


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # `from airsequel.core import ids` names a module too
            found += [f"{node.module}.{alias.name}" for alias in node.names if node.module == "airsequel.core"]
    return [name for name in found if name.startswith("airsequel")]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def violations() -> list[str]:
    found = []
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        importer = module_name(path)
        own = layer_of(importer) if importer != "airsequel.core" else 0
        for imported in imports_of(path):
            if imported.startswith(("airsequel.http", "airsequel.cli")):
                found.append(f"{importer} imports {imported}: the core knows nothing of HTTP or the CLI")
                continue
            theirs = layer_of(imported)
            if theirs is not None and own is not None and theirs > own:
                found.append(f"{importer} (layer {own}) imports {imported} (layer {theirs})")
    for imported in imports_of(PACKAGE / "config.py"):
        if imported.startswith("airsequel.core") and layer_of(imported) != 0:
            found.append(f"airsequel.config imports {imported}: settings may use only the core's leaf modules")
    return found


def test_core_imports_run_one_way():
    assert violations() == []


def test_the_check_sees_a_wrong_way_import(tmp_path, monkeypatch):
    # The checker itself can fail: a sql module that imports the registry is reported.
    fake = tmp_path / "airsequel"
    (fake / "core" / "sql").mkdir(parents=True)
    (fake / "core" / "sql" / "bad.py").write_text("from airsequel.core.registry.control_plane import ControlPlane\n")
    (fake / "config.py").write_text("")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    assert violations() == ["airsequel.core.sql.bad (layer 1) imports airsequel.core.registry.control_plane (layer 4)"]
