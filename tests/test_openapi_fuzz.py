"""schemathesis against the server's own OpenAPI description, over a real server process:
generated requests to every documented route must never get a 5xx.

The run is seeded, so CI fails (or passes) the same way twice; set AIRSEQUEL_FUZZ_SEED to another
number, or AIRSEQUEL_FUZZ_EXAMPLES higher, to explore beyond what CI covers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.helpers import sign_up_and_login
from tests.server_process import running_server, server_log

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = os.environ.get("AIRSEQUEL_FUZZ_SEED", "53108457832867682549726123462364011657")
EXAMPLES = os.environ.get("AIRSEQUEL_FUZZ_EXAMPLES", "8")
SCHEMA = "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, f BLOB); INSERT INTO t(a, b, f) VALUES (1, 'x', x'00'), (2, 'y', NULL)"
# Routes that would take the fuzzer's own database or login away from every later request.
EXCLUDED = [
    "--exclude-tag",
    "not_included",
    "--exclude-path",
    "/api/logout",
    "--exclude-path",
    "/api/settings",
    "--exclude-name",
    "DELETE /api/dbs/{db_id}",
    "--exclude-path-regex",
    "regenerate-|^/api/teams/",
]


@pytest.mark.skipif(
    not SCHEMATHESIS.exists() and not shutil.which("schemathesis"), reason="schemathesis is a dev dependency"
)
def test_no_route_answers_generated_requests_with_a_server_error(tmp_path):
    data_dir = tmp_path / "data"
    # The AI prompt routes are fuzzed with a real model that needs no weights (llm-echo's echo): without a
    # model they would answer 501 to everything.
    with running_server(data_dir, env={"AIRSEQUEL_LLM_MODEL": "echo"}) as base:
        http = httpx2.Client(base_url=base, timeout=30)
        token = sign_up_and_login(http, "fuzzer")
        auth = {"Authorization": f"Bearer {token}"}
        db_id = http.post("/api/dbs", headers=auth, json={"name": "fuzz", "query": SCHEMA}).json()["id"]
        readonly_id = http.post(f"/api/dbs/{db_id}/readonly-id", headers=auth).json()["readonlyId"]  # link on
        # Real identifiers, so that the routes of a database are reached rather than answered 404; no cache
        # directory, so that nothing is written into the checkout and no earlier run's cases are replayed.
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            "[cache]\nenabled = false\n\n[parameters]\n"
            f'"path.db_id" = "{db_id}"\n"path.readonly_id" = "{readonly_id}"\n"path.table" = "t"\n"path.key_column" = "id"\n'
        )
        done = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(config),
                "run",
                f"{base}/api/openapi.json",
                "--checks",
                "not_a_server_error",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--request-timeout",
                "20",
                *EXCLUDED,
                "--header",
                f"Authorization: Bearer {token}",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert done.returncode == 0, _failure_report(done, server_log(data_dir))
        counts = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
        assert counts and int(counts.group(1)) >= 300 and counts.group(1) == counts.group(2), done.stdout[-1500:]
        assert http.get(f"/api/dbs/{db_id}", headers=auth).status_code == 200
        assert httpx2.get(f"{base}/api/status").status_code == 200


def _failure_report(done: subprocess.CompletedProcess[str], log: Path) -> str:
    """schemathesis's failures section (the requests that failed, with curl commands) and the server's
    tracebacks: the end of its output is warnings about test data, which say nothing about a 500."""
    failures = re.search(r"=+ FAILURES =+(.*?)(?:=+ WARNINGS =+|=+ SUMMARY =+)", done.stdout, re.S)
    tracebacks = re.findall(
        r"Traceback \(most recent call last\):.*?\n(?=\S)(?:[^\n]*)", log.read_text(errors="replace"), re.S
    )
    return "\n".join(
        [
            f"schemathesis exited {done.returncode} (seed {SEED})",
            (failures.group(1) if failures else done.stdout[-4000:])[-6000:],
            done.stderr[-2000:],
            "server tracebacks:",
            *[trace[-3000:] for trace in tracebacks[:3]],
        ]
    )
