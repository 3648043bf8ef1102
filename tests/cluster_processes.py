"""A cluster of real processes on 127.0.0.1 for the end-to-end cluster tests (tests/test_cluster_*.py).

`ClusterBackends.start(base_dir)` starts what a module's tests share: a PostgreSQL server of its own
(tests/postgres_cluster.py; not the suite's, because a test restarts it) and a moto S3 server behind an `S3Gate`,
a TCP relay on a port of its own that the nodes use as their S3 endpoint. Closing the gate is an S3 outage that
keeps the bucket (moto keeps its objects in memory only: a restart of the moto process also empties the bucket,
which `restart_moto` does for a test that wants exactly that). Each test takes a fresh control-plane database
(`new_control_plane`) and a fresh replica prefix (`new_replica_url`).

`Cluster(...)` starts `airsequel serve --cluster` nodes, each with its own data directory, port and log file,
and keeps their Popen objects: kill (SIGKILL), pause (SIGSTOP), resume (SIGCONT), restart one node, stop all.
Its helpers sign up the server admin (through the setup link node "a" prints), create databases, write and read
rows through a given node, read `GET /api/cluster`, wait for conditions with deadlines, and run
`PRAGMA integrity_check` on every database file of every node's data directory."""

from __future__ import annotations

import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2

from tests.helpers import PASSWORD
from tests.postgres_cluster import PostgresCluster, _server_user, find_postgres_bindir
from tests.server_process import free_port

SECRET_KEY = "cluster-test-secret-key-shared-by-every-node"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
BUCKET = "airsequel-cluster"
START_SECONDS = 30.0
ADMIN = "root"

T = TypeVar("T")


class DeadlinePassed(AssertionError):
    """A condition a test waited for did not hold in time (the message says which, and what was last seen)."""


def wait_for(what: str, check: Callable[[], T | None], timeout: float, step: float = 0.1) -> T:
    """Call `check` until it returns something truthy (returned), for at most `timeout` seconds. Exceptions of
    `check` count as "not yet" (the last one is in the failure's message)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as error:  # a node down or restarting: not yet
            last = error
        if time.monotonic() > deadline:
            raise DeadlinePassed(f"{what}: not within {timeout:.1f} s (last seen: {last!r})")
        time.sleep(step)


def reachable(url: str) -> bool:
    try:
        httpx2.get(url, timeout=1)
        return True
    except httpx2.TransportError:
        return False


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def stop_postgres(postgres: PostgresCluster) -> None:
    """Stop the server (fast shutdown) and keep its data directory and port, for `start_postgres_again`."""
    if postgres._admin is not None:
        with suppress(Exception):
            postgres._admin.close()
        postgres._admin = None
    if postgres.process.poll() is None:
        postgres.process.send_signal(signal.SIGINT)
        try:
            postgres.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            postgres.process.kill()
            postgres.process.wait()


def start_postgres_again(postgres: PostgresCluster) -> None:
    """Start the stopped server on the same port and data directory; returns once it accepts connections."""
    bindir = find_postgres_bindir()
    assert bindir is not None
    user = _server_user()
    ids: dict[str, object] = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    deadline = time.monotonic() + START_SECONDS
    while True:  # the old process's port may linger for an instant
        postgres.process = PostgresCluster._launch(
            bindir, postgres.directory / "data", postgres.directory, postgres.port, postgres.log, ids
        )
        if postgres._wait_until_ready():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start again: {postgres.log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


# --- S3 (moto) -------------------------------------------------------------------------------------------------


class S3Gate:
    """A TCP relay from its own loopback port to moto's. `close()` refuses new connections and cuts the open
    ones (what clients see while an S3 endpoint restarts); `open()` listens again on the same port."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.open()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="s3-gate", daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with suppress(OSError):
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._connections.update((client, upstream))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        pair = {client: upstream, upstream: client}
        try:
            while True:
                ready, _, _ = select.select(list(pair), [], [], 1.0)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    pair[source].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._connections.discard(client)
                self._connections.discard(upstream)
            client.close()
            upstream.close()


class Moto:
    """A moto S3 server process on a free loopback port, with the bucket BUCKET."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for("moto answers", lambda: reachable(self.url), START_SECONDS)
        response = httpx2.put(f"{self.url}/{BUCKET}", timeout=10)  # create the bucket
        assert response.status_code in (200, 409), response.text

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def restart_moto(moto: Moto) -> None:
    """Stop moto and start it again on the same port (an empty bucket: moto keeps objects in memory only)."""
    moto.stop()
    moto.start()


@dataclass
class ClusterBackends:
    """One PostgreSQL server and one moto S3 server (behind a gate) for a test module."""

    base_dir: Path
    postgres: PostgresCluster
    moto: Moto
    gate: S3Gate
    _numbers: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    @classmethod
    def start(cls, base_dir: Path) -> ClusterBackends:
        postgres = PostgresCluster.start(base_dir)
        try:
            moto = Moto(base_dir / "moto.log")
        except BaseException:
            postgres.stop()
            raise
        return cls(base_dir, postgres, moto, S3Gate(moto.port))

    def new_control_plane(self) -> str:
        """A fresh PostgreSQL database for one test's cluster; its URL."""
        return self.postgres.create_database(f"cluster_test_{next(self._numbers)}_{os.getpid()}")

    def new_replica_url(self, name: str) -> str:
        """A fresh prefix in the bucket for one test's cluster."""
        return f"s3://{BUCKET}/{name}-{next(self._numbers)}"

    def replica_objects(self, replica_url: str) -> list[tuple[str, int]]:
        """(key, size) of every object under `replica_url` (straight from moto, not through the gate)."""
        import re

        prefix = replica_url.removeprefix(f"s3://{BUCKET}/")
        found: list[tuple[str, int]] = []
        token = ""
        while True:
            query = f"list-type=2&prefix={prefix}/" + (f"&continuation-token={token}" if token else "")
            text = httpx2.get(f"{self.moto.url}/{BUCKET}?{query}", timeout=10).text
            found += [(k, int(n)) for k, n in re.findall(r"<Key>([^<]+)</Key>.*?<Size>(\d+)</Size>", text)]
            more = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", text)
            if not more:
                return found
            token = more[1]

    def stop(self) -> None:
        self.gate.close()
        self.moto.stop()
        self.postgres.stop()


# --- Nodes -----------------------------------------------------------------------------------------------------


@dataclass
class Node:
    """One `airsequel serve` process of the cluster (its process is None until started, and after stop)."""

    name: str
    port: int
    data_dir: Path
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir.with_name(f"{self.name}-node.log")

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as output:  # a file, not a pipe: nobody reads a pipe while the test runs
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_until_up(self, timeout: float = START_SECONDS) -> None:
        def up() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            return httpx2.get(f"{self.url}/api/status", timeout=1).status_code == 200

        deadline = time.monotonic() + timeout
        while True:
            try:
                if up():
                    return
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise DeadlinePassed(f"node {self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, then reap."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, in case it was paused), SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_until_up()


class Cluster:
    """Nodes named `names` over one control plane and one replica URL. `cluster_mode=False` starts plain nodes
    (no cluster flags), each on a control plane of its own unless `shared_control_plane`."""

    def __init__(
        self,
        base_dir: Path,
        backends: ClusterBackends,
        *,
        names: Iterable[str] = ("a", "b", "c"),
        lease_seconds: float = 3,
        cluster_mode: bool = True,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.base_dir = base_dir
        self.backends = backends
        self.control_plane = backends.new_control_plane()
        self.replica_url = backends.new_replica_url(base_dir.name)
        self.lease_seconds = lease_seconds
        self.cluster_mode = cluster_mode
        self.extra_args = list(extra_args)
        self.nodes: dict[str, Node] = {}
        self.token = ""
        for name in names:
            self.add_node(name, start=False)

    # Processes ---------------------------------------------------------------------------------------------

    def add_node(self, name: str, *, start: bool = True) -> Node:
        port = free_port()
        data_dir = self.base_dir / f"node-{name}"
        control_plane = self.control_plane if self.cluster_mode else self.backends.new_control_plane()
        command = [
            sys.executable,
            "-m",
            "airsequel",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--control-plane",
            control_plane,
            "--replica-url",
            self.replica_url if self.cluster_mode else f"{self.replica_url}/{name}",
            "--s3-endpoint",
            self.backends.gate.url,
            "--log-level",
            "warning",
            *self.extra_args,
        ]
        if self.cluster_mode:
            command += ["--cluster", "--node-id", name, "--advertise-url", f"http://127.0.0.1:{port}"]
            command += ["--lease-seconds", f"{self.lease_seconds:g}"]
        env = {**os.environ, **CREDENTIALS, "AIRSEQUEL_SECRET_KEY": SECRET_KEY}
        env["AIRSEQUEL_PASSWORD_HASHING"] = "fast-insecure-for-tests"
        env.pop("AIRSEQUEL_CONTROL_PLANE", None)
        node = Node(name, port, data_dir, command, env)
        self.nodes[name] = node
        if start:
            node.start()
            node.wait_until_up()
        return node

    def start(self) -> Cluster:
        for node in self.nodes.values():
            node.start()
        for node in self.nodes.values():
            node.wait_until_up()
        return self

    def stop(self) -> None:
        for node in self.nodes.values():
            with suppress(Exception):
                node.stop()

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def logs(self) -> str:
        """The end of every node's log, for a failure's message."""
        return "\n".join(f"--- node {n.name} ---\n{n.log_tail(2000)}" for n in self.nodes.values())

    # Clients -----------------------------------------------------------------------------------------------

    def sign_up_admin(self, via: str = "a") -> str:
        """Sign the server admin up through the setup link that node `via` printed; its session token."""
        node = self.nodes[via]
        key = wait_for("the setup link in the log", lambda: _setup_key(node.log), 10)
        with httpx2.Client(base_url=node.url, timeout=30) as http:
            body = {"username": ADMIN, "email_address": f"{ADMIN}@example.org", "password": PASSWORD, "setupKey": key}
            response = http.post("/api/users", json=body)
            assert response.status_code == 201, response.text
            response = http.post("/api/login", json={"username": ADMIN, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.token = response.json()["sessionToken"]
        return self.token

    def http(self, via: str, timeout: float = 30) -> httpx2.Client:
        """A client of node `via`, signed in as the server admin."""
        return httpx2.Client(
            base_url=self.nodes[via].url, timeout=timeout, headers={"Authorization": f"Bearer {self.token}"}
        )

    def request(self, via: str, method: str, path: str, timeout: float = 30, **kwargs: Any) -> httpx2.Response:
        with self.http(via, timeout) as http:
            return http.request(method, path, **kwargs)

    def create_db(self, via: str, name: str = "rows", query: str = "CREATE TABLE t(v TEXT PRIMARY KEY)") -> str:
        response = self.request(via, "POST", "/api/dbs", json={"name": name, "query": query})
        assert response.status_code == 201, f"{response.status_code} {response.text}"
        return str(response.json()["id"])

    def write(self, via: str, db: str, value: str, timeout: float = 30) -> httpx2.Response:
        """INSERT `value` into t through node `via` (the response, whatever its status)."""
        body = {"query": "INSERT INTO t(v) VALUES (?)", "params": [value]}
        return self.request(via, "POST", f"/dbs/{db}/sql", timeout, json=body)

    def values(self, via: str, db: str) -> list[str]:
        """Every value of t, read through node `via` (asserting a 200)."""
        response = self.request(via, "POST", f"/dbs/{db}/sql", json={"query": "SELECT v FROM t ORDER BY v"})
        assert response.status_code == 200, f"{response.status_code} {response.text}"
        return [row["v"] for row in response.json()["rows"]]

    def state(self, via: str) -> dict[str, Any]:
        """`GET /api/cluster` through node `via`."""
        response = self.request(via, "GET", "/api/cluster", timeout=10)
        assert response.status_code == 200, f"{response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def placement(self, via: str, db: str) -> tuple[str, int]:
        """(owner node, epoch) of `db` as node `via`'s `GET /api/cluster` lists it."""
        for entry in self.state(via)["databases"]:
            if entry["id"] == db:
                return str(entry["node"]), int(entry["epoch"])
        raise AssertionError(f"{db} is not in GET /api/cluster")

    def restore_epoch(self, epoch: int, output: Path) -> subprocess.CompletedProcess[str]:
        """`litestream restore` into `output` of the `dbs/<key>/epochs/<epoch>` prefix of the replica (a cluster
        with one database: the first key found)."""
        objects = self.backends.replica_objects(self.replica_url)
        keys = [key for key, _ in objects if f"/epochs/{epoch}/" in key]
        assert keys, f"nothing replicated under epochs/{epoch}/: {objects}"
        prefix = keys[0].split(f"/epochs/{epoch}/")[0] + f"/epochs/{epoch}"
        url = f"s3://{BUCKET}/{prefix}?endpoint={self.backends.moto.url}&force-path-style=true"
        # AWS_CA_BUNDLE (set on some machines) makes Litestream's S3 client refuse a plain-http endpoint.
        env = {k: v for k, v in {**os.environ, **CREDENTIALS}.items() if k != "AWS_CA_BUNDLE"}
        litestream = str(Path(sys.executable).with_name("litestream"))
        return subprocess.run(
            [litestream, "restore", "-o", str(output), url], capture_output=True, text=True, env=env, timeout=60
        )

    def restored_values(self, epoch: int, output: Path) -> tuple[list[str], set[str]]:
        """(integrity_check's answer, every value of t) of the replica of `epoch` restored into `output`."""
        done = self.restore_epoch(epoch, output)
        assert done.returncode == 0, done.stderr
        conn = sqlite3.connect(output)
        try:
            problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
            values = {str(row[0]) for row in conn.execute("SELECT v FROM t")}
        finally:
            conn.close()
        return problems, values

    # Files -------------------------------------------------------------------------------------------------

    def database_files(self) -> list[Path]:
        """Every hosted database file (dbs/<key>/main.sqlite) in every node's data directory."""
        return sorted(p for node in self.nodes.values() for p in (node.data_dir / "dbs").glob("*/main.sqlite"))

    def integrity_problems(self) -> dict[str, list[str]]:
        """`PRAGMA integrity_check` (read-only) of every database file of every node: {path: [problems]} for the
        files that do not answer "ok" (empty when all pass)."""
        problems: dict[str, list[str]] = {}
        for path in self.database_files():
            try:
                conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
                try:
                    found = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
                finally:
                    conn.close()
            except sqlite3.Error as error:
                found = [f"{type(error).__name__}: {error}"]
            if found != ["ok"]:
                problems[str(path.relative_to(self.base_dir))] = found
        return problems


def _setup_key(log: Path) -> str | None:
    import re

    found = re.search(r"http://\S+/setup/(\S+) ", log.read_text(errors="replace")) if log.exists() else None
    return found[1] if found else None


@contextmanager
def running_cluster(base_dir: Path, backends: ClusterBackends, **options: Any) -> Iterator[Cluster]:
    """A started cluster with its server admin signed up; every node stopped at the end."""
    cluster = Cluster(base_dir, backends, **options)
    try:
        cluster.start()
        cluster.sign_up_admin()
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Attempt:
    """One write a load thread sent: its value, when it was sent and answered, the status (0: no answer) and the
    node that ran it (x-airsequel-node)."""

    value: str
    via: str
    sent: float
    answered: float
    status: int
    node: str | None
    body: str = ""


class WriteLoad:
    """Threads that each write unique values to `db` through their node in turn until stopped; every attempt is
    recorded (status 0 for no answer)."""

    def __init__(self, cluster: Cluster, db: str, vias: list[str], *, threads: int = 3, pause: float = 0.02) -> None:
        self.cluster, self.db, self.vias, self.pause = cluster, db, vias, pause
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> WriteLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, number: int) -> None:
        clients = {via: self.cluster.http(via, timeout=20) for via in self.vias}
        try:
            count = 0
            while not self._stop.is_set():
                via = self.vias[(number + count) % len(self.vias)]
                value = f"w{number}-{count:06d}"
                count += 1
                sent = time.monotonic()
                body = {"query": "INSERT INTO t(v) VALUES (?)", "params": [value]}
                try:
                    response = clients[via].post(f"/dbs/{self.db}/sql", json=body)
                    status, node, text = response.status_code, response.headers.get("x-airsequel-node"), ""
                    if status != 200:
                        text = response.text[:300]
                except httpx2.HTTPError as error:
                    status, node, text = 0, None, repr(error)
                with self._lock:
                    self.attempts.append(Attempt(value, via, sent, time.monotonic(), status, node, text))
                time.sleep(self.pause)
        finally:
            for client in clients.values():
                client.close()

    def acknowledged(self) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.status == 200]

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        with self._lock:
            for attempt in self.attempts:
                counts[attempt.status] = counts.get(attempt.status, 0) + 1
        return counts


def backends_or_skip(base_dir: Path) -> ClusterBackends:
    """A module's ClusterBackends, or a skip: these tests start their own PostgreSQL, so they are skipped when
    it is not installed or AIRSEQUEL_TEST_NO_POSTGRESQL=1, and in the --control-plane=postgresql pass (they run
    once, in the SQLite pass)."""
    import pytest

    from tests import control_planes

    if control_planes.postgresql_chosen():
        pytest.skip("the cluster tests start their own PostgreSQL: they run in the SQLite pass only")
    if os.environ.get(control_planes.NO_POSTGRESQL_VARIABLE) == "1":
        pytest.skip(f"the cluster tests need PostgreSQL ({control_planes.NO_POSTGRESQL_VARIABLE}=1)")
    if find_postgres_bindir() is None:
        pytest.skip("the cluster tests need PostgreSQL, which is not installed (Debian: apt-get install postgresql)")
    if not Path(sys.executable).with_name("moto_server").exists():
        pytest.skip("the cluster tests need moto's server (pip install 'moto[server]')")
    return ClusterBackends.start(base_dir)
