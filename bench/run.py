"""The benchmark: airsequel against named peers, measured in one run, reported as ratios.

Peers live in their own virtualenv (bench/.venv-peers, made by `make bench`), never in the
project's dependencies: Datasette with datasette-graphql, sqlite-utils; plus the sqlite3 CLI and
Python's in-process sqlite3 as the floor. The GraphQL peers are datasette-graphql and PostGraphile 4 (with
postgraphile-plugin-connection-filter) on Debian's PostgreSQL, whose npm packages go into
bench/peers/postgraphile/node_modules (bench/postgraphile_peer.py). Load comes from `wrk` (Debian package) on
127.0.0.1.

Usage: bench/.venv-peers/bin/python is not needed; run with the project's venv:
    .venv/bin/python bench/run.py [--quick] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx2
from aggregate_load import aggregate_workloads
from mixed_load import mixed_load
from postgraphile_peer import PeerUnavailable, PostGraphile

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "bench" / ".venv-peers" / "bin"
ROWS = 1_000_000


# --- fixtures ---------------------------------------------------------------------------------


def make_fixtures(folder: Path, rows: int) -> tuple[Path, Path]:
    """people.sqlite and people.csv with the same deterministic rows."""
    database, csv_path = folder / "people.sqlite", folder / "people.csv"
    rng = random.Random(42)
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email", "age", "score", "created"])
        for i in range(1, rows + 1):
            writer.writerow(
                [
                    i,
                    f"person {i}",
                    f"p{i}@example.org",
                    rng.randint(18, 90),
                    round(rng.random() * 100, 3),
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                ]
            )
    conn = sqlite3.connect(database)
    conn.execute(
        "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER, score REAL, created TEXT)"
    )
    with open(csv_path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", reader)
    conn.commit()
    conn.close()
    return database, csv_path


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url, timeout=2).status_code < 500:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class Process:
    def __init__(self, args: list[str], url: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
        )
        wait_http(url)

    def rss_mib(self) -> float:
        """Resident memory of the server and of its helper processes (the CSV reader), together."""
        return sum(_rss_kib(pid) for pid in [self.process.pid, *_children(self.process.pid)]) / 1024

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    except OSError:  # it has just ended
        return 0


def _children(pid: int) -> list[int]:
    """The child processes of every thread of `pid` (the CSV helper is started from a worker thread)."""
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(child) for child in listing.read_text().split())
        except OSError:
            continue
    return found


class RssSampler(threading.Thread):
    def __init__(self, process: Process) -> None:
        super().__init__(daemon=True)
        self.target, self.peak, self.start_rss, self._halt = process, 0.0, process.rss_mib(), threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, self.target.rss_mib())
            time.sleep(0.05)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak


# --- load -------------------------------------------------------------------------------------


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    vary: tuple[int, int] | None = None,
) -> dict[str, float]:
    """requests/s, p50 and p99 latency (ms) from wrk; fails loudly on non-2xx answers.

    With `vary=(low, high)` every request is different, as real clients' are: `__N__` in the URL's
    path and in the body becomes a random integer in [low, high] and `__M__` becomes N + 100, so no
    cache of a repeated identical text (statements, parsed documents, responses) can help."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for key, value in (headers or {}).items():
        lines.append(f'wrk.headers["{key}"] = "{value}"')
    if vary is not None:
        split = urlsplit(url)
        path = split.path + (f"?{split.query}" if split.query else "")
        url = f"{split.scheme}://{split.netloc}/"
        lines.append(f"""
local path_template = {json.dumps(path)}
local body_template = wrk.body
init = function(args)
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6))
end
request = function()
  local n = math.random({vary[0]}, {vary[1]})
  local function fill(text)
    if text == nil then return nil end
    return (string.gsub(string.gsub(text, "__N__", tostring(n)), "__M__", tostring(n + 100)))
  end
  return wrk.format(nil, fill(path_template), nil, fill(body_template))
end""")
    lines.append("""
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status, summary.requests))
end""")
    script.write("\n".join(lines))
    script.close()
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(connections, 2)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    rps, p50, p99, bad, total = line.split()[1:]
    if int(bad):
        raise RuntimeError(f"{bad} of {total} requests to {url} failed:\n{out}")
    return {"rps": float(rps), "p50": float(p50), "p99": float(p99)}


def median_of(runs: int, measure) -> dict[str, float]:  # type: ignore[no-untyped-def]
    results = [measure() for _ in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def interleaved_seconds(runs: int, contestants: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The median wall time of each contestant over `runs` rounds, one run of each per round.

    Dirty pages are written out before each run (`os.sync`), so that no run pays for another's writes.
    """
    times: dict[str, list[float]] = {name: [] for name in contestants}
    for _ in range(runs):
        for name, run in contestants.items():
            os.sync()
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    print("runs (s):", {name: [round(t, 2) for t in values] for name, values in times.items()}, flush=True)
    return {name: statistics.median(values) for name, values in times.items()}


def floor_sql_rps(database: Path, rows: int, seconds: float) -> dict[str, float]:
    conn = sqlite3.connect(database)
    count, start, n = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        n = (n + 100) % (rows - 100)
        cursor = conn.execute("SELECT * FROM people WHERE id >= ? AND id < ?", (n, n + 100))
        columns = [d[0] for d in cursor.description]
        json.dumps([dict(zip(columns, row)) for row in cursor.fetchall()])
        count += 1
    return {"rps": count / (time.perf_counter() - start), "p50": 0.0, "p99": 0.0}


# --- the run ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 1 run of 3 s each (a smoke test)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    rows = 100_000 if args.quick else ROWS
    runs, seconds = (1, 3) if args.quick else (3, 5)
    if not shutil.which("wrk") or not (PEERS / "datasette").exists():
        print("run `make bench` (installs wrk and the peers' virtualenv)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="airsequel-bench-"))
    postgraphile: PostGraphile | None = None
    table: list[tuple[str, str, str, str]] = []
    try:
        database, csv_path = make_fixtures(work, rows)
        ours, base, auth = start_ours(work / "data")
        http = httpx2.Client(base_url=base, timeout=600)
        db_id = http.post("/dbs?name=people", content=database.read_bytes(), headers=auth).json()["id"]

        dport = free_port()
        datasette = Process(
            [
                str(PEERS / "datasette"),
                "serve",
                "-i",
                str(database),
                "--port",
                str(dport),
                "--setting",
                "sql_time_limit_ms",
                "10000",
                "--setting",
                "max_returned_rows",
                "10000",
            ],
            f"http://127.0.0.1:{dport}/-/versions.json",
        )
        dbase = f"http://127.0.0.1:{dport}"
        # Every request asks for a different 100-row range: inline in the text, and bound as parameters.
        span = (1, rows - 100)
        inline = "SELECT * FROM people WHERE id >= __N__ AND id < __M__"
        bound = "SELECT * FROM people WHERE id >= ? AND id < ?"
        named = "SELECT * FROM people WHERE id >= :a AND id < :b"

        sql_headers = {**auth, "Content-Type": "application/json"}
        cases = [
            ("", 1, json.dumps({"query": inline}), f"people.json?sql={quote(inline)}&_shape=objects"),
            ("", 16, json.dumps({"query": inline}), f"people.json?sql={quote(inline)}&_shape=objects"),
            (
                " bound",
                16,
                json.dumps({"query": bound, "params": ["__N__", "__M__"]})
                .replace('"__N__"', "__N__")
                .replace('"__M__"', "__M__"),
                f"people.json?sql={quote(named)}&a=__N__&b=__M__&_shape=objects",
            ),
        ]
        for label, concurrency, our_body, peer_path in cases:
            mine = median_of(
                runs,
                lambda concurrency=concurrency, our_body=our_body: wrk(
                    f"{base}/dbs/{db_id}/sql",
                    connections=concurrency,
                    seconds=seconds,
                    method="POST",
                    body=our_body,
                    headers=sql_headers,
                    vary=span,
                ),
            )
            peer = median_of(
                runs,
                lambda concurrency=concurrency, peer_path=peer_path: wrk(
                    f"{dbase}/{peer_path}", connections=concurrency, seconds=seconds, vary=span
                ),
            )
            table.append(
                (
                    f"1. SQL 100 rows{label}, c={concurrency}",
                    _fmt(mine),
                    f"Datasette {_fmt(peer)}",
                    f"{mine['rps'] / peer['rps']:.1f}x",
                )
            )
            if not label and concurrency == 16:
                sql_c16, datasette_c16 = mine, peer
        floor = floor_sql_rps(database, rows, seconds)
        table.append(
            (
                "1. floor: in-process sqlite3 + json",
                f"{floor['rps']:.0f} req/s",
                "",
                f"ours c=16 at {sql_c16['rps'] / floor['rps']:.0%} of floor",
            )
        )

        # GraphQL: the value inline in the query text (a new text every request) and as a variable.
        selection = "{ id name email age score created }"
        gql_cases = [
            ("", json.dumps({"query": f"{{ people(where: {{id: {{_gte: __N__}}}}, limit: 100) {selection} }}"})),
            (
                " variable",
                json.dumps(
                    {
                        "query": f"query($n: Int!) {{ people(where: {{id: {{_gte: $n}}}}, limit: 100) {selection} }}",
                        "variables": {"n": "__N__"},
                    }
                ).replace('"__N__"', "__N__"),
            ),
        ]
        # PostGraphile stays up until workload 7: its runs take turns with ours (1 worker here, 2 in 7), so that a
        # busy spell of the machine falls on both alike.
        postgraphile, postgraphile_loads, postgraphile_label = start_postgraphile(
            work,
            csv_path,
            seconds=seconds,
            span=span,
            ours=lambda n: http.post(
                f"/dbs/{db_id}/graphql",
                headers=auth,
                json={"query": f"{{ people(where: {{id: {{_gte: {n}}}}}, limit: 100) {selection} }}"},
            ).json()["data"]["people"],
        )
        if postgraphile is None:
            table.append(("2. PostGraphile", "", postgraphile_label, "not measured"))
        peer_body = json.dumps(
            {
                "query": "{ people(filter: {id: {gte: __N__}}, first: 100) { nodes { id name email age score created } } }"
            }
        )
        peer = median_of(
            runs,
            lambda: wrk(
                f"{dbase}/graphql/people",
                connections=16,
                seconds=seconds,
                method="POST",
                body=peer_body,
                headers={"Content-Type": "application/json"},
                vary=span,
            ),
        )
        for label, gql in gql_cases:
            turns = in_turns(
                runs,
                {
                    "ours": lambda gql=gql: wrk(
                        f"{base}/dbs/{db_id}/graphql",
                        connections=16,
                        seconds=seconds,
                        method="POST",
                        body=gql,
                        headers=sql_headers,
                        vary=span,
                    ),
                    **({"postgraphile": postgraphile_loads[label]} if label in postgraphile_loads else {}),
                },
            )
            mine = turns["ours"]
            if "postgraphile" in turns:
                table.append(_postgraphile_row("2.", label, postgraphile_label, turns["postgraphile"]))
            table.append(
                (
                    f"2. GraphQL 100 rows{label or ' inline'}, c=16",
                    _fmt(mine),
                    f"datasette-graphql {_fmt(peer)} (inline)",
                    f"{mine['rps'] / peer['rps']:.1f}x; {mine['rps'] / sql_c16['rps']:.0%} of our SQL"
                    + _versus(mine, turns.get("postgraphile")),
                )
            )
        # 2a, 2b. Aggregates through GraphQL against the same written by hand through /sql (bench/aggregate_load.py).
        table.extend(
            aggregate_workloads(http, base, auth, runs=runs, seconds=seconds, wrk=wrk, in_turns=in_turns, fmt=_fmt)
        )
        datasette.stop()

        # 3. CSV upload, type inference included. The runs of each contestant alternate, so that a slow
        # spell of the machine falls on all of them alike; each number is the median of its runs.
        peak_rss: list[float] = []

        def upload_csv() -> None:
            sampler = RssSampler(ours)
            sampler.start()
            with open(csv_path, "rb") as handle:
                response = http.post("/dbs", files={"file": ("people.csv", handle, "text/csv")}, headers=auth)
            peak_rss.append(sampler.stop())
            assert response.status_code == 201, response.text

        def fresh(name: str) -> Path:
            (work / name).unlink(missing_ok=True)
            return work / name

        upload = interleaved_seconds(
            runs,
            {
                "ours": upload_csv,
                "import": lambda: subprocess.run(
                    ["sqlite3", str(fresh("import.sqlite")), "-cmd", ".mode csv", f".import {csv_path} people"],
                    check=True,
                ),
                "utils": lambda: subprocess.run(
                    [
                        str(PEERS / "sqlite-utils"),
                        "insert",
                        str(fresh("utils.sqlite")),
                        "people",
                        str(csv_path),
                        "--csv",
                    ],
                    check=True,
                    capture_output=True,
                ),
            },
        )
        table.append(
            (
                "3. CSV upload (rows/s)",
                f"{rows / upload['ours']:,.0f} rows/s, peak RSS {max(peak_rss):.0f} MiB",
                f"sqlite3 .import {rows / upload['import']:,.0f}; sqlite-utils {rows / upload['utils']:,.0f}",
                f"{upload['import'] / upload['ours']:.0%} of .import; {upload['utils'] / upload['ours']:.1f}x sqlite-utils",
            )
        )

        # 4. exports: the table's CSV stream against Datasette's, alternating; then an NDJSON export job
        datasette = Process(
            [str(PEERS / "datasette"), "serve", "-i", str(database), "--port", str(dport)],
            f"http://127.0.0.1:{dport}/-/versions.json",
        )
        sizes: dict[str, int] = {}
        rss_growth: list[float] = []

        def stream(name: str, client: httpx2.Client, url: str, headers: dict[str, str] | None = None) -> None:
            sampler = RssSampler(ours)
            sampler.start()
            with client.stream("GET", url, headers=headers) as response:
                assert response.status_code == 200, response.read()
                sizes[name] = sum(len(chunk) for chunk in response.iter_bytes())
            peak = sampler.stop()
            if name == "ours":
                rss_growth.append(peak - sampler.start_rss)

        peer_http = httpx2.Client(timeout=600)
        export = interleaved_seconds(
            runs,
            {
                "ours": lambda: stream("ours", http, f"/api/dbs/{db_id}/tables/people/export", auth),
                "datasette": lambda: stream("datasette", peer_http, f"{dbase}/people/people.csv?_stream=on&_size=max"),
                "floor": lambda: subprocess.run(
                    ["sqlite3", "-csv", "-header", str(database), "SELECT * FROM people"],
                    check=True,
                    stdout=subprocess.DEVNULL,
                ),
            },
        )
        datasette.stop()

        def ndjson_job() -> None:
            job = http.post(
                "/api/exports",
                headers=auth,
                json={"name": "bench", "databases": [db_id], "media_type": "application/x-ndjson"},
            ).json()["id"]
            while http.get(f"/api/exports/{job}", headers=auth).json()["status"] not in ("SUCCESS", "FAILED"):
                time.sleep(0.02)

        job = interleaved_seconds(runs, {"ours": ndjson_job})
        table.append(
            (
                "4. CSV export (rows/s)",
                f"{rows / export['ours']:,.0f} rows/s ({sizes['ours'] >> 20} MiB), RSS +{max(rss_growth):.0f} MiB",
                f"Datasette {rows / export['datasette']:,.0f} ({sizes['datasette'] >> 20} MiB); "
                f"sqlite3 -csv {rows / export['floor']:,.0f}",
                f"{export['datasette'] / export['ours']:.1f}x Datasette",
            )
        )
        table.append(("4. NDJSON export job (rows/s)", f"{rows / job['ours']:,.0f} rows/s", "", ""))

        # 5. many databases
        count = 1000 if args.quick else 10_000
        for i in range(count):
            created = http.post(
                "/api/dbs",
                headers=auth,
                json={"name": f"small {i}", "query": "CREATE TABLE t(a); INSERT INTO t VALUES (1)"},
            )
            assert created.status_code == 201, created.text
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            assert http.get("/api/dbs?limit=100", headers=auth).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
        all_ids = [db["id"] for db in http.get("/api/dbs?limit=50&offset=500", headers=auth).json()["databases"]]
        cold = []
        for cold_id in all_ids[:20]:
            started = time.perf_counter()
            http.post(f"/dbs/{cold_id}/sql", headers=auth, json={"query": "SELECT a FROM t"})
            cold.append((time.perf_counter() - started) * 1000)
        table.append(
            (
                f"5. {count:,} databases",
                f"GET /api/dbs?limit=100 p50 {statistics.median(timings):.1f} ms; "
                f"first query on a cold db p50 {statistics.median(cold):.1f} ms; open fds {ours.open_fds()}",
                "",
                "fds bounded by the pool (64)",
            )
        )

        # 6. mixed load: 16 databases, 80% reads / 20% writes, from wrk (bench/mixed_load.py)
        mixed_seconds = 10 if args.quick else 30
        table.append(mixed_load(base, auth, seconds=mixed_seconds))

        # 7. The same with two worker processes (`serve --workers 2`), against the figures above. This server
        # stays up through it: its mixed load takes turns with the 2 workers' (the ratio compares runs side by side).
        try:
            rows_7 = two_workers(
                work,
                database,
                runs=runs,
                seconds=seconds,
                span=span,
                sql_body=json.dumps({"query": inline}),
                gql_cases=gql_cases,
                one_worker={"sql": sql_c16, "datasette": datasette_c16, "floor": floor},
                postgraphile=(postgraphile_loads, postgraphile_label),
                mixed_seconds=mixed_seconds,
                mixed_one_worker=lambda: mixed_load(base, auth, seconds=mixed_seconds),
            )
        finally:
            ours.stop()
        table.extend(rows_7)
    finally:
        if postgraphile is not None:
            postgraphile.stop()
        shutil.rmtree(work, ignore_errors=True)
    write_results(args.out, table, rows, postgraphile.versions if postgraphile else "")
    print(args.out.read_text())
    return 0


def start_ours(data_dir: Path, workers: int = 1) -> tuple[Process, str, dict[str, str]]:
    """Our server on a free port (`workers` processes), with the user `bench` logged in."""
    port = free_port()
    server = Process(
        [
            sys.executable,
            "-m",
            "airsequel",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
            # Workload 5 hosts 10,000 databases in one user's space, past the default quota of 1,000.
            "--team-max-databases",
            "20000",
        ],
        f"http://127.0.0.1:{port}/api/status",
    )
    base = f"http://127.0.0.1:{port}"
    http = httpx2.Client(base_url=base, timeout=600)
    http.post("/api/users", json={"username": "bench", "email_address": "b@example.org", "password": "benchmark!"})
    token = http.post("/api/login", json={"username": "bench", "password": "benchmark!"}).json()["sessionToken"]
    return server, base, {"Authorization": f"Bearer {token}"}


def two_workers(
    work: Path,
    database: Path,
    *,
    runs: int,
    seconds: int,
    span: tuple[int, int],
    sql_body: str,
    gql_cases: list[tuple[str, str]],
    one_worker: dict[str, dict[str, float]],
    postgraphile: tuple[dict[str, Callable[[], dict[str, float]]], str],
    mixed_seconds: int,
    mixed_one_worker: Callable[[], tuple[str, str, str, str]],
) -> list[tuple[str, str, str, str]]:
    """Workload 7: `POST /sql`, GraphQL and the mixed load through `serve --workers 2`, as ratios to the
    in-process floor, Datasette, our own /sql and one worker's mixed load, all from this run; GraphQL also to
    PostGraphile (`postgraphile`: its loads keyed like `gql_cases`, and its name), measured in turns with it."""
    server, base, auth = start_ours(work / "data-2-workers", workers=2)
    headers = {**auth, "Content-Type": "application/json"}
    rows: list[tuple[str, str, str, str]] = []
    try:
        http = httpx2.Client(base_url=base, timeout=600)
        db_id = http.post("/dbs?name=people", content=database.read_bytes(), headers=auth).json()["id"]

        def load(path: str, body: str) -> Callable[[], dict[str, float]]:
            return lambda: wrk(
                f"{base}{path}", connections=16, seconds=seconds, method="POST", body=body, headers=headers, vary=span
            )

        def measure(path: str, body: str) -> dict[str, float]:
            return median_of(runs, load(path, body))

        sql = measure(f"/dbs/{db_id}/sql", sql_body)
        rows.append(
            (
                "7. 2 workers: SQL 100 rows, c=16",
                _fmt(sql),
                f"Datasette {_fmt(one_worker['datasette'])}",
                f"{sql['rps'] / one_worker['datasette']['rps']:.1f}x; {sql['rps'] / one_worker['floor']['rps']:.0%} of"
                f" floor; {sql['rps'] / one_worker['sql']['rps']:.2f}x one worker",
            )
        )
        postgraphile_loads, postgraphile_label = postgraphile
        for label, gql in gql_cases:
            turns = in_turns(
                runs,
                {
                    "ours": load(f"/dbs/{db_id}/graphql", gql),
                    **({"postgraphile": postgraphile_loads[label]} if label in postgraphile_loads else {}),
                },
            )
            mine = turns["ours"]
            if "postgraphile" in turns:
                rows.append(_postgraphile_row("7.", label, postgraphile_label, turns["postgraphile"]))
            rows.append(
                (
                    f"7. 2 workers: GraphQL 100 rows{label or ' inline'}, c=16",
                    _fmt(mine),
                    "",
                    f"{mine['rps'] / sql['rps']:.0%} of our SQL with 2 workers"
                    + _versus(mine, turns.get("postgraphile")),
                )
            )
        # The mixed load in turns: one worker's run (workload 6's server), then the 2 workers', `runs` times.
        ones: list[tuple[str, str, str, str]] = []
        twos: list[tuple[str, str, str, str]] = []
        for _ in range(runs):
            ones.append(mixed_one_worker())
            twos.append(mixed_load(base, auth, seconds=mixed_seconds, label="7. 2 workers: mixed 80/20, c=16 (wrk)"))
        one, two = _median_mixed(ones), _median_mixed(twos)
        verdict = "FAILED" if any(row[3] == "FAILED" for row in ones + twos) else two[3]
        rows.append(
            (
                two[0],
                two[1],
                two[2],
                f"{verdict}; {_mixed_rps(two) / _mixed_rps(one):.2f}x one worker in turns ({one[1]})",
            )
        )
    finally:
        server.stop()
    return rows


def _mixed_rps(row: tuple[str, str, str, str]) -> float:
    return float(row[1].split(" req/s")[0].replace(",", ""))


def _median_mixed(rows: list[tuple[str, str, str, str]]) -> tuple[str, str, str, str]:
    """The run of median throughput (`rows` holds an odd number of runs)."""
    return sorted(rows, key=_mixed_rps)[len(rows) // 2]


def start_postgraphile(
    work: Path,
    csv_path: Path,
    *,
    seconds: int,
    span: tuple[int, int],
    ours: Callable[[int], list[dict[str, object]]],
) -> tuple[PostGraphile | None, dict[str, Callable[[], dict[str, float]]], str]:
    """PostGraphile on PostgreSQL with the fixture's rows, checked and warmed up: the running peer, one wrk load
    per query form (the same 100 rows as our GraphQL workload, a different first id every request, inline and as a
    variable; keyed like `gql_cases`) and its name. When it cannot run here: None, no loads and the reason instead
    of its name; the bench goes on without it."""
    nodes = "{ nodes { id name email age score created } }"
    forms = {
        "": {"query": f"{{ allPeople(filter: {{id: {{greaterThanOrEqualTo: __N__}}}}, first: 100) {nodes} }}"},
        " variable": {
            "query": f"query($n: Int!) {{ allPeople(filter: {{id: {{greaterThanOrEqualTo: $n}}}}, first: 100) {nodes} }}",
            "variables": {"n": "__N__"},
        },
    }
    try:
        peer = PostGraphile(work, csv_path)
    except PeerUnavailable as error:
        print(f"PostGraphile not measured: {error}", file=sys.stderr, flush=True)
        return None, {}, f"not measured: {str(error).splitlines()[0] if str(error) else 'unavailable'}"
    loads: dict[str, Callable[[], dict[str, float]]] = {}
    try:
        for label, body in forms.items():
            # The same rows as ours, checked once (wrk counts statuses only, and GraphQL errors come as 200).
            check = json.loads(json.dumps(body).replace('"__N__"', "4321").replace("__N__", "4321"))
            if peer.query(check) != ours(4321):
                raise RuntimeError(f"PostGraphile's rows differ from ours for {body['query']}")
            text = json.dumps(body).replace('"__N__"', "__N__")

            def load(text: str = text, seconds: int = seconds) -> dict[str, float]:
                return wrk(
                    peer.url,
                    connections=16,
                    seconds=seconds,
                    method="POST",
                    body=text,
                    headers={"Content-Type": "application/json"},
                    vary=span,
                )

            # Node compiles its hot paths as it goes: from cold, PostGraphile's inline form rose from ~350 to
            # ~1,300 req/s over its first 8 one-second runs. 10 s of warm-up first, not counted.
            load(seconds=10)
            loads[label] = load
    except BaseException:
        peer.stop()
        raise
    return peer, loads, peer.label


def in_turns(runs: int, contestants: dict[str, Callable[[], dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The median figures of each contestant over `runs` rounds, one run of each per round."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in contestants}
    for _ in range(runs):
        for name, measure in contestants.items():
            results[name].append(measure())
    return {name: {key: statistics.median(r[key] for r in got) for key in got[0]} for name, got in results.items()}


def _postgraphile_row(number: str, label: str, name: str, result: dict[str, float]) -> tuple[str, str, str, str]:
    return (
        f"{number} PostGraphile 100 rows{label or ' inline'}, c=16",
        "",
        f"{name}: {_fmt(result)}",
        "in turns with the row below",
    )


def _versus(ours: dict[str, float], postgraphile: dict[str, float] | None) -> str:
    return f"; {ours['rps'] / postgraphile['rps']:.2f}x PostGraphile" if postgraphile else ""


def _fmt(result: dict[str, float]) -> str:
    return f"{result['rps']:,.0f} req/s (p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms)"


def write_results(path: Path, table: list[tuple[str, str, str, str]], rows: int, postgraphile: str) -> None:
    peers = subprocess.run([str(PEERS / "pip"), "freeze"], capture_output=True, text=True).stdout
    versions = ", ".join(
        line
        for line in peers.splitlines()
        if line.split("==")[0].lower() in ("datasette", "datasette-graphql", "sqlite-utils")
    )
    if postgraphile:
        versions += f", {postgraphile}"
    lines = [
        "# Benchmark results",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; peers: {versions}. Fixture: `people`, {rows:,} rows. "
        "Numbers are medians of 3 runs (1 with --quick): wrk on 127.0.0.1 (it shares the cores with the servers) for 1, 2 "
        "and 7, where PostGraphile's runs take turns with ours; for 3 and 4 "
        "the contestants take turns within each of the 3 rounds, so that a slow spell of the machine falls on all of them.",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python bench/run.py`).",
        "",
        "| workload | airsequel | peer / floor | ratio |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table],
        "",
    ]
    # The runs recorded by hand below the generated table (each under its own "## " heading) are kept.
    kept = path.read_text().split("\n## ", 1) if path.exists() else []
    path.write_text("\n".join(lines) + (f"\n## {kept[1]}" if len(kept) == 2 else ""))


if __name__ == "__main__":
    raise SystemExit(main())
