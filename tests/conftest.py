"""Shared fixtures: real data directories in tmp_path, real SQLite files, the real app.

Helpers that tests import (sign_up_and_login, create_db, sql, ...) are in tests/helpers.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.config import Settings
from airsequel.core.services import Services
from airsequel.http.app import create_app
from tests.helpers import sign_up_and_login

# Cheap argon2 for every server the suite starts, in this process and (inherited) in the server
# subprocesses of the end-to-end tests. test_password_hashing.py checks that the default stays strong.
os.environ["AIRSEQUEL_PASSWORD_HASHING"] = "fast-insecure-for-tests"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(data_dir=tmp_path / "data", sql_time_limit_seconds=1.0, secret_key="test-secret")


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
