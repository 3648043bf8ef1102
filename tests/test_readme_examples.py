"""README.md's "The API by example", run in order with bash against a real server: the examples cannot drift.

How a block of the README becomes a checked script is in tests/readme_examples.py (its docstring is the
convention the README's section states in one sentence)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import readme_examples
from tests.helpers import setup_key_from_log
from tests.readme_examples import ANY, REST, mismatch, parse_pattern
from tests.server_process import running_server

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "curl", "sqlite3")),
    reason="the examples use bash, curl and sqlite3",
)
def test_the_api_examples_run_in_order_against_a_real_server(tmp_path):
    data_dir = tmp_path / "data"
    work = tmp_path / "work"
    run = tmp_path / "run"
    answers = run / "answers"
    for directory in (work, answers):
        directory.mkdir(parents=True)
    with running_server(data_dir) as base:
        given = {"S": base, "SETUP_KEY": setup_key_from_log(data_dir), "DATA_DIR": str(data_dir)}
        text, commands = readme_examples.script(README.read_text(), given, answers)
        (run / "script.sh").write_text(text)
        env = {
            **os.environ,
            "_RUN": str(run),
            "_PY": sys.executable,
            "_MATCHER": readme_examples.__file__,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        try:
            done = subprocess.run(
                ["bash", str(run / "script.sh")], cwd=work, env=env, capture_output=True, text=True, timeout=120
            )
        except subprocess.TimeoutExpired as expired:
            reached = (run / "checked").read_text().split()[-2:-1] if (run / "checked").exists() else ["none"]
            pytest.fail(f"the examples ran past 120 s; the last README line reached: {reached}\n{expired.stderr!r}")
    failures = (run / "failures").read_text() if (run / "failures").exists() else ""
    assert done.returncode == 0 and not failures and (run / "done").exists(), (
        f"exit {done.returncode}\n{failures}\n--- stderr\n{done.stderr[-6000:]}\n--- stdout\n{done.stdout[-3000:]}"
    )
    # Every status mark and answer comment was held against a real answer (none sits on a command without curl).
    checked = {line.split()[0] for line in (run / "checked").read_text().splitlines()}
    unchecked = [c.line for c in commands if (c.status or c.answer_text) and str(c.line) not in checked]
    assert not unchecked, f"README lines whose expectations no curl met: {unchecked}"
    assert sum(1 for c in commands if c.answer_text) >= 10  # the section keeps showing real answers


def test_the_section_parses_and_skips_only_a_few_blocks():
    found = readme_examples.blocks(README.read_text())
    assert len(found) >= 8
    skipped = [block for block in found if block.skipped_because is not None]
    assert len(skipped) <= 2 and all(block.skipped_because for block in skipped)
    skipped_commands = [c for block in found for c in block.commands if c.skipped]
    assert len(skipped_commands) <= 3


def why_not(pattern: object, actual: object) -> str:
    why = mismatch(pattern, actual)
    assert why is not None, f"{actual!r} matches"
    return why


def test_answer_patterns_match_and_mismatch():
    pattern, prose = parse_pattern('{"id":"01m...","n":...,"rows":[{"a":1}, ...], ...}   (the rest is prose)')
    assert pattern == {"id": "01m...", "n": ANY, "rows": [{"a": 1}, ANY], REST: None}
    assert prose == "(the rest is prose)"
    assert mismatch(pattern, {"id": "01mab", "n": [1], "rows": [{"a": 1}, {"a": 2}], "extra": True}) is None
    assert "string like" in why_not(pattern, {"id": "02", "n": 1, "rows": [{"a": 1}]})
    assert "no member 'n'" in why_not(pattern, {"id": "01m", "rows": [{"a": 1}]})
    assert "expected 1 or more" in why_not(pattern, {"id": "01m", "n": 1, "rows": []})

    exact, _ = parse_pattern('{"status":"ok","errors":[],"total":12}')
    assert mismatch(exact, {"status": "ok", "errors": [], "total": 12.0}) is None
    assert "does not show" in why_not(exact, {"status": "ok", "errors": [], "total": 12, "new": 1})
    assert "expected 0 elements" in why_not(exact, {"status": "ok", "errors": ["x"], "total": 12})
    assert "expected 12" in why_not(exact, {"status": "ok", "errors": [], "total": True})
    with pytest.raises(ValueError, match="not closed"):
        parse_pattern('{"a": [1, 2}')


def test_comments_become_expectations():
    readme = "\n".join(
        [
            "## The API by example",
            "```sh",
            'X=$(curl -d \'{"a":"#1"}\' $S/x | json id)   # → 201 {"id":...}',
            "curl $S/y \\",
            "  -H 'A: b'",
            '# → 404 {"errors":["No ..."]}',
            "# prose about the next command",
            "curl $S/z   # plain words",
            "curl $S/long",
            '# {"a":1,',
            '#  "b":[...]}',
            "curl $S/mail   # not run: needs SMTP",
            "```",
            "```sh",
            "# not run: needs a replica",
            "curl $S/backups",
            "```",
            "## Next",
        ]
    )
    first, second = readme_examples.blocks(readme)
    assert [(c.line, c.status, c.answer, c.skipped) for c in first.commands] == [
        (3, 201, {"id": ANY}, False),
        (4, 404, {"errors": ["No ..."]}, False),
        (8, None, None, False),
        (9, None, {"a": 1, "b": [ANY]}, False),
        (12, None, None, True),
    ]
    assert second.skipped_because == "needs a replica"
    with pytest.raises(ValueError, match="line 4: the answer comment is not closed"):
        readme_examples.blocks('## The API by example\n```sh\ncurl $S/x\n# {"a":1,\n```\n')
