"""The built wheel, installed into a fresh virtualenv, serves every page from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import httpx2
import pytest

import airsequel
from tests.helpers import sign_up_and_login
from tests.server_process import running_server

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `airsequel` program of a scratch virtualenv that has only the wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(ROOT)], check=True, timeout=300)
    wheel = next((work / "dist").glob("airsequel-*.whl"))
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "-q", "install", str(wheel)], check=True, timeout=600
    )
    return work / "venv" / "bin" / "airsequel"


def test_the_installed_command_prints_its_version(installed, tmp_path):
    done = subprocess.run([str(installed), "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"airsequel {airsequel.__version__}"


def test_the_installed_server_serves_every_page_from_another_directory(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": "", "AIRSEQUEL_PASSWORD_HASHING": "fast-insecure-for-tests"}
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    with running_server(tmp_path / "data", {**clean, **env}, program=[str(installed)], cwd=elsewhere) as base:
        http = httpx2.Client(base_url=base, timeout=30)
        http.headers["Authorization"] = "Bearer " + sign_up_and_login(http, "wheel")
        db = http.post("/api/dbs", json={"name": "w", "query": "CREATE TABLE t(a TEXT)"}).json()["id"]
        # The login page as a visitor who is not logged in sees it (a logged-in one is sent home).
        login = httpx2.get(f"{base}/login", headers={"Accept": "text/html"}, timeout=30)
        assert login.status_code == 200 and "text/html" in login.headers["content-type"], login.text[:300]
        assert http.get("/login", headers={"Accept": "text/html"}).status_code == 303
        pages = {
            "/": "text/html",
            "/static/favicon.svg": "image/svg+xml",
            f"/dbs/{db}": "text/html",
            f"/dbs/{db}/tables/t": "text/html",
            f"/dbs/{db}/graphql": "text/html",
            "/api/docs": "text/html",
            "/static/app.js": "javascript",
            "/static/pages/table.js": "javascript",
            "/static/app.css": "text/css",
            "/static/vendor/graphiql-3.8.3/graphiql.min.js": "javascript",
            "/static/vendor/graphiql-3.8.3/graphiql.min.css": "text/css",
            "/static/vendor/react-18.3.1/react.production.min.js": "javascript",
            "/static/vendor/graphql-ws-5.16.2/graphql-ws.min.js": "javascript",  # the playground's live queries
            "/static/graphiql-page.js": "javascript",
        }
        for path, media_type in pages.items():
            response = http.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 200, (path, response.text[:300])
            assert media_type in response.headers["content-type"], path
        assert "graphiql.min.js" in http.get(f"/dbs/{db}/graphql", headers={"Accept": "text/html"}).text
        # A cloud function runs with the wheel's harness (runner.ts) and the `deno` package's binary.
        function = {"name": "w", "content": "export default (c) => ({ data: c.data.n + 1 })"}
        made = http.post(f"/api/dbs/{db}/functions", json=function)
        assert made.status_code == 201, made.text
        called = http.post(f"/fns/{made.json()['id']}", json={"n": 41})
        assert called.status_code == 200 and called.json() == 42, called.text
    # The server ran from the virtualenv's copy, not this checkout.
    site = installed.parent.parent / "lib"
    assert list(site.glob("python3*/site-packages/airsequel/templates/base.html"))
    assert list(site.glob("python3*/site-packages/airsequel/static/vendor/graphiql-3.8.3/graphiql.min.js"))
