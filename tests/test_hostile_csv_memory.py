"""Issue 16, point 14: a hostile CSV header (88 MB, 10 million columns) against a real server process.

The server's memory (and its CSV helper process's) is read from /proc while the upload is refused: the
header must be refused while it is read, not after the csv module has built 10 million strings."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.server_process import running_server, user_client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COLUMNS = 10_000_000


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def server_pid(data_dir: Path) -> int:
    for pid in children(os.getpid()):
        try:
            if str(data_dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError("the server process is not a child of this one")


class PeakWatcher(threading.Thread):
    """Polls the peak RSS (VmHWM) of the server's child processes (the CSV helper) until stopped."""

    def __init__(self, parent: int) -> None:
        super().__init__(daemon=True)
        self.parent, self.peaks, self.done = parent, {}, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for child in children(self.parent):
                try:
                    if b"csv_reader_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                        self.peaks[child] = max(self.peaks.get(child, 0), status_kib(child, "VmHWM"))
                except (OSError, AssertionError):
                    continue
            time.sleep(0.005)


def hostile_header(path: Path) -> int:
    with open(path, "w") as handle:
        step = 100_000
        for start in range(0, COLUMNS, step):
            handle.write(",".join(f"c{n}" for n in range(start, start + step)))
            handle.write("," if start + step < COLUMNS else "\n")
        handle.write("1\n")
    return path.stat().st_size


def test_a_header_of_ten_million_columns_is_refused_while_it_is_read(tmp_path):
    source = tmp_path / "wide.csv"
    size = hostile_header(source)
    assert size > 88_000_000
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        http = user_client(base, "alice", timeout=120)
        pid = server_pid(data_dir)
        # Warm up: a CSV big enough for the helper process, so that everything an import loads is loaded.
        warm = "a,b\n" + "".join(f"{n},x{n}\n" for n in range(600_000))
        first = http.post("/dbs", files={"file": ("warm.csv", warm.encode())})
        assert first.status_code == 201, first.text
        before_rss, before_peak = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")

        watcher = PeakWatcher(pid)
        watcher.start()
        started = time.monotonic()
        with open(source, "rb") as handle:
            response = http.post("/dbs", files={"file": ("wide.csv", handle, "text/csv")})
        seconds = time.monotonic() - started
        watcher.done.set()
        watcher.join()
        after_rss, after_peak = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")

        # The server's peak grew by less than 40 MiB (it was 794 MB): the upload is streamed to disk and
        # the header refused after its first megabyte. The helper process stays small too.
        grown_mib = (after_peak - before_peak) / 1024
        helper_peak_mib = max(watcher.peaks.values(), default=0) / 1024
        print(
            f"\n88 MB header: server RSS {before_rss // 1024} -> {after_rss // 1024} MiB, peak grew {grown_mib:.1f} MiB;"
            f" helper peak {helper_peak_mib:.1f} MiB; refused in {seconds:.2f} s"
        )
        assert response.status_code == 422, response.text
        message = response.json()["errors"][0]
        message = message["message"] if isinstance(message, dict) else message
        assert "more than 2000 columns" in message and "at most 2000" in message, message
        # Nothing was created: the one database is the warm-up's, and no file was left behind.
        listed = http.get("/api/dbs").json()
        assert [db["name"] for db in listed["databases"]] == ["warm"]
        assert len(list((data_dir / "dbs").iterdir())) == 1
        assert not any((data_dir / "tmp").iterdir()) if (data_dir / "tmp").exists() else True
        assert grown_mib < 40, f"the server's peak RSS grew by {grown_mib:.0f} MiB"
        assert helper_peak_mib < 60, f"the CSV helper process peaked at {helper_peak_mib:.0f} MiB"
        # and the server still serves
        assert http.get("/api/status").status_code == 200
