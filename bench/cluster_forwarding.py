"""What forwarding between cluster nodes costs: the same requests sent to a database's owner and to another node.

Two `serve --cluster` nodes, a and b, on 127.0.0.1 over one PostgreSQL control plane and a moto S3 replica
(tests/cluster_processes.py's ClusterBackends and Cluster, as the cluster tests start them; lease 10 s, the
default, so that a busy machine does not fence a node mid-run). Node b is drained first, so every new database,
uploads included, is placed on a: a request sent to a runs there ("direct"), the same request sent to b is
forwarded by b to a ("forwarded"). Every answer is checked to come from a (`x-airsequel-node`).

Measured, each direct run in turns with its forwarded twin (the order alternating by round), so that a busy spell of
the machine falls on both alike; every figure is the median of the rounds, with the spread (min–max) beside it:
1. `POST /dbs/<id>/sql` reads: `SELECT * FROM people WHERE id = ?`, the key bound and different in every request
   (wrk with a Lua script, at 1 and at 16 connections);
2. small writes: `INSERT INTO w(v) VALUES (?)`, the value bound and different in every request;
3. GraphQL: `{ people(where: {id: {_eq: N}}) { id name email age } }`, N inline and different in every request;
4. a 100 MB SQLite file uploaded raw (`POST /dbs`, one row changed before every upload) and downloaded back
   (`GET /dbs/<id>/download`), from this process with httpx2, streamed both ways: seconds and MB/s.
For 1–3 the CPU time of each node's server process is read from /proc around every run: CPU per request on the
owner (a) and on the forwarder (b) says where a forwarded request's cost goes.

Usage: .venv/bin/python bench/cluster_forwarding.py [--quick] [--out FILE]
(--quick: 1 round of 3 s each and a 20 MB file; a full run takes about 3 minutes). Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from run import wrk  # noqa: E402  (bench/run.py: wrk with a different value in every request)

from tests.cluster_processes import Cluster, ClusterBackends, wait_for  # noqa: E402
from tests.postgres_cluster import find_postgres_bindir  # noqa: E402

CONNECTIONS = 16
PEOPLE = 100_000
LEASE_SECONDS = 10
TICKS = os.sysconf("SC_CLK_TCK")
MB = 1_000_000

Figures = dict[str, float]


# --- the cluster ---------------------------------------------------------------------------------------------


def missing() -> str | None:
    """Why the bench cannot run here, or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (Debian: apt-get install wrk; `make bench` installs it)"
    if find_postgres_bindir() is None:
        return "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    if not Path(sys.executable).with_name("moto_server").exists():
        return "moto's server is not installed (.venv/bin/pip install 'moto[server]', in the dev extra)"
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids(cluster: Cluster) -> dict[str, int]:
    return {name: node.process.pid for name, node in cluster.nodes.items() if node.process is not None}


def sql(http: httpx2.Client, db: str, query: str, params: list[object] | None = None) -> list[dict[str, object]]:
    response = http.post(f"/dbs/{db}/sql", json={"query": query, "params": params or []})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{query}: {response.status_code} {response.text[:300]}")
    rows: list[dict[str, object]] = body["rows"]
    return rows


def owner_of(response: httpx2.Response) -> str:
    return response.headers.get("x-airsequel-node", "?")


def prepare(cluster: Cluster) -> str:
    """Drains b (so that new databases go to a) and makes the database of the loads on a; its id."""
    response = cluster.request("a", "POST", "/api/cluster/nodes/b/drain")
    if response.status_code != 202:
        raise RuntimeError(f"drain of b: {response.status_code} {response.text}")
    db = cluster.create_db(
        "a", "forwarding", "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER)"
    )
    with cluster.http("a", timeout=120) as http:
        sql(http, db, "CREATE TABLE w(id INTEGER PRIMARY KEY, v INTEGER)")
        sql(
            http,
            db,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO people SELECT i, 'person ' || i, 'p' || i || '@example.org', 18 + i % 70 FROM n",
            [PEOPLE],
        )
    if cluster.placement("b", db)[0] != "a":
        raise RuntimeError(f"database {db} is not on a: {cluster.placement('b', db)}")
    return db


# --- the loads -----------------------------------------------------------------------------------------------


def loads(db: str) -> dict[str, tuple[str, str, Callable[[httpx2.Client, int], object], int]]:
    """name: (path, wrk body with __N__, a check that one request of the form answers right through a client,
    connections)."""

    def read(http: httpx2.Client, n: int) -> object:
        answer = http.post(f"/dbs/{db}/sql", json={"query": "SELECT * FROM people WHERE id = ?", "params": [n]})
        row = {"id": n, "name": f"person {n}", "email": f"p{n}@example.org", "age": 18 + n % 70}
        return answer.status_code == 200 and answer.json()["rows"] == [row] and owner_of(answer) == "a"

    def write(http: httpx2.Client, n: int) -> object:
        answer = http.post(f"/dbs/{db}/sql", json={"query": "INSERT INTO w(v) VALUES (?) RETURNING v", "params": [n]})
        return answer.status_code == 200 and answer.json()["rows"] == [{"v": n}] and owner_of(answer) == "a"

    def graphql(http: httpx2.Client, n: int) -> object:
        query = f"{{ people(where: {{id: {{_eq: {n}}}}}) {{ id name email age }} }}"
        answer = http.post(f"/dbs/{db}/graphql", json={"query": query})
        row = {"id": n, "name": f"person {n}", "email": f"p{n}@example.org", "age": 18 + n % 70}
        return answer.status_code == 200 and answer.json() == {"data": {"people": [row]}} and owner_of(answer) == "a"

    bound = '{"query": "%s", "params": [__N__]}'
    read_body = bound % "SELECT * FROM people WHERE id = ?"
    return {
        "1. `/sql` read by primary key (bound), c=1": (f"/dbs/{db}/sql", read_body, read, 1),
        "1. `/sql` read by primary key (bound), c=16": (f"/dbs/{db}/sql", read_body, read, CONNECTIONS),
        "2. `/sql` small INSERT (bound), c=16": (
            f"/dbs/{db}/sql",
            bound % "INSERT INTO w(v) VALUES (?)",
            write,
            CONNECTIONS,
        ),
        "3. GraphQL by primary key (inline), c=16": (
            f"/dbs/{db}/graphql",
            json.dumps({"query": "{ people(where: {id: {_eq: __N__}}) { id name email age } }"}),
            graphql,
            CONNECTIONS,
        ),
    }


def family_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children (PostgreSQL's backends are the postmaster's)."""
    total = 0.0
    for member in (pid, *children(pid)):
        try:
            total += cpu_seconds(member)
        except OSError:  # it has just ended
            continue
    return total


def measure_load(cluster: Cluster, via: str, path: str, body: str, seconds: int, connections: int) -> Figures:
    """One wrk run through node `via`, with the CPU per request of each node's server process
    and of PostgreSQL (the control plane, which every request looks at on every node it passes)."""
    processes = pids(cluster)
    postgres = cluster.backends.postgres.process.pid
    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    before["pg"] = family_cpu_seconds(postgres)
    result = wrk(
        cluster[via].url + path,
        connections=connections,
        seconds=seconds,
        method="POST",
        body=body,
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"},
        vary=(1, PEOPLE),
    )
    requests = result["rps"] * seconds
    for name, pid in processes.items():
        result[f"cpu_{name}"] = (cpu_seconds(pid) - before[name]) * 1000 / requests  # ms per request
    result["cpu_pg"] = (family_cpu_seconds(postgres) - before["pg"]) * 1000 / requests
    return result


def in_turns(rounds: int, contestants: dict[str, Callable[[], Figures]]) -> dict[str, list[Figures]]:
    """Every run of each contestant, one of each per round, the order reversed every other round."""
    results: dict[str, list[Figures]] = {name: [] for name in contestants}
    names = list(contestants)
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            results[name].append(contestants[name]())
    return results


# --- upload and download -------------------------------------------------------------------------------------


def make_file(path: Path, megabytes: int) -> None:
    """A SQLite file of about `megabytes` MB: 100 kB random blobs, and a table `marker` changed before each upload."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE blobs(id INTEGER PRIMARY KEY, data BLOB)")
    conn.execute("CREATE TABLE marker(v TEXT)")
    conn.execute("INSERT INTO marker VALUES ('')")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO blobs(data) SELECT randomblob(100000) FROM n",
        (megabytes * MB // 100_000,),
    )
    conn.commit()
    conn.close()


def vary_file(path: Path, value: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE marker SET v = ?", (value,))
    conn.execute("UPDATE blobs SET data = randomblob(100000) WHERE id = 1")
    conn.commit()
    conn.close()


def quiet(cluster: Cluster, limit: float = 10.0) -> None:
    """Wait (at most `limit` s) until node a's server and its helpers (Litestream shipping the last upload) use
    less than a tenth of a core, so that no run pays for the one before."""
    node = cluster["a"]
    assert node.process is not None
    deadline = time.monotonic() + limit

    def busy() -> float:
        return family_cpu_seconds(node.process.pid) if node.process else 0.0

    while time.monotonic() < deadline:
        start = busy()
        time.sleep(0.5)
        if busy() - start < 0.05:
            return


def children(pid: int) -> list[int]:
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(child) for child in listing.read_text().split())
        except OSError:
            continue
    return found


def upload_and_download(cluster: Cluster, via: str, path: Path, number: int) -> Figures:
    """One upload of the file through `via` (placed on a) and one download of it: seconds for each."""
    vary_file(path, f"{via}-{number}-{time.time()}")
    size = path.stat().st_size
    quiet(cluster)
    with cluster.http(via, timeout=600) as http:
        started = time.perf_counter()
        with open(path, "rb") as handle:
            response = http.post(
                f"/dbs?name=upload-{via}-{number}",
                content=handle,
                headers={"Content-Type": "application/vnd.sqlite3", "Content-Length": str(size)},
            )
        upload = time.perf_counter() - started
        if response.status_code != 201 or owner_of(response) != "a":
            raise RuntimeError(f"upload through {via}: {response.status_code} {owner_of(response)} {response.text}")
        db = response.json()["id"]
        quiet(cluster)
        started = time.perf_counter()
        received, head = 0, b""
        with http.stream("GET", f"/dbs/{db}/download") as download:
            if download.status_code != 200 or owner_of(download) != "a":
                raise RuntimeError(f"download through {via}: {download.status_code} {owner_of(download)}")
            for chunk in download.iter_bytes():
                if not head:
                    head = chunk[:16]
                received += len(chunk)
        seconds = time.perf_counter() - started
        if head != b"SQLite format 3\x00" or received < size * 0.99:
            raise RuntimeError(f"download through {via}: {received} bytes of {size}, header {head!r}")
        deleted = http.delete(f"/api/dbs/{db}")
        if deleted.status_code >= 300:
            raise RuntimeError(f"delete {db}: {deleted.status_code} {deleted.text}")
    return {"upload": upload, "download": seconds, "up_mbs": size / MB / upload, "down_mbs": received / MB / seconds}


# --- the report ----------------------------------------------------------------------------------------------


def median(runs: list[Figures], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def spread(runs: list[Figures], key: str, fmt: str) -> str:
    values = [run[key] for run in runs]
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def load_row(name: str, direct: list[Figures], forwarded: list[Figures]) -> tuple[str, str, str, str]:
    def cell(runs: list[Figures]) -> str:
        cpu = (
            f"CPU/request a {median(runs, 'cpu_a'):.2f} ms, b {median(runs, 'cpu_b'):.2f} ms, "
            f"PostgreSQL {median(runs, 'cpu_pg'):.2f} ms"
        )
        return (
            f"{spread(runs, 'rps', ',.0f')} req/s; p50 {spread(runs, 'p50', '.1f')} ms, "
            f"p99 {spread(runs, 'p99', '.1f')} ms; {cpu}"
        )

    ratio = (
        f"req/s {median(forwarded, 'rps') / median(direct, 'rps'):.2f}x; "
        f"p50 {median(forwarded, 'p50') / median(direct, 'p50'):.2f}x; "
        f"p99 {median(forwarded, 'p99') / median(direct, 'p99'):.2f}x"
    )
    return name, cell(direct), cell(forwarded), ratio


def file_rows(megabytes: int, direct: list[Figures], forwarded: list[Figures]) -> list[tuple[str, str, str, str]]:
    rows = []
    for key, rate, label in (("upload", "up_mbs", "upload (raw `POST /dbs`)"), ("download", "down_mbs", "download")):
        rows.append(
            (
                f"4. {megabytes} MB SQLite file: {label}",
                f"{spread(direct, key, '.2f')} s, {median(direct, rate):.0f} MB/s",
                f"{spread(forwarded, key, '.2f')} s, {median(forwarded, rate):.0f} MB/s",
                f"time {median(forwarded, key) / median(direct, key):.2f}x; "
                f"MB/s {median(forwarded, rate) / median(direct, rate):.2f}x",
            )
        )
    return rows


def report(
    table: list[tuple[str, str, str, str]], rounds: int, seconds: int, load: tuple[float, float], began: str
) -> str:
    lines = [
        "# Cluster forwarding: a database's owner (a) asked directly, and through another node (b)",
        "",
        f"Measured {began} on {os.cpu_count()} cores (shared with other "
        f"work: load average {load[0]:.1f} at the start, {load[1]:.1f} at the end), Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}. Two `serve --cluster` nodes on 127.0.0.1, a "
        "PostgreSQL control plane and a moto S3 replica; the database is on a, b is drained. Each figure is the median "
        f"of {rounds} run(s) (min–max in brackets), every direct run in turns with its forwarded twin; wrk "
        f"(1 or {CONNECTIONS} connections, {seconds} s a run) shares the cores with both nodes. CPU/request: the server "
        "process of each node and PostgreSQL's processes, from /proc (wrk's and moto's are not counted). Ratios are forwarded / direct.",
        "",
        "Reproduce: `.venv/bin/python bench/cluster_forwarding.py` (`--quick` for a smoke run).",
        "",
        "| workload | direct (sent to a) | forwarded (sent to b) | forwarded / direct |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s per load and a 20 MB file")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()
    rounds, seconds, megabytes = (1, 3, 20) if args.quick else (3, 5, 100)
    reason = missing()
    if reason:
        print(f"cluster forwarding bench not run: {reason}", file=sys.stderr)
        return 2
    load_start = os.getloadavg()[0]
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="airsequel-forwarding-"))
    backends = ClusterBackends.start(work)
    cluster = Cluster(work / "cluster", backends, names=("a", "b"), lease_seconds=LEASE_SECONDS)
    table: list[tuple[str, str, str, str]] = []
    try:
        cluster.start()
        cluster.sign_up_admin()
        db = prepare(cluster)
        for name, (path, body, check, connections) in loads(db).items():
            for via in ("a", "b"):
                with cluster.http(via) as http:
                    wait_for(
                        f"{name} through {via} answers right", lambda http=http, check=check: check(http, 4242), 10
                    )
            runs = in_turns(
                rounds,
                {
                    "direct": lambda path=path, body=body, c=connections: measure_load(
                        cluster, "a", path, body, seconds, c
                    ),
                    "forwarded": lambda path=path, body=body, c=connections: measure_load(
                        cluster, "b", path, body, seconds, c
                    ),
                },
            )
            table.append(load_row(name, runs["direct"], runs["forwarded"]))
            print(f"{table[-1]}  [{time.monotonic() - started:.0f} s]", flush=True)
        file = work / "upload.sqlite"
        make_file(file, megabytes)
        numbers = iter(range(1000))
        files = in_turns(
            rounds,
            {
                "direct": lambda: upload_and_download(cluster, "a", file, next(numbers)),
                "forwarded": lambda: upload_and_download(cluster, "b", file, next(numbers)),
            },
        )
        table.extend(file_rows(round(file.stat().st_size / MB), files["direct"], files["forwarded"]))
        print(f"{table[-2:]}  [{time.monotonic() - started:.0f} s]", flush=True)
    finally:
        cluster.stop()
        backends.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = report(table, rounds, seconds, (load_start, os.getloadavg()[0]), began)
    if args.out:
        args.out.write_text(text)
    print(text)
    print(f"(took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
