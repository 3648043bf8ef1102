"""One data directory has one server (issue 16, point 22): a second server on the same directory
exits at once with a clear message and a non-zero status, and touches nothing of the first's."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx2
import pytest

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.core.storage.data_dir_lock import DataDirectoryInUse
from tests.control_planes import control_plane_flag
from tests.server_process import free_port, running_server


@pytest.mark.e2e
@pytest.mark.slow
def test_a_second_server_on_the_same_data_directory_exits_and_touches_nothing(tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        # An upload in progress of the first server: the second one's start-up used to clear tmp/.
        in_progress = data_dir / "tmp" / "upload-in-progress.tmp"
        in_progress.write_bytes(b"half an upload")
        before = sorted((p.relative_to(data_dir), p.stat().st_mtime_ns) for p in data_dir.rglob("*") if p.is_file())
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "airsequel", "serve", "--host", "127.0.0.1", "--port", str(free_port())]
            + ["--data-dir", str(data_dir), "--log-level", "warning"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        took = time.monotonic() - started
        assert second.returncode == 3, (second.stdout, second.stderr)
        assert f"error: The data directory {data_dir} is in use by another airsequel server (pid " in second.stderr
        assert "one data directory has one server" in second.stderr
        assert in_progress.read_bytes() == b"half an upload"
        after = sorted((p.relative_to(data_dir), p.stat().st_mtime_ns) for p in data_dir.rglob("*") if p.is_file())
        assert [name for name, _ in after] == [name for name, _ in before]
        assert httpx2.get(f"{base}/api/status", timeout=5).status_code == 200
        print(f"the second server gave up after {took:.2f} s")
    # Once the first has stopped, the directory may be served again (and its start-up clean-up runs).
    with running_server(data_dir) as base:
        assert httpx2.get(f"{base}/api/status", timeout=5).status_code == 200
        assert not in_progress.exists()


def test_services_hold_the_lock_from_start_to_stop(tmp_path):
    settings = Settings.from_env(
        environ={}, data_dir=tmp_path / "data", secret_key="k", control_plane=control_plane_flag(tmp_path / "data")
    )
    first = Services.start(settings)
    try:
        (settings.data_dir / "tmp" / "keep.tmp").write_bytes(b"x")
        with pytest.raises(DataDirectoryInUse, match="is in use by another airsequel server"):
            Services.start(settings)
        assert (settings.data_dir / "tmp" / "keep.tmp").exists()
        assert first.hosting.create("still works").name == "still works"
    finally:
        first.stop()
    again = Services.start(settings)  # released by stop
    again.stop()
