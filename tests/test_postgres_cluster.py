"""The PostgreSQL server the suite starts for itself (tests/postgres_cluster.py): it starts, listens on 127.0.0.1
only, keeps databases apart, and stop() ends it; and --control-plane reaches the settings and the environment."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg
import pytest

from tests import control_planes
from tests.postgres_cluster import PostgresCluster, PostgresUnavailable, find_postgres_bindir


@pytest.fixture
def cluster(tmp_path: Path):
    try:
        started = PostgresCluster.start(tmp_path)
    except PostgresUnavailable as error:
        control_planes.unavailable(str(error))
    yield started
    started.stop()


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} write them) of the sockets listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def refused(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) != 0


def test_the_bindir_has_the_server_programs():
    bindir = find_postgres_bindir()
    if bindir is None:
        control_planes.unavailable("no initdb found")
    assert bindir is not None
    assert all((bindir / program).is_file() for program in ("initdb", "postgres", "pg_ctl"))


def test_the_cluster_accepts_connections_on_127_0_0_1_only(cluster):
    assert cluster.url == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    with psycopg.connect(cluster.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
    assert listening_addresses(cluster.port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::
    assert refused("127.0.0.2", cluster.port)  # another loopback address: not bound


def test_as_root_the_server_runs_as_an_unprivileged_user(cluster):
    status = Path(f"/proc/{cluster.process.pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid == os.geteuid() if os.geteuid() != 0 else uid != 0


def test_two_created_databases_are_separate(cluster):
    first, second = cluster.create_database("first_db"), cluster.create_database("second_db")
    assert first.endswith("/first_db") and second.endswith("/second_db")
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE only_here(a int)")
        conn.execute("INSERT INTO only_here VALUES (1)")
    with psycopg.connect(second) as conn:
        assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
    cluster.drop_database("first_db")
    with pytest.raises(psycopg.OperationalError, match="first_db"):
        psycopg.connect(first)
    with pytest.raises(ValueError, match="plain database name"):
        cluster.create_database('x"; DROP DATABASE postgres; --')


def test_stop_ends_its_process_and_removes_its_files(tmp_path):
    try:
        cluster = PostgresCluster.start(tmp_path)
    except PostgresUnavailable as error:
        control_planes.unavailable(str(error))
    pid, directory = cluster.process.pid, cluster.directory
    assert directory.is_dir()
    cluster.stop()
    assert cluster.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert refused("127.0.0.1", cluster.port)
    assert not directory.exists()
    cluster.stop()  # a second stop is harmless


def test_the_chosen_control_plane_reaches_settings_and_server_subprocesses(settings, tmp_path):
    if control_planes.postgresql_chosen():
        assert settings.control_plane.startswith("postgresql://postgres@127.0.0.1:")
        assert os.environ["AIRSEQUEL_CONTROL_PLANE"] == settings.control_plane
        assert control_planes.control_plane_env(settings.data_dir) == {
            "AIRSEQUEL_CONTROL_PLANE": settings.control_plane
        }
        other = control_planes.control_plane_for(tmp_path / "another")
        assert other.startswith("postgresql://") and other != settings.control_plane
        with psycopg.connect(settings.control_plane) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (settings.control_plane.rsplit("/", 1)[1],)
    else:
        assert settings.control_plane == ""
        assert control_planes.control_plane_env(settings.data_dir) == {}


def test_postgresql_url_is_a_fresh_database_whatever_the_option(postgresql_url):
    with psycopg.connect(postgresql_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_a_test_s_databases_are_dropped_at_its_end(postgresql_url):
    point = control_planes.mark()
    extra = control_planes.new_database()
    control_planes.drop_since(point)
    control_planes.settle()
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(extra)
    with psycopg.connect(postgresql_url) as conn:  # the fixture's own database is untouched
        assert conn.execute("SELECT 1").fetchone() == (1,)
