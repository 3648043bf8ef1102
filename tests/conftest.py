"""Shared fixtures: real data directories in tmp_path, real SQLite files, the real app.

Helpers that tests import (sign_up_and_login, create_db, sql, ...) are in tests/helpers.py. `--control-plane=
postgresql` runs the suite with each data directory's control plane in its own PostgreSQL database
(tests/control_planes.py); tests marked `sqlite_control_plane` are about control.sqlite itself and are skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.monkeypatch import MonkeyPatch
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.http.app import create_app
from tests import control_planes
from tests.control_planes import control_plane_flag, control_plane_for
from tests.helpers import sign_up_and_login

# `backends` and `cluster`, the cluster test modules' fixtures (tests/cluster_fixtures.py).
pytest_plugins = ["tests.cluster_fixtures"]

# Cheap argon2 for every server the suite starts, in this process and (inherited) in the server
# subprocesses of the end-to-end tests. test_password_hashing.py checks that the default stays strong.
os.environ["AIRSEQUEL_PASSWORD_HASHING"] = "fast-insecure-for-tests"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--control-plane",
        choices=control_planes.CHOICES,
        default=control_planes.SQLITE,
        help="where the servers the tests start keep their control plane: control.sqlite (default) or a"
        " database of a PostgreSQL server that the suite starts (Debian's postgresql package)",
    )


def pytest_configure(config: pytest.Config) -> None:
    control_planes.choose(config.getoption("--control-plane"))


def pytest_unconfigure(config: pytest.Config) -> None:
    control_planes.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if control_planes.postgresql_chosen():
        skip = pytest.mark.skip(reason="about the SQLite control file itself; this run's control plane is PostgreSQL")
        for item in items:
            if "sqlite_control_plane" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def chosen_control_plane(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under --control-plane=postgresql, a test with a tmp_path gets AIRSEQUEL_CONTROL_PLANE set to the database
    of `tmp_path / "data"` (what `settings` uses), so that Settings.from_env() and server subprocesses started
    in the test find it; the databases the test made are dropped at its end."""
    if not control_planes.postgresql_chosen() or "tmp_path" not in request.fixturenames:
        yield
        return
    point = control_planes.mark()
    with MonkeyPatch.context() as patch:
        patch.setenv("AIRSEQUEL_CONTROL_PLANE", control_plane_for(request.getfixturevalue("tmp_path") / "data"))
        yield
    control_planes.drop_since(point)


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server, whatever --control-plane says (dropped after)."""
    point = control_planes.mark()
    yield control_planes.new_database()
    control_planes.drop_since(point)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    return Settings.from_env(
        data_dir=data_dir,
        sql_time_limit_seconds=1.0,
        secret_key="test-secret",
        control_plane=control_plane_flag(data_dir),
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    started = Services.start(settings)
    yield started
    started.stop()


@pytest.fixture
def anonymous(settings: Settings) -> Iterator[TestClient]:
    """A client of a fresh server that has not logged in."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(anonymous: TestClient) -> TestClient:
    """A client logged in as `alice`, the first user of a fresh server and its server admin (signed up
    through the setup link, as an operator would)."""
    token = sign_up_and_login(anonymous, "alice")
    anonymous.headers["Authorization"] = f"Bearer {token}"
    return anonymous
