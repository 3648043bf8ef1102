"""One call of a cloud function: a Deno subprocess of its own, every permission denied but the
server's API on loopback, and its limits enforced from here.

- Permissions: `--allow-net=<host>:<port>` only (the server's own API). No file system, no
  environment, no subprocesses, no FFI, no system information; `--no-remote`, `--no-npm` and
  `--cached-only` refuse remote, JSR and npm imports; `--no-prompt` answers every other request no.
  The code is imported as a data: URL, so its imports cannot name local files without read access.
  The process gets an environment of its own (DENO_DIR in the data directory, nothing of the
  server's) and a process group of its own.
- Wall time: measured from the start; past it the whole process group is killed.
- CPU time: RLIMIT_CPU (set with prlimit right after the start), as many seconds as the wall time
  (Deno's own threads count too: a call that keeps several threads busy reaches it first).
- Memory: V8's `--max-old-space-size` bounds the JavaScript heap, but ArrayBuffers and native memory
  live outside it, and RLIMIT_AS breaks V8's reservations of address space (Deno does not start
  under a few GB of it). So the process's resident memory is read from /proc every few milliseconds
  and the group is killed above the limit.

Each limit that ends a call is named in its error. `run_call` blocks: callers run it on a thread.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airsequel.core.errors import Unavailable

RUNNER = Path(__file__).with_name("runner.ts")
MARKER = b"\x1eairsequel-result "
POLL_SECONDS = 0.005
MAX_OUTPUT_BYTES = 16 * 1024 * 1024  # stdout of one call (the result line and whatever the code writes)
MAX_STDERR_BYTES = 64 * 1024


def deno_binary() -> str:
    """The Deno executable of the `deno` package (PyPI), beside this Python's scripts."""
    from deno import find_deno_bin

    try:
        return str(find_deno_bin())
    except FileNotFoundError:
        raise Unavailable("The deno package's binary is missing on this server: functions cannot run") from None


@dataclass(frozen=True)
class Limits:
    wall_seconds: float
    memory_bytes: int

    @property
    def cpu_seconds(self) -> int:
        return max(1, math.ceil(self.wall_seconds))


@dataclass(frozen=True)
class Api:
    """Where the call's code reaches the server: `base` (http://127.0.0.1:<port>), the Host header
    it sends and the token minted for the call."""

    base: str
    host: str
    token: str

    @property
    def net_permission(self) -> str:
        return self.base.removeprefix("http://").rstrip("/")


@dataclass
class Outcome:
    ok: bool
    data: Any = None
    error: str | None = None
    limit: str | None = None  # "wall time", "CPU time" or "memory" when a limit ended the call
    logs: list[dict[str, Any]] = field(default_factory=list)
    runtime_ms: float = 0.0
    peak_rss_bytes: int = 0


def deno_command(api: Api, limits: Limits) -> list[str]:
    heap_mb = max(16, limits.memory_bytes // (1024 * 1024))
    return [
        deno_binary(),
        "run",
        "--quiet",
        "--no-prompt",
        "--no-remote",
        "--no-npm",
        "--cached-only",
        "--no-config",
        "--no-lock",
        "--no-code-cache",
        f"--allow-net={api.net_permission}",
        f"--v8-flags=--max-old-space-size={heap_mb}",
        str(RUNNER),
    ]


def deno_environment(deno_dir: Path) -> dict[str, str]:
    """All the process's environment: none of the server's variables (its secrets) reach it."""
    return {"DENO_DIR": str(deno_dir), "NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1", "PATH": "/nonexistent"}


def run_call(code: str, language: str, context: dict[str, Any], api: Api, limits: Limits, deno_dir: Path) -> Outcome:
    deno_dir.mkdir(parents=True, exist_ok=True)
    hostname, _, port = api.net_permission.rpartition(":")
    payload = json.dumps(
        {
            "code": code,
            "language": language,
            "context": context,
            "api": {"hostname": hostname.strip("[]"), "port": int(port), "token": api.token, "host": api.host},
        }
    ).encode()
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            deno_command(api, limits),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=deno_environment(deno_dir),
            cwd=deno_dir,
            process_group=0,
            close_fds=True,
        )
    except OSError as error:
        raise Unavailable(f"Deno cannot be started on this server ({error}): functions cannot run") from None
    try:
        resource.prlimit(process.pid, resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    except (ProcessLookupError, PermissionError):
        pass  # already ended: its exit status tells
    stdout = _Drain(process.stdout, MAX_OUTPUT_BYTES)
    stderr = _Drain(process.stderr, MAX_STDERR_BYTES)
    feeder = threading.Thread(target=_feed, args=(process, payload), daemon=True)
    feeder.start()
    limit: str | None = None
    peak = 0
    while process.poll() is None:
        elapsed = time.monotonic() - started
        rss = _resident_bytes(process.pid)
        peak = max(peak, rss)
        if elapsed > limits.wall_seconds:
            limit = "wall time"
        elif rss > limits.memory_bytes:
            limit = "memory"
        elif stdout.overflowed:
            limit = "output"
        if limit is not None:
            _kill_group(process)
            break
        time.sleep(POLL_SECONDS)
    process.wait()
    runtime_ms = (time.monotonic() - started) * 1000
    stdout.join()
    stderr.join()
    feeder.join(timeout=1)
    outcome = _outcome(process.returncode, stdout.data, stderr.data, limit, limits)
    outcome.runtime_ms = round(runtime_ms, 1)
    outcome.peak_rss_bytes = peak
    return outcome


def _outcome(returncode: int, stdout: bytes, stderr: bytes, limit: str | None, limits: Limits) -> Outcome:
    if limit is None and returncode == -signal.SIGXCPU:
        limit = "CPU time"
    if limit is None and (b"out of memory" in stderr or b"heap limit" in stderr):
        limit = "memory"
    if limit is not None:
        return Outcome(ok=False, limit=limit, error=limit_message(limit, limits))
    at = stdout.rfind(MARKER)
    if at >= 0:
        line = stdout[at + len(MARKER) :].split(b"\n", 1)[0]
        try:
            result = json.loads(line)
            return Outcome(
                ok=bool(result.get("ok")),
                data=result.get("data"),
                error=result.get("error"),
                logs=list(result.get("logs") or [])[:101],
            )
        except (ValueError, AttributeError):
            pass
    tail = stderr.decode(errors="replace").strip()[-2000:]
    return Outcome(ok=False, error=f"The function's process ended without a result (exit status {returncode}): {tail}")


def limit_message(limit: str, limits: Limits) -> str:
    if limit == "wall time":
        return f"The function was stopped at its wall-time limit of {limits.wall_seconds:g} s"
    if limit == "CPU time":
        return f"The function was stopped at its CPU-time limit of {limits.cpu_seconds} s"
    if limit == "memory":
        return f"The function was stopped at its memory limit of {limits.memory_bytes // (1024 * 1024)} MB"
    return f"The function wrote more than {MAX_OUTPUT_BYTES // (1024 * 1024)} MB of output"


def _feed(process: subprocess.Popen[bytes], payload: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(payload)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the first `cap` bytes (then `overflowed`)."""

    def __init__(self, pipe: Any, cap: int) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflowed = False
        self.start()

    def run(self) -> None:
        while chunk := self.pipe.read1(65536):
            if self.size + len(chunk) > self.cap:
                self.overflowed = True
                continue
            self.chunks.append(chunk)
            self.size += len(chunk)
        self.pipe.close()

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)
