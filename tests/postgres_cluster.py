"""A real, throw-away PostgreSQL server for the test suite and the benchmark.

`PostgresCluster.start(base_dir)` runs Debian's (or PATH's) `initdb` into a fresh directory and starts `postgres`
on a free port of 127.0.0.1 only, with its unix socket in that directory, trust authentication and the durability
switches off (fsync, synchronous_commit, full_page_writes: a test server loses nothing that matters in a crash).
`stop()` ends only the process it started and removes the directory. PostgreSQL refuses to run as root: when this
process is root, the server runs as the `postgres` user that Debian's package creates (else `nobody`), and owns
its directory."""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 30.0
PORT_ATTEMPTS = 5
# Enough for the whole suite: every server a test starts opens its own connections to its database.
MAX_CONNECTIONS = 300
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or its server would not start (the message says why)."""


def find_postgres_bindir() -> Path | None:
    """Where `initdb`, `postgres` and `pg_ctl` are: Debian's newest /usr/lib/postgresql/<N>/bin, else the
    directory of an `initdb` on PATH, else None."""
    debian = Path("/usr/lib/postgresql")
    versions = []
    if debian.is_dir():
        for candidate in debian.iterdir():
            if candidate.name.isdigit() and (candidate / "bin" / "initdb").is_file():
                versions.append((int(candidate.name), candidate / "bin"))
    if versions:
        return max(versions)[1]
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when this process is root; None when it is not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL")


def _reachable_by_others(path: Path) -> bool:
    """Whether every directory above `path` lets another user through (o+x), as the server user needs."""
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.resolve().parents)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no server log)"


class PostgresCluster:
    """A running PostgreSQL server that this process started. Build with `PostgresCluster.start(base_dir)`."""

    def __init__(self, directory: Path, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.directory = directory
        self.process = process
        self.port = port
        self.log = log
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def start(cls, base_dir: Path) -> PostgresCluster:
        """initdb into a new directory under `base_dir` and start the server; returns once it accepts connections.
        As root, when the server user could not reach `base_dir`, the directory goes under the system's temporary
        directory instead. Raises PostgresUnavailable (with the server's log) when it cannot."""
        bindir = find_postgres_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL is not installed: no /usr/lib/postgresql/<N>/bin/initdb and no initdb on PATH"
                " (Debian: apt-get install postgresql)"
            )
        user = _server_user()
        base_dir.mkdir(parents=True, exist_ok=True)
        parent = base_dir if user is None or _reachable_by_others(base_dir / "x") else None
        directory = Path(tempfile.mkdtemp(prefix="postgres-", dir=parent))
        ids = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        if user is not None:
            os.chown(directory, user.pw_uid, user.pw_gid)
        directory.chmod(0o700 if user is None else 0o755)
        data, log = directory / "data", directory / "server.log"
        try:
            initdb = subprocess.run(
                [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8"]
                + ["--locale=C"],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=120,
                **ids,  # type: ignore[arg-type]
            )
            if initdb.returncode != 0:
                raise PostgresUnavailable(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}{initdb.stderr}")
            for _ in range(PORT_ATTEMPTS):
                port = _free_port()
                process = cls._launch(bindir, data, directory, port, log, ids)
                cluster = cls(directory, process, port, log)
                if cluster._wait_until_ready():
                    atexit.register(cluster.stop)
                    return cluster
                if "already in use" not in _tail(log):
                    raise PostgresUnavailable(f"the PostgreSQL server did not start; its log ends:\n{_tail(log)}")
            raise PostgresUnavailable(f"no free port after {PORT_ATTEMPTS} attempts; the log ends:\n{_tail(log)}")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    @staticmethod
    def _launch(
        bindir: Path, data: Path, directory: Path, port: int, log: Path, ids: dict[str, object]
    ) -> subprocess.Popen[bytes]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(directory),
            "max_connections": str(MAX_CONNECTIONS),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_min_messages": "warning",
        }
        with open(log, "wb") as output:  # a file, not a pipe: nobody reads a pipe while the tests run
            return subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), *(f"-c{name}={value}" for name, value in settings.items())],
                cwd=directory,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run reaches it through stop(), not half-way
                **ids,  # type: ignore[arg-type]
            )

    def _wait_until_ready(self) -> bool:
        """True once the server accepts a connection; False when it exited (the caller reads the log)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self.process.poll() is None:
            try:
                self._admin = psycopg.connect(self.url, autocommit=True, connect_timeout=2)
                return True
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PostgresUnavailable(
                        f"the PostgreSQL server did not accept connections within {START_TIMEOUT_SECONDS:.0f} s;"
                        f" its log ends:\n{_tail(self.log)}"
                    ) from None
                time.sleep(0.02)
        self.process.wait()
        return False

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """A new, empty database (from template0: nothing anyone added to template1); returns its URL."""
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")
        with self._lock:
            assert self._admin is not None, "the cluster is stopped"
            self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending any connection still open to it (a server a test left running)."""
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")
        with self._lock:
            assert self._admin is not None, "the cluster is stopped"
            self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server this cluster started (fast shutdown, then SIGKILL after 10 s) and remove its files."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown: ends sessions, no waiting
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
