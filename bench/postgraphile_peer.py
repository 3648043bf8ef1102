"""The PostGraphile peer of the benchmark: PostGraphile 4 with the connection-filter plugin on PostgreSQL.

Nothing here is a project dependency. The npm packages are pinned in bench/peers/postgraphile/package.json and
package-lock.json and installed (`npm ci`) into bench/peers/postgraphile/node_modules the first time the bench
needs them; PostgreSQL is Debian's (`/usr/lib/postgresql/<N>/bin`), started for the run in a temporary directory
as an unprivileged user on a free loopback port, and stopped afterwards. When something is missing (node, npm,
PostgreSQL, the registry), `start` raises `PeerUnavailable` with the reason, and the bench reports the peer as
not measured instead of failing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

import httpx2

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bench" / "peers" / "postgraphile"
CLI = PACKAGE / "node_modules" / "postgraphile" / "cli.js"
PLUGIN = "postgraphile-plugin-connection-filter"

# The people table of bench/run.py's fixture, with PostgreSQL's types for SQLite's.
CREATE_PEOPLE = (
    "CREATE TABLE people(id integer PRIMARY KEY, name text, email text, age integer, score double precision, "
    "created text)"
)


class PeerUnavailable(Exception):
    """PostGraphile or PostgreSQL cannot run here; the message says why."""


class Cluster(Protocol):
    url: str

    def create_database(self, name: str) -> str: ...

    def stop(self) -> None: ...


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(base_dir: Path) -> Cluster:
    """The suite's own throwaway PostgreSQL (tests/postgres_cluster.py)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.postgres_cluster import PostgresCluster

    try:
        return PostgresCluster.start(base_dir)  # type: ignore[no-any-return]
    except Exception as error:  # its message says why (missing binaries, the server log's tail)
        raise PeerUnavailable(f"PostgreSQL did not start: {error}") from error


def install() -> str:
    """Installs the pinned npm packages if they are not there yet; returns PostGraphile's version."""
    node, npm = shutil.which("node") or shutil.which("nodejs"), shutil.which("npm")
    if node is None or npm is None:
        raise PeerUnavailable("node or npm is not installed (Debian: apt-get install nodejs npm)")
    if not CLI.exists():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PACKAGE,
            capture_output=True,
            text=True,
        )
        if done.returncode or not CLI.exists():
            raise PeerUnavailable(f"npm ci in {PACKAGE.relative_to(ROOT)} failed: {done.stderr.strip()[-1000:]}")
    return str(json.loads((CLI.parent / "package.json").read_text())["version"])


class PostGraphile:
    """PostgreSQL with the fixture's rows and PostGraphile serving them on 127.0.0.1."""

    def __init__(self, work: Path, csv_path: Path) -> None:
        self.version = install()
        node = shutil.which("node") or shutil.which("nodejs") or "node"
        node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
        # Its own directory under /tmp, not inside `work` (0700, root's): the server's user must reach it.
        self.base = Path(tempfile.mkdtemp(prefix="airsequel-bench-postgres-"))
        self.cluster = start_cluster(self.base)
        self.process: subprocess.Popen[bytes] | None = None
        try:
            import psycopg

            url = self.cluster.create_database("bench")
            with psycopg.connect(url) as conn:
                self.postgres_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
                conn.execute(CREATE_PEOPLE)
                with conn.cursor().copy("COPY people FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                    with open(csv_path, "rb") as handle:
                        while block := handle.read(1 << 20):
                            copy.write(block)
                conn.commit()
                conn.execute("ANALYZE people")
                conn.commit()
            self.port = _free_port()
            self.log = work / "postgraphile.log"
            self.process = subprocess.Popen(
                [
                    node,
                    str(CLI),
                    "--connection",
                    url,
                    "--schema",
                    "public",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--append-plugins",
                    PLUGIN,
                    "--disable-query-log",
                    "--disable-graphiql",
                ],
                cwd=PACKAGE,
                stdout=subprocess.DEVNULL,
                stderr=open(self.log, "wb"),  # its log, for the error below
                env={**os.environ, "NODE_ENV": "production"},
            )
            self.url = f"http://127.0.0.1:{self.port}/graphql"
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        postgres = self.postgres_version.split()[0]
        plugin = json.loads((PACKAGE / "node_modules" / PLUGIN / "package.json").read_text())["version"]
        self.label = f"PostGraphile {self.version} on PostgreSQL {postgres}"
        self.versions = (
            f"postgraphile {self.version} with {PLUGIN} {plugin} (node {node_version}), PostgreSQL {postgres}"
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                break
            try:
                answer = httpx2.post(self.url, json={"query": "{ __typename }"}, timeout=5)
                if answer.status_code == 200 and answer.json().get("data"):
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.2)
        raise PeerUnavailable(f"PostGraphile did not come up: {self.log.read_text()[-2000:]}")

    def query(self, body: dict[str, object]) -> list[dict[str, object]]:
        """The nodes one request returns; raises on an error answer (wrk only sees the status, and GraphQL
        errors come back as 200)."""
        answer = httpx2.post(self.url, json=body, timeout=30)
        payload = answer.json()
        if answer.status_code != 200 or payload.get("errors"):
            raise RuntimeError(f"PostGraphile answered {answer.status_code}: {answer.text[:1000]}")
        return list(payload["data"]["allPeople"]["nodes"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.cluster.stop()
        shutil.rmtree(self.base, ignore_errors=True)
