"""How the control plane reaches PostgreSQL: our translation (one copy of each statement, in SQLite's SQL,
translated once by sqlglot and run through psycopg) against SQLAlchemy 2's text() and Core, and raw psycopg.

One primary-key SELECT of `server_settings`, the shape of most control-plane reads, N times in a row on one
connection, after a warm-up; the SQLite control plane for comparison. Starts its own PostgreSQL
(tests/postgres_cluster.py). Needs SQLAlchemy, which is not a dependency:
`.venv/bin/pip install "sqlalchemy>=2"`, then `.venv/bin/python bench/design/control_plane_statements.py`."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from airsequel.core.registry.control_plane import ControlPlane  # noqa: E402
from tests.postgres_cluster import PostgresCluster  # noqa: E402

N = 5000
ROUNDS = 5
QUERY = "SELECT key, value_json FROM server_settings WHERE key = ?"


def main() -> None:
    base = Path(tempfile.mkdtemp())
    cluster = PostgresCluster.start(base)
    try:
        url = cluster.create_database("control_plane_bench")
        ours = ControlPlane(url)
        sqlite = ControlPlane(base / "control.sqlite")
        for control in (ours, sqlite):
            with control.transaction() as conn:
                conn.executemany(
                    "INSERT INTO server_settings(key, value_json) VALUES (?, '1')", [(f"k{i}",) for i in range(200)]
                )
        raw = psycopg.connect(url, autocommit=True)
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        connection = engine.connect()
        text = sa.text("SELECT key, value_json FROM server_settings WHERE key = :k")
        table = sa.Table(
            "server_settings",
            sa.MetaData(),
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("value_json", sa.Text),
        )
        ways: dict[str, Callable[[str], object]] = {
            "psycopg, raw": lambda key: raw.execute(
                "SELECT key, value_json FROM server_settings WHERE key = %s", (key,)
            ).fetchall(),
            "ours (translated once, psycopg)": lambda key: ours.query(QUERY, (key,)),
            "SQLAlchemy text()": lambda key: connection.execute(text, {"k": key}).fetchall(),
            "SQLAlchemy Core select()": lambda key: connection.execute(
                sa.select(table.c.key, table.c.value_json).where(table.c.key == key)
            ).fetchall(),
            "ours on SQLite (control.sqlite)": lambda key: sqlite.query(QUERY, (key,)),
        }
        results: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(ROUNDS):
            for name, run in ways.items():
                for i in range(200):
                    run(f"k{i}")
                started = time.perf_counter()
                for i in range(N):
                    run(f"k{i % 200}")
                results[name].append((time.perf_counter() - started) / N * 1e6)
        print(f"| way | µs per statement (median of {ROUNDS} rounds of {N}) |\n| --- | --- |")
        for name, times in results.items():
            print(f"| {name} | {statistics.median(times):.0f} |")
        ours.close()
        sqlite.close()
        raw.close()
        connection.close()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
