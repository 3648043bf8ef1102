"""The one settings table: it feeds the flags, the environment, the admin API and the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from airsequel.cli import build_parser
from airsequel.config import SETTINGS, LiveSettings, SettingError, Settings
from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.services import Services
from airsequel.setting_values import markdown_table
from tests.control_planes import control_plane_flag

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_table_is_the_settings_table():
    text = README.read_text()
    found = re.search(r"<!-- settings table:[^\n]*-->\n(.*?)<!-- end of settings table -->", text, re.S)
    assert found, "the README has no generated settings table"
    assert found.group(1) == markdown_table(), "README.md is out of date: paste `python -m airsequel.config` into it"


def test_every_flag_of_serve_comes_from_the_table():
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {option for action in serve._actions for option in action.option_strings} - {"-h", "--help"}
    assert flags == {spec.flag for spec in SETTINGS.values() if spec.flag}


def test_precedence_flag_then_environment_then_default(tmp_path):
    environ = {"AIRSEQUEL_MAX_ROWS": "7", "AIRSEQUEL_PORT": "5000", "AIRSEQUEL_ALLOWED_HOSTS": "A.example, b:1"}
    settings = Settings.from_env(environ=environ, data_dir=tmp_path, port=6000)
    assert (settings.port, settings.source("port")) == (6000, "flag")
    assert (settings.max_rows, settings.source("max_rows")) == (7, "environment")
    assert settings.allowed_hosts == ("a.example", "b:1")
    assert (settings.sql_time_limit_seconds, settings.source("sql_time_limit_seconds")) == (10.0, "default")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AIRSEQUEL_MAX_ROWS", "many", "AIRSEQUEL_MAX_ROWS must be an integer from 1 to 1e+06, got 'many'"),
        ("AIRSEQUEL_MAX_ROWS", "0", "AIRSEQUEL_MAX_ROWS must be an integer from 1 to 1e+06, got '0'"),
        ("AIRSEQUEL_SIGNUP", "maybe", "AIRSEQUEL_SIGNUP must be 'open' or 'closed', got 'maybe'"),
        ("AIRSEQUEL_SQL_TIME_LIMIT", "nan", "AIRSEQUEL_SQL_TIME_LIMIT must be a number from 0.1 to 3600, got 'nan'"),
    ],
)
def test_a_bad_environment_value_names_the_variable_and_the_rule(tmp_path, variable, value, message):
    with pytest.raises(SettingError) as refused:
        Settings.from_env(environ={variable: value}, data_dir=tmp_path)
    assert str(refused.value) == message


def test_serve_refuses_a_bad_value_before_starting(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "airsequel", "serve", "--data-dir", str(tmp_path / "d"), "--max-rows", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: maxRowsPerResponse must be an integer from 1 to 1e+06, got '-1'"
    assert not (tmp_path / "d").exists()


def test_settings_are_frozen_and_live_settings_swap_whole(tmp_path):
    settings = Settings.from_env(environ={}, data_dir=tmp_path)
    with pytest.raises(AttributeError):
        settings.max_rows = 5  # type: ignore[misc]
    live = LiveSettings(settings)
    before = live.current
    after = live.apply({"max_rows": 5})
    assert (before.max_rows, after.max_rows, live.current.source("max_rows")) == (10_000, 5, "stored")


def test_stored_values_come_back_after_a_restart_but_not_over_the_environment(tmp_path):
    first = Services.start(
        Settings.from_env(environ={}, data_dir=tmp_path, secret_key="k", control_plane=control_plane_flag(tmp_path))
    )
    admin = Principal(PrincipalKind.USER, user_id=1, username="root", server_admin=True)
    first.server_settings.update(admin, {"maxRowsPerResponse": 3, "graphqlMaxRows": 9})
    first.stop()
    again = Services.start(
        Settings.from_env(
            environ={"AIRSEQUEL_GRAPHQL_MAX_ROWS": "50"},
            data_dir=tmp_path,
            secret_key="k",
            control_plane=control_plane_flag(tmp_path),
        )
    )
    try:
        assert again.settings.max_rows == 3 and again.settings.source("max_rows") == "stored"
        assert again.settings.graphql_max_rows == 50 and again.settings.source("graphql_max_rows") == "environment"
        assert again.hosting.limits.max_rows == 3
    finally:
        again.stop()


def test_a_setting_fixed_at_start_is_refused_by_the_api_and_nothing_changes(client):
    services = client.app.state.services  # the fixture starts with sql_time_limit_seconds=1.0 as a flag
    refused = client.patch("/api/settings", json={"sqlTimeLimitSeconds": 5, "maxRowsPerResponse": 2})
    assert refused.status_code == 409
    assert refused.json() == {
        "errors": ["sqlTimeLimitSeconds was set by --sql-time-limit when the server started: change it there"]
    }
    assert services.settings.sql_time_limit_seconds == 1.0 and services.settings.max_rows == 10_000
    shown = {row["name"]: row for row in client.get("/api/settings").json()["settings"]}
    assert shown["sql_time_limit_seconds"]["source"] == "flag"
    assert shown["sql_time_limit_seconds"]["changeableAtRunTime"] is False
    assert shown["secret_key"]["value"] is None


def test_run_time_limits_reach_sql_graphql_and_search(client):
    from tests.helpers import create_db, sql

    db = create_db(client, "CREATE TABLE t(a TEXT); INSERT INTO t VALUES ('x1'), ('x2'), ('x3'), ('x4'), ('x5')")
    changed = client.patch("/api/settings", json={"graphqlMaxRows": 3, "searchMaxRows": 2, "maxQueryBytes": 1024})
    assert changed.status_code == 200, changed.text
    graphql = client.post(f"/dbs/{db}/graphql", json={"query": "{ t { a } }"}).json()
    assert graphql["errors"][0]["message"].startswith("The query would return 5 rows, more than the maximum of 3")
    assert len(client.get(f"/api/dbs/{db}/tables/t/search/x").json()["rows"]) == 2
    too_long = sql(client, db, "SELECT '" + "y" * 2000 + "'")
    assert too_long.status_code == 413 and "1024 bytes" in too_long.json()["errors"][0]


def test_body_and_records_limits_are_settings_too(client):
    from tests.helpers import create_db

    db = create_db(client, "CREATE TABLE t(a TEXT); INSERT INTO t VALUES ('1'), ('2'), ('3')")
    assert client.patch("/api/settings", json={"recordsMaxRows": 2, "maxJsonBodyBytes": 2048}).status_code == 200
    page = client.get(f"/api/dbs/{db}/tables/t/records").json()
    assert len(page["records"]) == 2 and page["next"]
    refused = client.get(f"/api/dbs/{db}/tables/t/records?limit=3")
    assert refused.status_code == 400 and refused.json() == {"errors": ["limit must be a whole number from 1 to 2"]}
    big = client.patch(f"/api/dbs/{db}", json={"description": "x" * 4000})
    assert big.status_code == 413 and big.json() == {
        "errors": ["The request body is larger than the limit of 2048 bytes"]
    }
    assert client.get(f"/api/dbs/{db}").json()["description"] is None


def test_graphql_depth_comes_from_the_settings(tmp_path):
    from starlette.testclient import TestClient

    from airsequel.http.app import create_app
    from tests.helpers import create_db, sign_up_and_login

    settings = Settings.from_env(
        environ={"AIRSEQUEL_GRAPHQL_MAX_DEPTH": "1"},
        data_dir=tmp_path,
        secret_key="k",
        control_plane=control_plane_flag(tmp_path),
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = "Bearer " + sign_up_and_login(client, "deep")
        db = create_db(client, "CREATE TABLE a(id INTEGER PRIMARY KEY); CREATE TABLE b(a_id INTEGER REFERENCES a(id))")
        answer = client.post(f"/dbs/{db}/graphql", json={"query": "{ b { a_id a_by_a_id { b_by_a_id { a_id } } } }"})
        assert answer.json()["errors"][0]["message"] == "The query is nested too deeply (at most 1 levels)"
