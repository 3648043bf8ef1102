"""`airsequel serve` refuses a port outside 1-65535 (flag or environment) with exit status 2, as
argparse refuses a bad argument, before it touches the data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airsequel.cli import port_problem


def _serve(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIRSEQUEL_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "airsequel", "serve", "--host", "127.0.0.1", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1", "+82", "1_000", " 81", "\uff19\uff19", "80.0", "0x50"])
def test_flag_outside_the_port_range_is_refused_like_an_argparse_error(tmp_path: Path, port: str) -> None:
    data_dir = tmp_path / "data"
    done = _serve(data_dir, f"--port={port}")
    assert done.returncode == 2
    assert "argument --port: a port must be a whole number from 1 to 65535" in done.stderr
    assert repr(port) in done.stderr
    assert "usage: airsequel serve" in done.stderr
    assert not data_dir.exists()  # refused before anything was created


@pytest.mark.parametrize("port", ["99999", "0", "+82"])
def test_environment_port_outside_the_range_is_refused(tmp_path: Path, port: str) -> None:
    data_dir = tmp_path / "data"
    done = _serve(data_dir, env={"AIRSEQUEL_PORT": port})
    assert done.returncode == 2
    assert f"error: AIRSEQUEL_PORT: a port must be a whole number from 1 to 65535, got {port!r}" in done.stderr
    assert not data_dir.exists()


def test_ports_in_the_range_pass_the_check() -> None:
    for port in ("1", "80", "4185", "65535", "00080"):
        assert port_problem(port) is None
    for port in ("", "65536", "0", "100000"):
        assert port_problem(port) is not None
