"""What Deno says of a version when it is saved: `deno check` (TypeScript's type check) and
`deno lint`, each in bounded time, as a list of diagnostics.

The check reads the code from a file of a fresh directory, outside any sandbox (the code is read,
never run). So that it cannot be made to read the server's files through an import (a type error
can quote what it read), code that imports local paths is not type-checked: a diagnostic says why,
and such imports fail when the function runs anyway (functions have no file system). Only the
diagnostics about the function's own file are kept.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from airsequel.core.functions.sandbox import deno_binary, deno_environment

CHECK_SECONDS = 20.0
LINT_SECONDS = 10.0
MAX_DIAGNOSTICS = 100
CONFIG = {"compilerOptions": {"noImplicitAny": False}, "lint": {"rules": {"tags": ["recommended"]}}}

_SPECIFIER = re.compile(r"""(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'`]([^"'`\n]+)["'`]""")
_REFERENCE = re.compile(r"""<reference\s+(?:path|types)\s*=\s*["']([^"']+)["']""")
_REMOTE_PREFIXES = ("data:", "npm:", "jsr:", "node:", "http:", "https:")
_CHECK_ERROR = re.compile(r"^(TS\d+) \[(ERROR|WARN)\]: (.*?)$", re.MULTILINE)
_AT = re.compile(r"^\s+at (\S+):(\d+):(\d+)\s*$", re.MULTILINE)


def local_imports(code: str) -> list[str]:
    """The import specifiers (and triple-slash references) of `code` that name local paths."""
    found = _SPECIFIER.findall(code) + _REFERENCE.findall(code)
    return [spec for spec in found if not spec.startswith(_REMOTE_PREFIXES)]


def diagnose(code: str, language: str, deno_dir: Path) -> list[dict[str, Any]]:
    deno_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=deno_dir, prefix="check-") as directory:
        folder = Path(directory)
        source = folder / ("function.js" if language == "javascript" else "function.ts")
        source.write_text(code)
        (folder / "deno.json").write_text(json.dumps(CONFIG))
        with ThreadPoolExecutor(2) as pool:
            lint = pool.submit(_lint, source, deno_dir)
            local = local_imports(code)
            if local:
                checked = [
                    _diagnostic(
                        "check",
                        "local-import",
                        f"Not type-checked: the code imports local paths ({', '.join(local[:5])}), which"
                        " functions cannot read",
                        "error",
                    )
                ]
            else:
                checked = _check(source, deno_dir)
            found = checked + lint.result()
    return found[:MAX_DIAGNOSTICS]


def _check(source: Path, deno_dir: Path) -> list[dict[str, Any]]:
    command = [
        deno_binary(),
        "check",
        "--quiet",
        "--no-remote",
        "--no-npm",
        "--cached-only",
        "--no-lock",
        "--config",
        str(source.with_name("deno.json")),
        str(source),
    ]
    try:
        done = subprocess.run(
            command,
            cwd=source.parent,
            env=deno_environment(deno_dir),
            capture_output=True,
            timeout=CHECK_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return [_diagnostic("check", "timeout", f"The type check did not finish in {CHECK_SECONDS:g} s", "warning")]
    except OSError as error:
        return [_diagnostic("check", "unavailable", f"Deno could not be started: {error}", "warning")]
    if done.returncode == 0:
        return []
    text = (done.stdout + done.stderr).decode(errors="replace")
    own = source.as_uri()
    found = []
    matches = list(_CHECK_ERROR.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        at = _AT.search(text, match.end(), end)
        if at is None or at.group(1) != own:
            continue  # about another module: not shown (see the module's docstring)
        severity = "error" if match.group(2) == "ERROR" else "warning"
        found.append(_diagnostic("check", match.group(1), match.group(3), severity, int(at.group(2)), int(at.group(3))))
    if not found:
        found.append(_diagnostic("check", "failed", "The type check failed on an import of the code", "error"))
    return found


def _lint(source: Path, deno_dir: Path) -> list[dict[str, Any]]:
    command = [deno_binary(), "lint", "--json", "--config", str(source.with_name("deno.json")), str(source)]
    try:
        done = subprocess.run(
            command,
            cwd=source.parent,
            env=deno_environment(deno_dir),
            capture_output=True,
            timeout=LINT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        report = json.loads(done.stdout or b"{}")
    except subprocess.TimeoutExpired:
        return [_diagnostic("lint", "timeout", f"Linting did not finish in {LINT_SECONDS:g} s", "warning")]
    except OSError as error:
        return [_diagnostic("lint", "unavailable", f"Deno could not be started: {error}", "warning")]
    except ValueError:
        return []
    found = [
        _diagnostic(
            "lint",
            str(item.get("code")),
            str(item.get("message")) + (f" ({item['hint']})" if item.get("hint") else ""),
            "warning",
            item.get("range", {}).get("start", {}).get("line"),
            item.get("range", {}).get("start", {}).get("col"),
        )
        for item in report.get("diagnostics", [])
    ]
    for problem in report.get("errors", []):
        message = str(problem.get("message", "")).split(source.as_uri())[0].strip() or "The code does not parse"
        found.append(_diagnostic("lint", "syntax", message, "error"))
    return found


def _diagnostic(
    source: str, code: str, message: str, severity: str, line: int | None = None, column: int | None = None
) -> dict[str, Any]:
    return {"source": source, "code": code, "message": message, "severity": severity, "line": line, "column": column}
