"""`serve --cluster` refuses to start (exit code 2, a line on stderr naming what is missing) without what a
cluster node needs: a postgresql:// control plane, a replica URL, a node id, an advertise URL, the shared secret
key; and with --workers > 1. Real processes; no server is reached (each refusal comes before listening)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_process import free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.cluster]

CONTROL_PLANE = "postgresql://postgres@127.0.0.1:9/nowhere"  # never reached: the refusal comes first


def flags(port: int) -> dict[str, str]:
    return {
        "--node-id": "a",
        "--advertise-url": f"http://127.0.0.1:{port}",
        "--control-plane": CONTROL_PLANE,
        "--replica-url": "s3://bucket/prefix",
    }


def serve(tmp_path: Path, given: dict[str, str], *, secret: bool = True, more: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRSEQUEL_") or k == "AIRSEQUEL_PASSWORD_HASHING"}
    if secret:
        env["AIRSEQUEL_SECRET_KEY"] = "a shared secret key for every node"
    port = int(given.get("--advertise-url", "http://127.0.0.1:1").rsplit(":", 1)[1])
    args = [sys.executable, "-m", "airsequel", "serve", "--cluster", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--data-dir", str(tmp_path / "data"), *(item for pair in given.items() for item in pair), *more]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("missing", "names"),
    [
        ("--control-plane", ("control plane", "control_plane", "postgresql")),
        ("--replica-url", ("replica",)),
        ("--node-id", ("node id", "node-id", "node_id")),
        ("--advertise-url", ("advertise",)),
    ],
)
def test_cluster_mode_refuses_to_start_without_each_setting(tmp_path: Path, missing: str, names: tuple[str, ...]):  # type: ignore[no-untyped-def]
    given = flags(free_port())
    del given[missing]
    done = serve(tmp_path, given)
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert any(name in done.stderr.lower() for name in names), done.stderr
    assert not (tmp_path / "data" / "dbs").exists()


def test_cluster_mode_refuses_a_sqlite_control_plane_no_secret_key_and_several_workers(tmp_path: Path) -> None:
    given = {**flags(free_port()), "--control-plane": ""}
    done = serve(tmp_path, given)
    assert done.returncode == 2 and "postgresql" in done.stderr.lower(), done.stderr
    done = serve(tmp_path, flags(free_port()), secret=False)
    assert done.returncode == 2 and "secret" in done.stderr.lower(), done.stderr
    done = serve(tmp_path, flags(free_port()), more=("--workers", "2"))
    assert done.returncode == 2 and "workers" in done.stderr.lower(), done.stderr
    assert not (tmp_path / "data" / "dbs").exists()
